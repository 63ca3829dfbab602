from airflow._gust.model import Param, ParamsDict  # noqa: F401
