"""Airflow 2's airflow.timetables.datasets."""
from airflow._gust.timetables import AssetOrTimeSchedule as DatasetOrTimeSchedule  # noqa: F401
