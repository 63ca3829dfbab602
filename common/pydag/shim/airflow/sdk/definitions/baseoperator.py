from airflow._gust.model import BaseOperator, chain, chain_linear, cross_downstream  # noqa: F401
