from airflow._gust.operators import FileSensor  # noqa: F401
