from airflow._gust.states import DagRunState, TaskInstanceState, TriggerRule, WeightRule  # noqa: F401
