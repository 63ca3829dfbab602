from airflow._gust.timetables import ContinuousTimetable, NullTimetable, OnceTimetable  # noqa: F401
