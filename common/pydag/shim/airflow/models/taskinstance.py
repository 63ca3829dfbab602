from airflow._gust.states import TaskInstance  # noqa: F401
