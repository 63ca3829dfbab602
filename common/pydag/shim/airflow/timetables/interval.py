from airflow._gust.timetables import CronDataIntervalTimetable, DeltaDataIntervalTimetable  # noqa: F401
