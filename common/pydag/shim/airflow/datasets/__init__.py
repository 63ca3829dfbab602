from airflow._gust.model import Dataset  # noqa: F401
