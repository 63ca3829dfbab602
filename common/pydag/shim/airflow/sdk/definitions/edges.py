from airflow._gust.model import EdgeModifier, Label  # noqa: F401
