-- The modules a Python DAG file imported from the DAG folder, stored with
-- the DAG's version so that workers with no DAG folder import the same
-- code: {"path": the DAG file's path in the DAG folder, "modules": {path: text}}.
ALTER TABLE serialized_dag ADD COLUMN files jsonb;
