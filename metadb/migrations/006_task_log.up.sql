-- Task logs in Postgres: each try's log (already masked by the worker) in
-- chunks that ride the worker's heartbeats and its result transaction, so
-- any api-server reads it while the try runs and after its worker is gone.
--
-- seq >= 1 are the head's chunks, in order; seq 0 is the tail, rewritten
-- in place once the head reached half of [logging] max_log_size (the bytes
-- between the head's end and the tail's pos were left out); seq -1 says
-- that text will follow the try's result (its callback is running). pos is
-- the byte offset of a chunk's first byte in the try's whole log, so that a
-- reader continues from a position and sees what was left out.
CREATE TABLE task_log (
    dag_id     text NOT NULL,
    run_id     text NOT NULL,
    task_id    text NOT NULL,
    map_index  integer NOT NULL DEFAULT -1,
    try_number integer NOT NULL,
    seq        integer NOT NULL,
    pos        bigint NOT NULL,
    content    text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number, seq),
    -- Logs go with their runs (db clean, dags delete, run delete).
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
