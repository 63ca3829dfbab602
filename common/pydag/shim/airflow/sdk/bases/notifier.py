"""Airflow 3's BaseNotifier."""
from airflow._gust.notifier import BaseNotifier  # noqa: F401
