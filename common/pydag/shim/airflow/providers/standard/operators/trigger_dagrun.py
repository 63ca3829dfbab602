from airflow._gust.operators import TriggerDagRunOperator  # noqa: F401
