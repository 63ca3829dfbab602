from airflow._gust.model import DAG, BaseOperator, Param  # noqa: F401
from airflow._gust.runtime import Connection, Variable  # noqa: F401
