from airflow._gust.states import DagRunType  # noqa: F401
