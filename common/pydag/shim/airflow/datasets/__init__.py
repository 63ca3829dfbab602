from airflow._gust.model import Dataset, DatasetAlias  # noqa: F401


def __getattr__(name):
    from airflow._gust.lazy import submodule

    return submodule(__name__, name)
from airflow._gust.model import DatasetAll, DatasetAny  # noqa: F401
