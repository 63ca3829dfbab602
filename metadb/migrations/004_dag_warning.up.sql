-- DAG warnings: problems that do not fail a DAG's import but that its
-- users should know of, written by the DAG processor on each parse
-- (Airflow's dag_warning table, served by /api/v2/dagWarnings). One row
-- per DAG and warning type; a deleted DAG takes its warnings with it.
CREATE TABLE dag_warning (
    dag_id       text NOT NULL REFERENCES dag (dag_id) ON DELETE CASCADE,
    warning_type text NOT NULL,
    message      text NOT NULL,
    timestamp    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_id, warning_type)
);
