"""The few airflow.settings names DAG files read."""
import os

AIRFLOW_HOME = os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow"))
DAGS_FOLDER = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER") or os.environ.get("GUST__CORE__DAGS_FOLDER") or os.path.join(AIRFLOW_HOME, "dags")
