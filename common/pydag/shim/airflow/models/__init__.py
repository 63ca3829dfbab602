from airflow._gust.model import DAG, BaseOperator, Param  # noqa: F401
from airflow._gust.operators import XComArg  # noqa: F401
from airflow._gust.runtime import Connection, Variable  # noqa: F401
from airflow._gust.states import DagRun, TaskInstance  # noqa: F401


def __getattr__(name):
    from airflow._gust.lazy import submodule

    return submodule(__name__, name)
