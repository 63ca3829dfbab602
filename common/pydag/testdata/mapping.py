"""Dynamic task mapping, in the forms Airflow's documentation gives: over
literals and upstream XComs, TaskFlow and classic operators, partial,
expand_kwargs, zip, several arguments (their product), an empty expansion,
a mapped task mapped over, and map_index_template (from the task's context
and from its rendered fields)."""
from datetime import datetime

from airflow.sdk import DAG, BaseOperator, get_current_context, task
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


class AddOne(BaseOperator):
    template_fields = ("value",)

    def __init__(self, value, **kwargs):
        super().__init__(**kwargs)
        self.value = value

    def execute(self, context):
        return self.value + 1


class Total(BaseOperator):
    template_fields = ("values",)

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = values

    def execute(self, context):
        return sum(self.values)


def describe(n, label):
    return f"{label}:{n}"


with DAG(dag_id="mapping", schedule=None, start_date=datetime(2024, 1, 1)):

    @task
    def add_one(x):
        return x + 1

    @task
    def total(values):
        return sum(values)

    @task
    def nums():
        return [1, 2, 3]

    @task
    def nothing():
        return []

    @task
    def times(num, factor):
        return num * factor

    @task(map_index_template="{{ pair_label }}")
    def pair(a, b):
        get_current_context()["pair_label"] = f"{a}-{b}"
        return f"{a}{b}"

    @task
    def never(x):
        return x

    # over a literal, reduced downstream (the lazy list of the instances' values)
    total.override(task_id="literal_total")(add_one.expand(x=[1, 2, 3]))
    # over an upstream's return value, with a partial argument; then a
    # mapped task mapped over it (second order)
    doubled = times.partial(factor=2).expand(num=nums())
    add_one.override(task_id="second_order").expand(x=doubled)
    # several arguments: one instance per combination, the last fastest
    pair.expand(a=["x", "y"], b=[1, 2])
    # expand_kwargs and zip
    times.override(task_id="by_kwargs").expand_kwargs([{"num": 3, "factor": 5}, {"num": 4, "factor": 10}])
    pair.override(task_id="zipped").expand(a=nums().zip(["p", "q", "r"]), b=["!"])
    # an empty expansion is skipped, and so is what needs it
    empty = never.expand(x=nothing())
    total.override(task_id="after_empty")(empty)
    # classic operators
    added = AddOne.partial(task_id="classic_add").expand(value=[10, 20])
    Total(task_id="classic_total", values=added.output)
    BashOperator.partial(task_id="echo", max_active_tis_per_dagrun=1, map_index_template="{{ task.bash_command }}").expand(
        bash_command=["sleep 1; echo one", "sleep 1; echo {{ ti.map_index }}"])
    PythonOperator.partial(task_id="classic_python", python_callable=describe, op_kwargs={"label": "n"}).expand(
        op_args=[[1], [2]])
