"""Airflow 2's Metadata for dataset events."""
from airflow._gust.model import Metadata  # noqa: F401
