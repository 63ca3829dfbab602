from airflow._gust.operators import ExternalTaskSensor, ExternalTaskMarker  # noqa: F401
