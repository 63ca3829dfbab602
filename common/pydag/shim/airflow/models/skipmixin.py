from airflow._gust.model import SkipMixin  # noqa: F401
