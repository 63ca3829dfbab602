ALTER TABLE serialized_dag DROP COLUMN files;
