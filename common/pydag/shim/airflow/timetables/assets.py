"""Airflow 3's airflow.timetables.assets."""
from airflow._gust.timetables import AssetOrTimeSchedule  # noqa: F401
