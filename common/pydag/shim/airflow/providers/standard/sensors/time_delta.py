from airflow._gust.operators import TimeDeltaSensor, TimeDeltaSensorAsync  # noqa: F401
