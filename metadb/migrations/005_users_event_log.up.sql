-- Users of the API and web UI (Airflow's FAB roles), the audit log (Airflow's
-- `log` table, served as /api/v2/eventLogs), and notes on runs and task
-- instances.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    email         text NOT NULL DEFAULT '',
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('Viewer', 'User', 'Op', 'Admin')),
    -- bcrypt; never a clear password.
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login    timestamptz,
    -- consecutive failed logins, and until when the next one must wait.
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until  timestamptz
);

CREATE TABLE event_log (
    id           bigserial PRIMARY KEY,
    dttm         timestamptz NOT NULL DEFAULT now(),
    event        text NOT NULL,
    -- who: a username, or cli:<os user> for the CLI.
    owner        text,
    dag_id       text,
    run_id       text,
    task_id      text,
    map_index    integer,
    try_number   integer,
    logical_date timestamptz,
    extra        text
);
CREATE INDEX event_log_dttm ON event_log (dttm);
CREATE INDEX event_log_dag ON event_log (dag_id, dttm);

ALTER TABLE dag_run ADD COLUMN note text, ADD COLUMN triggering_user_name text;
ALTER TABLE task_instance ADD COLUMN note text;

-- When each DAG version was first stored: versions are numbered per DAG in
-- this order (the API's dagVersions).
ALTER TABLE serialized_dag ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
-- The DAG file's text, for dagSources and the UI's Code view.
ALTER TABLE serialized_dag ADD COLUMN source text;

-- Airflow 3's backfills: a range of a DAG's intervals run as backfill runs,
-- held to the backfill's own max_active_runs, pausable and cancellable.
CREATE TABLE backfill (
    id                 bigserial PRIMARY KEY,
    dag_id             text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    from_date          timestamptz NOT NULL,
    to_date            timestamptz NOT NULL,
    dag_run_conf       jsonb NOT NULL DEFAULT '{}',
    is_paused          boolean NOT NULL DEFAULT false,
    reprocess_behavior text NOT NULL DEFAULT 'none' CHECK (reprocess_behavior IN ('none', 'failed', 'completed')),
    max_active_runs    integer NOT NULL DEFAULT 10 CHECK (max_active_runs > 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backfill_dag ON backfill (dag_id, completed_at);
ALTER TABLE dag_run ADD COLUMN backfill_id bigint REFERENCES backfill (id) ON DELETE SET NULL;
CREATE INDEX dag_run_backfill ON dag_run (backfill_id) WHERE backfill_id IS NOT NULL;
