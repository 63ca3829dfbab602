from airflow._gust.operators import BashOperator  # noqa: F401
