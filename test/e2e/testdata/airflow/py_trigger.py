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

# ExternalTaskMarker: clearing the parent's marker clears the child's
# sensor and what follows it in the run of the same logical date.
from airflow.providers.standard.sensors.external_task import ExternalTaskMarker, ExternalTaskSensor

with DAG("marker_parent", start_date=datetime.datetime(2024, 1, 1), schedule=None):
    ExternalTaskMarker(task_id="parent_task", external_dag_id="marker_child", external_task_id="child_task1")

with DAG("marker_child", start_date=datetime.datetime(2024, 1, 1), schedule=None):
    child_task1 = ExternalTaskSensor(task_id="child_task1", external_dag_id="marker_parent", external_task_id="parent_task",
                                     allowed_states=["success"], poke_interval=1, timeout=60, mode="reschedule")
    child_task2 = BashOperator(task_id="child_task2", bash_command="echo child {{ ti.try_number }}")
    child_task1 >> child_task2
    BashOperator(task_id="unrelated", bash_command="true")
