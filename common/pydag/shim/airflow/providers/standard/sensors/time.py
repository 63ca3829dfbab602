from airflow._gust.operators import TimeSensor, TimeSensorAsync  # noqa: F401
