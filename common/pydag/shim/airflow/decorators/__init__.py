from airflow._gust.model import dag, setup, task_group, teardown  # noqa: F401
from airflow._gust.operators import task  # noqa: F401
