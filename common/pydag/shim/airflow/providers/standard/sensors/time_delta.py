from airflow._gust.operators import TimeDeltaSensor  # noqa: F401
