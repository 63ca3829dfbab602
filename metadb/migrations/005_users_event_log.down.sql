ALTER TABLE dag_run DROP COLUMN backfill_id;
DROP TABLE backfill;
ALTER TABLE serialized_dag DROP COLUMN source;
ALTER TABLE serialized_dag DROP COLUMN created_at;
ALTER TABLE task_instance DROP COLUMN note;
ALTER TABLE dag_run DROP COLUMN note, DROP COLUMN triggering_user_name;
DROP TABLE event_log;
DROP TABLE users;
