from airflow._gust.operators import PythonSensor  # noqa: F401
