from airflow._gust.runtime import Connection  # noqa: F401
