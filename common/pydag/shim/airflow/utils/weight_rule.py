from airflow._gust.states import WeightRule  # noqa: F401
