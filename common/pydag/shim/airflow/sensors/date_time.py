from airflow._gust.operators import DateTimeSensor, DateTimeSensorAsync  # noqa: F401
