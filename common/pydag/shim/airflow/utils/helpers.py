from airflow._gust.model import chain, cross_downstream  # noqa: F401
