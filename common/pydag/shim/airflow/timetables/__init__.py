"""Airflow's timetables: not in gust yet, an import error that says so."""
from airflow._gust.model import unsupported

unsupported("timetables (airflow.timetables)")
