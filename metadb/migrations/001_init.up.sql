-- gust metadata schema, version 1. Table and column names follow Airflow's
-- where the concept is the same, so that operators can read it as they
-- would read Airflow's.

CREATE TABLE dag (
    dag_id                          text PRIMARY KEY,
    is_paused                       boolean NOT NULL DEFAULT false,
    is_active                       boolean NOT NULL DEFAULT true,
    fileloc                         text NOT NULL,
    description                     text,
    owners                          text,
    tags                            text[] NOT NULL DEFAULT '{}',
    schedule_interval               text,
    timetable_description           text,
    max_active_runs                 integer NOT NULL DEFAULT 16,
    max_active_tasks                integer NOT NULL DEFAULT 16,
    has_task_concurrency_limits     boolean NOT NULL DEFAULT false,
    dag_hash                        text NOT NULL,
    last_parsed_time                timestamptz NOT NULL DEFAULT now(),
    -- next automated run, computed from the timetable.
    next_dagrun                     timestamptz,
    next_dagrun_data_interval_start timestamptz,
    next_dagrun_data_interval_end   timestamptz,
    next_dagrun_create_after        timestamptz
);
CREATE INDEX dag_next_dagrun_create_after ON dag (next_dagrun_create_after)
    WHERE is_paused = false AND is_active = true;

-- Every version of every DAG, keyed by its hash: runs keep the version they
-- were created with, so a file edited mid-run does not change a running run.
CREATE TABLE serialized_dag (
    dag_hash     text PRIMARY KEY,
    dag_id       text NOT NULL,
    fileloc      text NOT NULL,
    data         jsonb NOT NULL,
    last_updated timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX serialized_dag_dag_id ON serialized_dag (dag_id);

CREATE TABLE import_error (
    id         bigserial PRIMARY KEY,
    filename   text NOT NULL UNIQUE,
    stacktrace text NOT NULL,
    timestamp  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE job (
    id               bigserial PRIMARY KEY,
    job_type         text NOT NULL,
    state            text NOT NULL,
    hostname         text NOT NULL,
    pid              integer NOT NULL,
    start_date       timestamptz NOT NULL DEFAULT now(),
    end_date         timestamptz,
    latest_heartbeat timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_type_heartbeat ON job (job_type, latest_heartbeat);

CREATE TABLE slot_pool (
    pool             text PRIMARY KEY,
    slots            integer NOT NULL CHECK (slots >= -1),
    description      text NOT NULL DEFAULT '',
    include_deferred boolean NOT NULL DEFAULT false
);

CREATE TABLE dag_run (
    id                       bigserial PRIMARY KEY,
    dag_id                   text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    run_id                   text NOT NULL,
    logical_date             timestamptz NOT NULL,
    data_interval_start      timestamptz,
    data_interval_end        timestamptz,
    state                    text NOT NULL,
    run_type                 text NOT NULL,
    external_trigger         boolean NOT NULL DEFAULT false,
    conf                     jsonb NOT NULL DEFAULT '{}',
    dag_hash                 text NOT NULL REFERENCES serialized_dag (dag_hash),
    queued_at                timestamptz,
    start_date               timestamptz,
    end_date                 timestamptz,
    last_scheduling_decision timestamptz,
    UNIQUE (dag_id, run_id),
    UNIQUE (dag_id, logical_date)
);
CREATE INDEX dag_run_active ON dag_run (dag_id, state) WHERE state IN ('queued', 'running');

CREATE TABLE task_instance (
    dag_id               text NOT NULL,
    run_id               text NOT NULL,
    task_id              text NOT NULL,
    map_index            integer NOT NULL DEFAULT -1,
    -- NULL is Airflow's "none": not yet decided.
    state                text,
    try_number           integer NOT NULL DEFAULT 0,
    max_tries            integer NOT NULL DEFAULT 0,
    operator             text NOT NULL,
    pool                 text NOT NULL,
    pool_slots           integer NOT NULL DEFAULT 1,
    queue                text NOT NULL,
    priority_weight      integer NOT NULL DEFAULT 1,
    hostname             text NOT NULL DEFAULT '',
    pid                  integer,
    queued_dttm          timestamptz,
    queued_by_job_id     bigint,
    start_date           timestamptz,
    end_date             timestamptz,
    duration             double precision,
    -- earliest time an up_for_retry TI may be scheduled again.
    next_retry_at        timestamptz,
    last_heartbeat_at    timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_id, run_id, task_id, map_index),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
CREATE INDEX ti_state ON task_instance (state) WHERE state IN ('scheduled', 'queued', 'running', 'up_for_retry');
CREATE INDEX ti_dag_state ON task_instance (dag_id, state);

