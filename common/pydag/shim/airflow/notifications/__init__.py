"""Airflow 2's notifications."""
