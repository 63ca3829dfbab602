from airflow._gust.model import days_ago  # noqa: F401
