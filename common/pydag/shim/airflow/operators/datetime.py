from airflow._gust.operators import BranchDateTimeOperator  # noqa: F401
