"""Airflow's airflow.utils.context: the context a task gets."""
from airflow._gust.model import Context, get_current_context  # noqa: F401
