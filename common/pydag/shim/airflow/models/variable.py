from airflow._gust.runtime import Variable  # noqa: F401
