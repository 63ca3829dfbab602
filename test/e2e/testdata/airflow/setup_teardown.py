"""Setup and teardown as Airflow's example_setup_teardown and
example_setup_teardown_taskflow write them: as_setup / as_teardown on
operators and on TaskFlow calls, @setup / @teardown, and a teardown as a
context manager around work and a task group."""
import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, setup, task, task_group, teardown

with DAG("setup_teardown", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule=None):
    create = BashOperator(task_id="create", bash_command="echo create").as_setup()
    work = BashOperator(task_id="work", bash_command="exit 1")
    delete = BashOperator(task_id="delete", bash_command="echo delete").as_teardown(setups=create)
    create >> work >> delete

    @task
    def first():
        return "one"

    @task
    def second():
        print("second")

    @task
    def third():
        print("third")

    t1 = first()
    t1 >> second() >> third().as_teardown(setups=t1)

    @setup
    def outer_setup():
        return "cluster-1"

    @teardown(on_failure_fail_dagrun=True)
    def outer_teardown(cluster_id):
        print("tearing down", cluster_id)

    @task
    def outer_work():
        print("outer work")

    @task_group
    def section():
        @setup
        def inner_setup():
            return "inner"

        @task
        def inner_work(x):
            print(x)

        @teardown
        def inner_teardown(x):
            print("bye", x)

        s = inner_setup()
        inner_work(s) >> inner_teardown(s)

    with outer_teardown(outer_setup()):
        outer_work()
        section()
