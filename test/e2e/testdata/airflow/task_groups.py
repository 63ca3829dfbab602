"""Task groups as Airflow's example_task_group and
example_task_group_decorator write them."""
import pendulum

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task, task_group

with DAG("task_groups", start_date=pendulum.datetime(2024, 1, 1), schedule=None, default_args={"retries": 1}):
    start = EmptyOperator(task_id="start")
    with TaskGroup("section_1", tooltip="Tasks for section_1", default_args={"retries": 4}) as section_1:
        t1 = EmptyOperator(task_id="task_1")
        t2 = BashOperator(task_id="task_2", bash_command="echo 1")
        t3 = EmptyOperator(task_id="task_3", retries=0)
        t1 >> [t2, t3]
    with TaskGroup("section_2", tooltip="Tasks for section_2") as section_2:
        task_1 = EmptyOperator(task_id="task_1")
        with TaskGroup("inner_section_2", tooltip="Tasks for inner_section2"):
            task_2 = BashOperator(task_id="task_2", bash_command="echo 1")
            task_3 = EmptyOperator(task_id="task_3")
            task_4 = EmptyOperator(task_id="task_4")
            [task_2, task_3] >> task_4
    end = EmptyOperator(task_id="end")
    start >> section_1 >> section_2 >> end

    @task
    def one():
        return 1

    @task_group
    def grp(x):
        """a group docstring"""

        @task
        def add(v):
            return v + 1

        return add(x)

    grp(grp(one()))
