"""A Python DAG with Airflow's TaskFlow API, as Airflow's tutorial writes
it: extract, transform and load pass their data through XComs, and a branch
picks what follows. It runs unchanged on Airflow 3; gust reads it with its
own airflow package (see README, "Python DAGs")."""
import json

import pendulum

from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["example"],
     params={"threshold": 1000})
def example_taskflow():
    @task
    def extract():
        return json.loads('{"1001": 301.27, "1002": 433.21, "1003": 502.22}')

    @task(multiple_outputs=True)
    def transform(order_data: dict):
        return {"total_order_value": sum(order_data.values())}

    @task
    def load(total: float, **context):
        print(f"Total order value is {total:.2f} (run {context['run_id']})")
        return total

    @task.branch
    def size(total: float, params=None):
        return "big_order" if total > params["threshold"] else "small_order"

    @task
    def big_order():
        print("a big order")

    @task
    def small_order():
        print("a small order")

    total = load(transform(extract())["total_order_value"])
    size(total) >> [big_order(), small_order()]


example_taskflow()
