-- Variables, connections and XComs: what tasks see and share.

CREATE TABLE variable (
    key          text PRIMARY KEY,
    -- val is ciphertext (see common/secrets) when is_encrypted.
    val          text NOT NULL,
    description  text NOT NULL DEFAULT '',
    is_encrypted boolean NOT NULL DEFAULT false
);

CREATE TABLE connection (
    conn_id            text PRIMARY KEY,
    conn_type          text NOT NULL,
    description        text NOT NULL DEFAULT '',
    host               text NOT NULL DEFAULT '',
    schema             text NOT NULL DEFAULT '',
    login              text NOT NULL DEFAULT '',
    -- password and extra are ciphertext when is_encrypted / is_extra_encrypted.
    password           text NOT NULL DEFAULT '',
    port               integer,
    extra              text NOT NULL DEFAULT '',
    is_encrypted       boolean NOT NULL DEFAULT false,
    is_extra_encrypted boolean NOT NULL DEFAULT false
);

CREATE TABLE xcom (
    dag_id     text NOT NULL,
    run_id     text NOT NULL,
    task_id    text NOT NULL,
    map_index  integer NOT NULL DEFAULT -1,
    key        text NOT NULL,
    value      jsonb NOT NULL,
    timestamp  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dag_id, run_id, task_id, map_index, key),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
