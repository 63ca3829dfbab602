-- Asset aliases (Airflow's AssetAlias): names a try attaches its events'
-- assets to at run time, the assets they resolved to, the events named
-- through them and the DAGs scheduled on them; and which tasks read an
-- asset (inlets).

CREATE TABLE asset_alias (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    grp         text NOT NULL DEFAULT 'asset'
);

CREATE TABLE asset_alias_asset (
    alias_id    bigint NOT NULL REFERENCES asset_alias (id) ON DELETE CASCADE,
    asset_id    bigint NOT NULL REFERENCES asset (id) ON DELETE CASCADE,
    PRIMARY KEY (alias_id, asset_id)
);

CREATE TABLE asset_alias_asset_event (
    alias_id    bigint NOT NULL REFERENCES asset_alias (id) ON DELETE CASCADE,
    event_id    bigint NOT NULL REFERENCES asset_event (id) ON DELETE CASCADE,
    PRIMARY KEY (alias_id, event_id)
);
CREATE INDEX asset_alias_asset_event_event ON asset_alias_asset_event (event_id);

CREATE TABLE dag_schedule_asset_alias_reference (
    alias_id    bigint NOT NULL REFERENCES asset_alias (id) ON DELETE CASCADE,
    dag_id      text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alias_id, dag_id)
);

CREATE TABLE task_inlet_asset_reference (
    asset_id    bigint NOT NULL REFERENCES asset (id) ON DELETE CASCADE,
    dag_id      text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    task_id     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (asset_id, dag_id, task_id)
);
