"""LatestOnlyOperator on scheduled runs caught up: only the latest run's
downstream task runs."""
import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.sdk import DAG

start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
with DAG("py_latest", schedule="@daily", start_date=start, catchup=True, max_active_runs=3):
    LatestOnlyOperator(task_id="latest_only") >> EmptyOperator(task_id="downstream")
