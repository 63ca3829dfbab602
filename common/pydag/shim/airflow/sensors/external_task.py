from airflow._gust.operators import ExternalTaskSensor  # noqa: F401
