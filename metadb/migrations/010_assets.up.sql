-- Assets (Airflow 3; datasets in Airflow 2): what tasks update and DAGs are
-- scheduled on, their events, and the events queued for each consumer.

CREATE TABLE asset (
    id          bigserial PRIMARY KEY,
    uri         text NOT NULL UNIQUE,
    name        text NOT NULL,
    grp         text NOT NULL DEFAULT 'asset',
    extra       jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE asset_event (
    id                bigserial PRIMARY KEY,
    asset_id          bigint NOT NULL REFERENCES asset (id) ON DELETE CASCADE,
    extra             jsonb NOT NULL DEFAULT '{}',
    source_dag_id     text,
    source_task_id    text,
    source_run_id     text,
    source_map_index  integer NOT NULL DEFAULT -1,
    timestamp         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX asset_event_asset_time ON asset_event (asset_id, timestamp);

-- Which DAGs an asset schedules, and which tasks update it (the latest
-- version of each DAG).
CREATE TABLE dag_schedule_asset_reference (
    asset_id    bigint NOT NULL REFERENCES asset (id) ON DELETE CASCADE,
    dag_id      text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, dag_id)
);
CREATE TABLE task_outlet_asset_reference (
    asset_id    bigint NOT NULL REFERENCES asset (id) ON DELETE CASCADE,
    dag_id      text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    task_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, dag_id, task_id)
);

-- An asset updated since the consumer's last asset-triggered run: one row
-- per asset and consumer, until a run consumes it.
CREATE TABLE asset_dag_run_queue (
    asset_id       bigint NOT NULL REFERENCES asset (id) ON DELETE CASCADE,
    target_dag_id  text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, target_dag_id)
);

-- The events an asset-triggered run consumed.
CREATE TABLE dagrun_asset_event (
    dag_run_id  bigint NOT NULL REFERENCES dag_run (id) ON DELETE CASCADE,
    event_id    bigint NOT NULL REFERENCES asset_event (id) ON DELETE CASCADE,
    PRIMARY KEY (dag_run_id, event_id)
);
