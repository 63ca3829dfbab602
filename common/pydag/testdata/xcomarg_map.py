from __future__ import annotations
import pendulum
from airflow.exceptions import AirflowSkipException
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task

with DAG(dag_id="xcomarg_map", schedule=None, start_date=pendulum.datetime(2022, 1, 1, tz="UTC")):
    @task
    def files():
        return ["a.txt", "b.txt", "skip.txt"]

    def to_kwargs(name):
        if name.startswith("skip"):
            raise AirflowSkipException("not this one")
        return {"source": name, "dest": name + ".bak"}

    @task
    def copy(source, dest):
        return f"{source}->{dest}"

    @task
    def total(values):
        return list(values)

    f = files()
    copies = copy.expand_kwargs(f.map(to_kwargs))
    shouted = f.map(lambda n: n.upper())
    total(shouted)
    BashOperator.partial(task_id="echo").expand(bash_command=f.map(lambda n: f"echo {n}").map(lambda c: c + " done"))
