ALTER TABLE task_instance DROP COLUMN sensor_started_at;
