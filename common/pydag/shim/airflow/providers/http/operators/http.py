from airflow._gust.operators import HttpOperator, SimpleHttpOperator  # noqa: F401
