from airflow._gust.operators import DayOfWeekSensor  # noqa: F401
