"""Mapped task groups: @task_group functions expanded over an upstream's
output (with a partial argument) and over a list of kwargs."""
import time
from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task, task_group

with DAG("mapped_group", schedule=None, start_date=datetime(2024, 1, 1)):

    @task
    def files():
        return ["a.json", "b.json", "c.json"]

    @task
    def convert(filename, suffix):
        if filename.startswith("c"):
            time.sleep(3)  # the other instances go on meanwhile
        return filename.replace(".json", suffix)

    @task
    def size(name):
        if name.startswith("b"):
            raise ValueError("b is broken")
        return len(name)

    @task_group
    def transform(filename, suffix):
        announce = BashOperator(task_id="announce", bash_command="echo converting")
        converted = convert(filename, suffix)
        announce >> converted
        return size(converted)

    @task(trigger_rule="all_done")
    def total(sizes):
        return sorted(sizes)

    total(transform.partial(suffix=".yaml").expand(filename=files()))

with DAG("mapped_group_kwargs", schedule=None, start_date=datetime(2024, 1, 1)):

    @task
    def multiply(x, y):
        return x * y

    @task_group
    def product(x, y):
        return multiply(x, y)

    @task
    def collect(values):
        return list(values)

    collect(product.expand_kwargs([{"x": 1, "y": 2}, {"x": 3, "y": 4}]))
