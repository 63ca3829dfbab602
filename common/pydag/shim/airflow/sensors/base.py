from airflow._gust.model import BaseOperator as BaseSensorOperator  # noqa: F401
