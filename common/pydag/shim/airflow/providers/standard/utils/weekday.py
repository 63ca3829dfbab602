from airflow._gust.weekday import WeekDay  # noqa: F401
