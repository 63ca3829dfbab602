-- Sensors: when the current try's first poke started, for the sensor
-- timeout across reschedules (Airflow's task_reschedule first start).
ALTER TABLE task_instance ADD COLUMN sensor_started_at timestamptz;
