from airflow._gust.operators import XComArg  # noqa: F401
