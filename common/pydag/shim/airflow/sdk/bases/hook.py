from airflow._gust.runtime import BaseHook  # noqa: F401
