from airflow._gust.model import BaseSensorOperator, PokeReturnValue  # noqa: F401
