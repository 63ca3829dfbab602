from airflow._gust.timetables import EventsTimetable  # noqa: F401
