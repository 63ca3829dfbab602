-- Airflow's task_instance_history: each finished try as it ended, written
-- by the same statement that records the try's result, so that the API's
-- tries list shows every try's own state, host and dates.
CREATE TABLE task_instance_history (
    dag_id       text NOT NULL,
    run_id       text NOT NULL,
    task_id      text NOT NULL,
    map_index    integer NOT NULL DEFAULT -1,
    try_number   integer NOT NULL,
    state        text,
    hostname     text NOT NULL DEFAULT '',
    pid          integer,
    queued_dttm  timestamptz,
    start_date   timestamptz,
    end_date     timestamptz,
    duration     double precision,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
