from airflow._gust.model import dag, setup, task_group, teardown  # noqa: F401
from airflow._gust.operators import task  # noqa: F401


def __getattr__(name):
    from airflow._gust.lazy import submodule

    return submodule(__name__, name)
