DROP TABLE task_instance_history;
