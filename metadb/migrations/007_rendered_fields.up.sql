-- Airflow's rendered_task_instance_fields: each task instance's templated
-- fields as its latest finished try rendered them (secrets masked by the
-- worker), stored in that try's result transaction, for the API's
-- rendered_fields and the web UI's Rendered tab.
CREATE TABLE rendered_task_instance_fields (
    dag_id          text NOT NULL,
    run_id          text NOT NULL,
    task_id         text NOT NULL,
    map_index       integer NOT NULL DEFAULT -1,
    try_number      integer NOT NULL,
    rendered_fields jsonb NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
