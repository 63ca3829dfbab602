from airflow._gust.operators import BashSensor  # noqa: F401
