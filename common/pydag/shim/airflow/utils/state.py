from airflow._gust.states import DagRunState, State, TaskInstanceState  # noqa: F401
