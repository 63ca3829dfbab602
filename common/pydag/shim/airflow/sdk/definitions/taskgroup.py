from airflow._gust.model import TaskGroup  # noqa: F401
