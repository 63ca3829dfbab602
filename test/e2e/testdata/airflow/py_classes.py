"""Operators that are Python classes: a DAG file's own (execute, a branch's
choose_branch, a sensor's poke), and the ones gust's airflow package writes
in Python (LatestOnlyOperator, BranchDateTimeOperator, PythonSensor,
BashSensor, @task.sensor, @task.bash); params of an operator's own."""
import datetime
import os

from airflow.exceptions import AirflowSkipException
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.branch import BaseBranchOperator
from airflow.providers.standard.operators.datetime import BranchDateTimeOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator
from airflow.providers.standard.sensors.weekday import DayOfWeekSensor
from airflow.models.skipmixin import SkipMixin
from airflow.providers.standard.sensors.bash import BashSensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.sdk import (
    DAG, BaseOperator, BaseSensorOperator, ExceptionRetryPolicy, Param, PokeReturnValue, RetryAction, RetryRule, task,
)


class Greet(BaseOperator):
    template_fields = ("greeting", "names")

    def __init__(self, greeting, names=None, **kwargs):
        super().__init__(**kwargs)
        self.greeting = greeting
        self.names = names or []

    def execute(self, context):
        msg = f"{self.greeting} {'+'.join(self.names)}"
        print("greeting:", msg)
        self.log.info("logged for %s", context["task"].task_id)
        return msg


class Counted(BaseOperator):
    """Runs on a copy of the parsed task, as Airflow's prepare_for_execution
    gives it: what a try sets on self stays with that try."""

    def execute(self, context):
        self.runs = getattr(self, "runs", 0) + 1
        return {"copy": self.dag.get_task(self.task_id) is not self, "runs": self.runs}


class SkipMe(BaseOperator):
    def execute(self, context):
        raise AirflowSkipException("this one skips")


class SkipOther(BaseOperator, SkipMixin):
    """Skips a downstream task of its own choosing, as Airflow 2's SkipMixin.skip does."""

    def execute(self, context):
        self.skip(context["dag_run"], context["logical_date"], [self.dag.get_task("skipped_by_mixin")])


class PickRight(BaseBranchOperator):
    def choose_branch(self, context):
        return "right"


class SecondPoke(BaseSensorOperator):
    """Done at its second poke: the first leaves a marker file."""

    template_fields = ("marker",)

    def __init__(self, marker, **kwargs):
        super().__init__(**kwargs)
        self.marker = marker

    def poke(self, context):
        if os.path.exists(self.marker):
            print("second poke: done")
            return PokeReturnValue(is_done=True, xcom_value={"marker": os.path.basename(self.marker)})
        open(self.marker, "w").close()
        print("first poke: not yet")
        return False


with DAG("py_classes", start_date=datetime.datetime(2024, 1, 1), schedule=None, catchup=False,
         params={"who": Param("world", type="string", section="People", description_md="Who is **greeted**")}) as dag:
    greet = Greet(task_id="greet", greeting="Hello {{ params.who }}", names=["{{ dag_run.run_id }}", "b"])
    skip_me = SkipMe(task_id="skip_me")
    Counted(task_id="counted")
    after_skip = EmptyOperator(task_id="after_skip")
    pick = PickRight(task_id="pick")
    left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
    second = SecondPoke(task_id="second_poke", marker="{{ params.marker }}", poke_interval=1, timeout=60, mode="reschedule")
    py_sensor = PythonSensor(task_id="py_sensor", python_callable=lambda params: params["who"] == "world", poke_interval=1)
    bash_sensor = BashSensor(task_id="bash_sensor", bash_command="test {{ params.who }} = world", poke_interval=1)
    latest = LatestOnlyOperator(task_id="latest_only")
    after_latest = EmptyOperator(task_id="after_latest")
    window = BranchDateTimeOperator(task_id="window", follow_task_ids_if_true="in_window", follow_task_ids_if_false="out_window",
                                    target_lower=datetime.time(0, 0), target_upper=datetime.time(23, 59, 59))
    in_window, out_window = EmptyOperator(task_id="in_window"), EmptyOperator(task_id="out_window")
    own_params = BashOperator(task_id="own_params", bash_command="echo own {{ params.who }} {{ params.n }}",
                              params={"who": "task", "n": Param(5, type="integer")})
    script = BashOperator(task_id="script", bash_command="scripts/hello.sh")  # template_ext: a file next to this one
    pull_str = BashOperator(task_id="pull_str", bash_command=f"echo got {greet.output}")  # XComArg as a template
    greet >> pull_str
    every_day = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    day_sensor = DayOfWeekSensor(task_id="day_sensor", week_day=every_day, poke_interval=1)
    day_branch = BranchDayOfWeekOperator(task_id="day_branch", week_day=every_day,
                                         follow_task_ids_if_true="on_day", follow_task_ids_if_false="off_day")
    on_day, off_day = EmptyOperator(task_id="on_day"), EmptyOperator(task_id="off_day")
    day_branch >> [on_day, off_day]
    skip_other = SkipOther(task_id="skip_other")
    skip_other >> [EmptyOperator(task_id="skipped_by_mixin"), EmptyOperator(task_id="kept_by_mixin")]
    greet >> skip_me >> after_skip
    pick >> [left, right]
    latest >> after_latest
    window >> [in_window, out_window]

    @task.sensor(poke_interval=1, timeout=30)
    def ready():
        return PokeReturnValue(is_done=True, xcom_value="ready!")

    @task.bash
    def shout(word):
        return "echo bash got " + word + " on {{ ds }}"

    @task
    def collect(r, g):
        print("collected", r, "/", g)
        return f"{r} {g}"

    @task(templates_exts=[".sql"])
    def query(sql):
        print("query:", sql.strip())
        return sql.strip()

    @task(retries=1, retry_delay=datetime.timedelta(hours=1), retry_policy=ExceptionRetryPolicy(
        rules=[RetryRule(exception=ConnectionError, action=RetryAction.RETRY, retry_delay=datetime.timedelta(seconds=1))]))
    def flaky(ti=None):
        if ti.try_number < 2:
            raise ConnectionError("flaky on purpose")
        return ti.try_number

    flaky()
    collect(ready(), greet.output) >> shout("loud")
    query.override(params={"who": "sql"})("scripts/q.sql")
