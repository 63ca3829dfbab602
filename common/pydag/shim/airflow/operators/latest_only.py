from airflow._gust.operators import LatestOnlyOperator  # noqa: F401
