from airflow._gust.operators import BranchDayOfWeekOperator  # noqa: F401
