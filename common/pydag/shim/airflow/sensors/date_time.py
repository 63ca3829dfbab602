from airflow._gust.operators import DateTimeSensor  # noqa: F401
