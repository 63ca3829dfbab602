DROP TABLE dag_warning;
