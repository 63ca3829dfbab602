from airflow._gust.model import DAG, dag  # noqa: F401
