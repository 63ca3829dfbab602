ALTER TABLE task_instance_history DROP COLUMN rendered_map_index;
ALTER TABLE task_instance DROP COLUMN rendered_map_index;
