from airflow._gust.model import BaseBranchOperator, BranchMixIn  # noqa: F401
