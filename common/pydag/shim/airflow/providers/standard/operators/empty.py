from airflow._gust.operators import EmptyOperator  # noqa: F401
