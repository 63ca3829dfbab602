-- Airflow's rendered_map_index: a mapped task instance's label, its
-- map_index_template as the try rendered it (NULL: shown by map index).

ALTER TABLE task_instance ADD COLUMN rendered_map_index text;
ALTER TABLE task_instance_history ADD COLUMN rendered_map_index text;
