from airflow._gust.states import DagRun  # noqa: F401
