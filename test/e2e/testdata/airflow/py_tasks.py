"""Hand-written TaskFlow pipelines for gust's end-to-end test: data passed
between tasks, the classic operators, variables and connections, and
callables that fail in each of the ways Airflow knows."""
import time
from datetime import timedelta

import pendulum

from airflow.exceptions import AirflowFailException
from airflow.hooks.base import BaseHook
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator, ShortCircuitOperator
from airflow.sdk import Variable, dag, get_current_context, task
from pyhelpers.text import shout  # a module of the DAG folder, stored with the DAG's version


def classic(x, y, label, ti=None, **context):
    ti.xcom_push(key="extra", value={"x": x, "label": label})
    print("classic got", x, y, label, "for", context["params"]["who"])
    return x + y


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), params={"who": "world"})
def py_pipeline():
    @task
    def numbers():
        return [1, 2, 3]

    @task
    def total(ns):
        ctx = get_current_context()
        print("total in", ctx["ti"].task_id, "with the secret", Variable.get("api_password"))
        return sum(ns)

    @task(multiple_outputs=True)
    def split(n):
        return {"double": n * 2, "half": n / 2}

    @task
    def conn_host():
        c = BaseHook.get_connection("my_http")
        print("password is", c.password)
        return c.host

    c = PythonOperator(task_id="classic", python_callable=classic, op_args=[2],
                       op_kwargs={"y": 40, "label": "{{ params.who }}-{{ ds_nodash }}"})
    t = total(numbers())
    parts = split(t)
    t >> c
    report = BashOperator(task_id="report", bash_command="echo double={{ ti.xcom_pull(task_ids='split', key='double') }}")
    parts >> report
    conn_host()

    @task
    def helper():
        return shout("hi")

    helper()

    @task
    def pusher(ti=None):
        ti.xcom_push(key="only", value="v1")

    @task
    def any_key(ti=None):
        return ti.xcom_pull(key=None, task_ids="pusher")  # Airflow 2: None is any key

    pusher() >> any_key()
    gate = ShortCircuitOperator(task_id="gate", python_callable=lambda: False)
    gate >> BashOperator(task_id="after_gate", bash_command="echo never")


py_pipeline()


def task_failed(context):
    print("task callback:", context["ti"].task_id, "failed with", context["exception"])


def dag_failed(context):
    with open(context["params"]["marker"], "w") as f:
        f.write(f"{context['dag_run'].run_id} ended: {context['reason']}")


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), params={"marker": "/dev/null"},
     on_failure_callback=dag_failed)
def py_failures():
    @task(retries=0, on_failure_callback=[task_failed])
    def boom():
        raise ValueError("boom on purpose")

    @task(execution_timeout=timedelta(seconds=2))
    def hang():
        time.sleep(60)

    @task
    def unserializable():
        return object()

    @task(retries=3, retry_delay=timedelta(seconds=0))
    def fail_fast():
        raise AirflowFailException("no retry please")

    boom()
    hang()
    unserializable()
    fail_fast()


py_failures()
