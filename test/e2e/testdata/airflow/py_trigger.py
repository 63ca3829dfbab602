"""TriggerDagRunOperator: the controller triggers the target with a templated conf and waits for it."""
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.operators.bash import BashOperator

with DAG("trig_target", start_date=datetime.datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="show", bash_command="echo message={{ dag_run.conf.get('message') }}")

with DAG("trig_controller", start_date=datetime.datetime(2024, 1, 1), schedule=None):
    TriggerDagRunOperator(task_id="trigger", trigger_dag_id="trig_target", conf={"message": "Hello {{ run_id }}"},
                          wait_for_completion=True, poke_interval=1)

with DAG("trig_paused", start_date=datetime.datetime(2024, 1, 1), schedule=None, is_paused_upon_creation=True):
    BashOperator(task_id="never", bash_command="echo never")

with DAG("trig_paused_controller", start_date=datetime.datetime(2024, 1, 1), schedule=None):
    TriggerDagRunOperator(task_id="trigger", trigger_dag_id="trig_paused", fail_when_dag_is_paused=True, retries=0)
