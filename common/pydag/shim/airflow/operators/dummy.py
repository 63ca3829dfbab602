from airflow._gust.operators import DummyOperator, EmptyOperator  # noqa: F401
