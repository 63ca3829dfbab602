from airflow._gust.operators import HttpSensor  # noqa: F401
