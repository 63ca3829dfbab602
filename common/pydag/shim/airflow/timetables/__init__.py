"""Airflow's timetables (airflow.timetables.*)."""
