"""Custom timetables (subclasses of Timetable) are not in gust yet."""
from airflow._gust.model import unsupported

unsupported("custom timetables (airflow.timetables.base.Timetable)")
