"""The operators gust runs, under Airflow's names; their arguments are
checked by gust's DAG validation, as a YAML file's are. gust runs most of
them itself (native); the others are Python classes whose execute or poke
a worker calls, as it calls a DAG file's own operators."""
import datetime as _dt

from airflow._gust.model import (
    BaseBranchOperator, BaseOperator, BaseSensorOperator, PokeReturnValue, _Context, mapped_operator, native, unsupported,
)

_NOTSET = object()  # an argument not given


def run_bash(command, env=None, cwd=None, append_env=False, skip_on_exit_code=99, output_encoding="utf-8"):
    """Runs a bash command in this process's try (a class's execute that
    calls BashOperator.execute, @task.bash): its output to the log, its
    last line returned; Airflow's exit code rules."""
    import os
    import subprocess

    from airflow.exceptions import AirflowException, AirflowSkipException

    if env is None:
        full = dict(os.environ)
    else:
        full = dict(os.environ) if append_env else {}
        full.update({str(k): str(v) for k, v in env.items()})
    print(f"Running command: ['bash', '-c', {command!r}]", flush=True)
    p = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full,
                         cwd=cwd or None, start_new_session=False)
    last = ""
    for raw in p.stdout:
        line = raw.decode(output_encoding, errors="backslashreplace").rstrip("\n")
        print(line, flush=True)
        last = line
    rc = p.wait()
    print(f"Command exited with return code {rc}", flush=True)
    skip = [skip_on_exit_code] if isinstance(skip_on_exit_code, int) else list(skip_on_exit_code or [])
    if rc in skip:
        raise AirflowSkipException(f"Bash command returned exit code {rc}. Skipping.")
    if rc != 0:
        raise AirflowException(f"Bash command failed. The command returned a non-zero exit code {rc}.")
    return last


class BashOperator(BaseOperator):
    gust_operator = "bash"
    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")

    def __init__(self, *, bash_command, **kwargs):
        if callable(bash_command):
            unsupported("a callable bash_command")
        super().__init__(bash_command=bash_command, **kwargs)
        self.bash_command = bash_command

    @native
    def execute(self, context):
        return run_bash(self.bash_command, getattr(self, "env", None), getattr(self, "cwd", None),
                        getattr(self, "append_env", False), getattr(self, "skip_on_exit_code", 99))


class EmptyOperator(BaseOperator):
    gust_operator = "empty"
    ui_color = "#e8f7e4"

    @native
    def execute(self, context):
        return None


class DummyOperator(EmptyOperator):
    pass


class _Sensor(BaseSensorOperator):
    """The sensors gust pokes itself."""

    def __init__(self, **kwargs):
        for k in ("response_check", "check_fn"):
            if k in kwargs:
                unsupported(f"{type(self).__name__}'s {k} (a Python callable)")
        super().__init__(**kwargs)

    @native
    def execute(self, context):
        raise RuntimeError(f"gust pokes {type(self).__name__} itself; a subclass cannot call its execute")


class FileSensor(_Sensor):
    gust_operator = "file_sensor"


class TimeDeltaSensor(_Sensor):
    gust_operator = "time_delta_sensor"


class DateTimeSensor(_Sensor):
    gust_operator = "date_time_sensor"


class ExternalTaskSensor(_Sensor):
    gust_operator = "external_task_sensor"


class HttpSensor(_Sensor):
    gust_operator = "http_sensor"


class HttpOperator(BaseOperator):
    gust_operator = "http"

    def __init__(self, **kwargs):
        if "response_check" in kwargs or "response_filter" in kwargs:
            unsupported("HttpOperator's response_check and response_filter (Python callables)")
        super().__init__(**kwargs)

    @native
    def execute(self, context):
        raise RuntimeError("gust calls HttpOperator itself; a subclass cannot call its execute")


SimpleHttpOperator = HttpOperator


def _async(cls):
    """A deferrable sensor (TimeDeltaSensorAsync, ...): gust waits in
    reschedule mode, which frees the worker slot as deferring does."""

    class Async(cls):
        def __init__(self, **kwargs):
            kwargs.setdefault("mode", "reschedule")
            super().__init__(**kwargs)

    Async.__name__ = Async.__qualname__ = cls.__name__ + "Async"
    return Async


TimeDeltaSensorAsync = _async(TimeDeltaSensor)
DateTimeSensorAsync = _async(DateTimeSensor)


def _call_callable(op, context):
    """op.python_callable(*op.op_args, **context names it takes), with
    op.op_kwargs over the context (and templates_dict), as Airflow calls it."""
    from airflow._gust.runtime import call

    ctx = dict(context)
    ctx.update(op.op_kwargs)
    ctx["templates_dict"] = getattr(op, "templates_dict", None)
    return call(op.python_callable, op.op_args, ctx)


def _now():
    return _dt.datetime.now(_dt.timezone.utc)


def _dag_tz(op):
    d = op.dag
    t = getattr(d, "start_date", None) if d is not None else None
    return getattr(t, "tzinfo", None) or _dt.timezone.utc


class PythonSensor(BaseSensorOperator):
    """Pokes python_callable(*op_args, **op_kwargs, context...) until it
    returns a truthy value (or a PokeReturnValue that is done)."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None, **kwargs):
        if not callable(python_callable):
            raise TypeError("`python_callable` param must be callable")
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args, self.op_kwargs, self.templates_dict = list(op_args or []), dict(op_kwargs or {}), templates_dict
        for x in _xcom_args([self.op_args, self.op_kwargs, templates_dict], []):
            self.set_upstream(x.operator)

    def poke(self, context):
        print(f"Poking callable: {getattr(self.python_callable, '__name__', self.python_callable)}", flush=True)
        return _call_callable(self, context)


class BashSensor(BaseSensorOperator):
    """Pokes until bash_command exits 0 (with retry_exit_code, other codes
    than it and 0 fail the sensor)."""

    template_fields = ("bash_command", "env")

    def __init__(self, *, bash_command, env=None, output_encoding="utf-8", retry_exit_code=None, **kwargs):
        super().__init__(**kwargs)
        self.bash_command, self.env, self.output_encoding = bash_command, env, output_encoding
        self.retry_exit_code = retry_exit_code

    def poke(self, context):
        import os
        import subprocess

        from airflow.exceptions import AirflowFailException

        env = dict(os.environ) if self.env is None else {str(k): str(v) for k, v in self.env.items()}
        print(f"Tmp dir root location: {os.getcwd()}\nRunning command: {self.bash_command}", flush=True)
        p = subprocess.run(["bash", "-c", self.bash_command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        out = p.stdout.decode(self.output_encoding, errors="backslashreplace")
        if out:
            print(out.rstrip("\n"), flush=True)
        print(f"Command exited with return code {p.returncode}", flush=True)
        if self.retry_exit_code is not None:
            if p.returncode == self.retry_exit_code:
                return False
            if p.returncode != 0:
                raise AirflowFailException(f"Command exited with return code {p.returncode}")
        return p.returncode == 0


class TimeSensor(BaseSensorOperator):
    """Waits until the time of day target_time in the DAG's timezone."""

    def __init__(self, *, target_time, deferrable=False, **kwargs):
        super().__init__(deferrable=deferrable, **kwargs)
        if not isinstance(target_time, _dt.time):
            raise TypeError("TimeSensor's target_time must be a datetime.time")
        self.target_time = target_time

    def poke(self, context):
        now = _now().astimezone(_dag_tz(self))
        print(f"Checking if the time ({now.time()}) has come ({self.target_time})", flush=True)
        return now.time().replace(tzinfo=None) > self.target_time.replace(tzinfo=None)


TimeSensorAsync = _async(TimeSensor)


def _week_days(week_day):
    from airflow._gust.weekday import WeekDay

    if isinstance(week_day, (str, WeekDay)):
        week_day = [week_day]
    return {WeekDay.get_weekday_number(d) if isinstance(d, str) else int(d) for d in week_day}


def _today(op, context, use_logical):
    t = context["logical_date"] if use_logical else _now()
    return t.astimezone(_dag_tz(op))


class DayOfWeekSensor(BaseSensorOperator):
    """Waits until a day of week_day (a name, a WeekDay, or a set of them)."""

    def __init__(self, *, week_day, use_task_logical_date=False, use_task_execution_day=None, **kwargs):
        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date or bool(use_task_execution_day)
        self._days = _week_days(week_day)

    def poke(self, context):
        day = _today(self, context, self.use_task_logical_date).isoweekday()
        print(f"Poking until weekday is in {sorted(self._days)}, Today is {day}", flush=True)
        return day in self._days


class LatestOnlyOperator(BaseBranchOperator):
    """Skips its downstream tasks unless this run is the latest scheduled
    one (now falls after the run's data interval start and no later than the
    next run's interval end, as Airflow 3's) or manual."""

    ui_color = "#e9ffdb"

    def choose_branch(self, context):
        down = sorted(self.downstream_task_ids)
        run = context["dag_run"]
        if run.run_type == "manual":
            print("Manually triggered DAG_Run: allowing execution to proceed.", flush=True)
            return down
        nxt = _Context.ask("next_data_interval")  # the interval the DAG's timetable gives after the run's
        if not nxt:
            print("Not a scheduled interval with a next one: allowing execution to proceed.", flush=True)
            return down
        # Airflow's window: from the run's data interval start (its point,
        # for a trigger timetable) to the end of the next run's interval.
        right = _dt.datetime.fromisoformat(nxt[1].replace("Z", "+00:00"))
        left = run.data_interval_start or run.logical_date or right
        now = _now()
        print(f"Checking latest only with left_window: {left} right_window: {right} now: {now}", flush=True)
        if not left < now <= right:
            print("Not latest execution, skipping downstream.", flush=True)
            return []
        print("Latest, allowing execution to proceed.", flush=True)
        return down


def _as_dates(base, lower, upper):
    if isinstance(lower, _dt.datetime) and isinstance(upper, _dt.datetime):
        return lower, upper
    if isinstance(lower, _dt.time):
        lower = _dt.datetime.combine(base.date(), lower)
    if isinstance(upper, _dt.time):
        upper = _dt.datetime.combine(base.date(), upper)
    if lower is not None and upper is not None and upper < lower:
        upper += _dt.timedelta(days=1)
    return lower, upper


class BranchDateTimeOperator(BaseBranchOperator):
    """Follows follow_task_ids_if_true when now (or the logical date) is
    between target_lower and target_upper, else follow_task_ids_if_false."""

    def __init__(self, *, follow_task_ids_if_true, follow_task_ids_if_false, target_lower=None, target_upper=None,
                 use_task_logical_date=False, use_task_execution_date=None, **kwargs):
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            from airflow.exceptions import AirflowException

            raise AirflowException("Both target_upper and target_lower are None. At least one must be defined to be compared to the current datetime")
        self.follow_task_ids_if_true, self.follow_task_ids_if_false = follow_task_ids_if_true, follow_task_ids_if_false
        self.target_lower, self.target_upper = target_lower, target_upper
        self.use_task_logical_date = use_task_logical_date or bool(use_task_execution_date)

    def choose_branch(self, context):
        tz = _dag_tz(self)
        now = _today(self, context, self.use_task_logical_date)
        lower, upper = _as_dates(now, self.target_lower, self.target_upper)
        lower = lower.replace(tzinfo=tz) if lower is not None and lower.tzinfo is None else lower
        upper = upper.replace(tzinfo=tz) if upper is not None and upper.tzinfo is None else upper
        if upper is not None and upper < now:
            return self.follow_task_ids_if_false
        if lower is not None and lower > now:
            return self.follow_task_ids_if_false
        return self.follow_task_ids_if_true


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follows follow_task_ids_if_true on the days of week_day."""

    def __init__(self, *, follow_task_ids_if_true, follow_task_ids_if_false, week_day, use_task_logical_date=False,
                 use_task_execution_day=None, **kwargs):
        super().__init__(**kwargs)
        self.follow_task_ids_if_true, self.follow_task_ids_if_false = follow_task_ids_if_true, follow_task_ids_if_false
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date or bool(use_task_execution_day)
        self._days = _week_days(week_day)

    def choose_branch(self, context):
        if _today(self, context, self.use_task_logical_date).isoweekday() in self._days:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false


class ExternalTaskMarker(EmptyOperator):
    """Marks a dependency of another DAG's task on this one: clearing this
    task clears the external task (and what follows it) in the run of the
    same logical date, as Airflow does. The task itself does nothing."""

    gust_operator = "external_task_marker"
    template_fields = ("external_dag_id", "external_task_id", "logical_date")
    ui_color = "#4db7db"

    def __init__(self, *, external_dag_id, external_task_id, logical_date="{{ logical_date.isoformat() }}",
                 execution_date=None, recursion_depth=10, **kwargs):
        if recursion_depth <= 0:
            raise ValueError("recursion_depth should be a positive integer")
        logical_date = execution_date or logical_date
        if isinstance(logical_date, _dt.datetime):
            logical_date = (logical_date if logical_date.tzinfo else logical_date.replace(tzinfo=_dt.timezone.utc)).isoformat()
        super().__init__(external_dag_id=external_dag_id, external_task_id=external_task_id, logical_date=logical_date,
                         recursion_depth=recursion_depth, **kwargs)
        self.external_dag_id, self.external_task_id = external_dag_id, external_task_id
        self.logical_date = logical_date
        self.recursion_depth = recursion_depth


class XComArg:
    """A task's XCom as an argument of another task (Airflow's XComArg):
    passing it makes the dependency, and the worker pulls it."""

    def as_setup(self):
        self.operator.as_setup()
        return self

    def as_teardown(self, *, setups=None, on_failure_fail_dagrun=None):
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self):
        self.operator.__enter__()
        return self

    def __exit__(self, *exc):
        return self.operator.__exit__(*exc)

    def __init__(self, operator, key="return_value"):
        self.operator = operator
        self.key = key

    def __getitem__(self, key):
        return XComArg(self.operator, key)

    def __rshift__(self, other):
        self.operator.set_downstream(other.operator if isinstance(other, XComArg) else other)
        return other

    def __lshift__(self, other):
        self.operator.set_upstream(other.operator if isinstance(other, XComArg) else other)
        return other

    def __rrshift__(self, other):
        self.operator.set_upstream(other)
        return self

    def __rlshift__(self, other):
        self.operator.set_downstream(other)
        return self

    def set_downstream(self, other, edge_modifier=None):
        self.operator.set_downstream(other)

    def set_upstream(self, other, edge_modifier=None):
        self.operator.set_upstream(other)

    def resolve(self, context):
        return context["ti"].xcom_pull(task_ids=self.operator.task_id, key=self.key)

    def map(self, f):
        """Airflow's XComArg.map: each item transformed by f when a mapped
        task (or a task reading the list) uses it; f may raise
        AirflowSkipException to skip that mapped instance."""
        if not callable(f):
            raise TypeError(f"XComArg.map takes a callable, not {f!r}")
        return _MapXComArg(self, [f])

    def zip(self, *others, fillvalue=_NOTSET):
        """Airflow's XComArg.zip: the items of this and the others side by
        side (as zip, or itertools.zip_longest with fillvalue)."""
        return _ZipArg(self, *others, fillvalue=fillvalue)

    def concat(self, *others):
        unsupported("XComArg.concat")

    @property
    def output(self):
        return self

    def __repr__(self):
        return f"XComArg({self.operator.task_id!r}, {self.key!r})"

    def __str__(self):
        """Airflow's: a template that pulls the XCom (in an f-string)."""
        dag = f", dag_id='{self.operator.dag_id}'" if self.operator.dag_id else ""
        return f"{{{{ task_instance.xcom_pull(task_ids='{self.operator.task_id}'{dag}, key='{self.key}') }}}}"


class _MapXComArg(XComArg):
    """XComArg.map(f): an upstream's items as f (then the next callables)
    transforms them. The callables are registered on the DAG in the order
    the file makes them, so that the worker, importing the file, finds
    them by the same number."""

    def __init__(self, base, fns):
        super().__init__(base.operator, base.key)
        self.fns = list(fns)
        from airflow._gust.model import current_dag

        d = getattr(base.operator, "dag", None) or current_dag()
        if d is None:
            raise RuntimeError("XComArg.map outside a DAG")
        registry = d.__dict__.setdefault("_gust_map_fns", [])
        self.fn_id = str(len(registry))
        registry.append(self.fns)

    def map(self, f):
        if not callable(f):
            raise TypeError(f"XComArg.map takes a callable, not {f!r}")
        return _MapXComArg(self, self.fns + [f])

    def zip(self, *others, fillvalue=_NOTSET):
        unsupported("XComArg.zip of an XComArg.map")

    def __getitem__(self, key):
        raise TypeError("an XComArg.map result has no keys")

    def resolve(self, context):
        return map_items(self.fns, super().resolve(context))

    def __repr__(self):
        return f"MapXComArg({self.operator.task_id!r}, {self.key!r}, {len(self.fns)} callables)"


def map_items(fns, value):
    """The items of an upstream's value (a dict's (key, value) pairs), each
    through fns, as a list."""
    if value is None:
        return None
    items = value.items() if isinstance(value, dict) else value
    out = []
    for item in items:
        out.append(apply_fns(fns, item))
    return out


def apply_fns(fns, item):
    for f in fns:
        item = f(item)
    return item


class _ZipArg:
    """XComArg.zip(...): what a mapped task maps over, zipped."""

    def __init__(self, *args, fillvalue=_NOTSET):
        for a in args:
            if isinstance(a, _MapXComArg):
                unsupported("XComArg.zip of an XComArg.map")
        self.args, self.fillvalue = args, fillvalue

    def map(self, f):
        unsupported("XComArg.map of a zip")

    def zip(self, *others, fillvalue=_NOTSET):
        return _ZipArg(*self.args, *others, fillvalue=fillvalue)

    def __repr__(self):
        return f"ZipXComArg({self.args!r})"


def _xcom_args(v, found):
    """The XComArgs inside an argument value (to make the dependencies)."""
    if isinstance(v, _ZipArg):
        for a in v.args:
            _xcom_args(a, found)
    elif isinstance(v, XComArg):
        found.append(v)
    elif isinstance(v, dict):
        for x in v.values():
            _xcom_args(x, found)
    elif isinstance(v, (list, tuple, set)):
        for x in v:
            _xcom_args(x, found)
    return found


class PythonOperator(BaseOperator):
    """Runs python_callable on a worker, in a Python process of its own."""

    gust_operator = "python"
    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, templates_dict=None,
                 templates_exts=None, show_return_value_in_logs=True, multiple_outputs=False, **kwargs):
        if not callable(python_callable):
            raise TypeError("`python_callable` param must be callable")
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        self.templates_exts = list(templates_exts or [])
        self.multiple_outputs = multiple_outputs
        self.show_return_value_in_logs = show_return_value_in_logs
        self._kwargs.update({"python_callable": getattr(python_callable, "__qualname__", repr(python_callable))})
        for k, v in (("op_args", self.op_args), ("op_kwargs", self.op_kwargs), ("templates_dict", templates_dict)):
            if v:
                self._kwargs[k] = v
        if multiple_outputs:
            self._kwargs["multiple_outputs"] = True
        if not show_return_value_in_logs:
            self._kwargs["show_return_value_in_logs"] = False
        for x in _xcom_args([self.op_args, self.op_kwargs, templates_dict], []):
            self.set_upstream(x.operator)

    @property
    def output(self):
        return XComArg(self)

    @native
    def execute(self, context):
        """Calls python_callable (for a subclass's execute that calls it)."""
        return _call_callable(self, context)


class BranchPythonOperator(PythonOperator):
    gust_operator = "branch_python"


class ShortCircuitOperator(PythonOperator):
    gust_operator = "short_circuit_python"

    def __init__(self, *, ignore_downstream_trigger_rules=True, **kwargs):
        super().__init__(**kwargs)
        if not ignore_downstream_trigger_rules:
            self._kwargs["ignore_downstream_trigger_rules"] = False


def _python(name, what):
    class Unsupported(BaseOperator):
        def __init__(self, *args, **kwargs):
            unsupported(what)

    Unsupported.__name__ = Unsupported.__qualname__ = name
    return Unsupported


PythonVirtualenvOperator = _python("PythonVirtualenvOperator", "PythonVirtualenvOperator (virtualenv operators)")
ExternalPythonOperator = _python("ExternalPythonOperator", "ExternalPythonOperator (external-Python operators)")
BranchExternalPythonOperator = _python("BranchExternalPythonOperator", "BranchExternalPythonOperator (external-Python operators)")
BranchPythonVirtualenvOperator = _python("BranchPythonVirtualenvOperator", "BranchPythonVirtualenvOperator (virtualenv operators)")

class _BashDecoratedOperator(BaseOperator):
    """@task.bash: the callable returns the command, which is rendered as a
    template and run as BashOperator runs it."""

    template_fields = ("op_args", "op_kwargs", "env", "cwd")

    def __init__(self, *, python_callable, op_args=None, op_kwargs=None, env=None, append_env=False, cwd=None,
                 skip_on_exit_code=99, multiple_outputs=False, **kwargs):
        super().__init__(**kwargs)
        self.python_callable, self.op_args, self.op_kwargs = python_callable, list(op_args or []), dict(op_kwargs or {})
        self.env, self.append_env, self.cwd, self.skip_on_exit_code = env, append_env, cwd, skip_on_exit_code
        for x in _xcom_args([self.op_args, self.op_kwargs], []):
            self.set_upstream(x.operator)

    def execute(self, context):
        from airflow._gust.runtime import render

        command = _call_callable(self, context)
        if not isinstance(command, str) or not command.strip():
            raise TypeError("The returned value from the TaskFlow callable must be a non-empty string.")
        return run_bash(render(command), self.env, self.cwd, self.append_env, self.skip_on_exit_code)


class DecoratedSensorOperator(PythonSensor):
    """@task.sensor: the function is the poke."""

    def __init__(self, *, multiple_outputs=False, **kwargs):
        super().__init__(**kwargs)


_KINDS = {"@task": PythonOperator, "@task.python": PythonOperator, "@task.branch": BranchPythonOperator,
          "@task.short_circuit": ShortCircuitOperator, "@task.bash": _BashDecoratedOperator, "@task.sensor": DecoratedSensorOperator}


class _TaskPartial:
    """A @task function's .partial(...), waiting for .expand() or
    .expand_kwargs()."""

    def __init__(self, build, args, kwargs):
        self.build, self.args, self.kwargs = build, args, kwargs

    def expand(self, **mapped):
        if not mapped:
            raise TypeError("no arguments to expand against")
        return self.build(self.args, self.kwargs, expand=mapped)

    def expand_kwargs(self, kwargs, *, strict=True):
        return self.build(self.args, self.kwargs, expand_kwargs=kwargs)


class _TaskDecorator:
    """@task, @task.branch, @task.short_circuit, @task.bash, @task.sensor: calling the
    decorated function inside a DAG makes the task and returns its XComArg."""

    def __init__(self, what):
        self.what = what

    def __call__(self, python_callable=None, **kwargs):
        what = self.what
        if what not in _KINDS:
            unsupported(f"{what} (virtualenv, external-Python, Docker and Kubernetes tasks)")

        def wrap(f, defaults=kwargs):
            def build(args, kw, expand=None, expand_kwargs=None):
                opts = dict(defaults)
                task_id = opts.pop("task_id", None) or f.__name__
                d = opts.get("dag") or __import__("airflow._gust.model", fromlist=["current_dag"]).current_dag()
                if d is not None and task_id in d.task_dict:
                    # Airflow's rule: the same function called again gets task_id__1, __2, ...
                    n = 1
                    while f"{task_id}__{n}" in d.task_dict:
                        n += 1
                    task_id = f"{task_id}__{n}"
                multiple = opts.pop("multiple_outputs", None)
                if multiple is None:
                    ann = getattr(f, "__annotations__", {}).get("return")
                    multiple = ann is dict or getattr(ann, "__origin__", None) is dict
                op_args = dict(task_id=task_id, python_callable=f, op_args=list(args), op_kwargs=kw,
                               multiple_outputs=bool(multiple), **opts)
                if expand is None and expand_kwargs is None:
                    return XComArg(_KINDS[what](**op_args))
                both = sorted(set(kw) & set(expand or {}))
                if both:
                    raise TypeError(f"{f.__name__}: argument {both[0]!r} is both partial and mapped")
                return XComArg(mapped_operator(_KINDS[what], op_args, expand=expand, expand_kwargs=expand_kwargs,
                                               into="op_kwargs"))

            @__import__("functools").wraps(f)
            def call(*args, **kw):
                return build(args, kw)

            def override(**more):
                merged = dict(defaults)
                merged.update(more)
                return wrap(f, merged)

            def expand(**mapped):
                if not mapped:
                    raise TypeError("no arguments to expand against")
                return build((), {}, expand=mapped)

            def expand_kwargs(kwargs, *, strict=True):
                return build((), {}, expand_kwargs=kwargs)

            call.override = override
            call.function = f
            call.expand, call.expand_kwargs = expand, expand_kwargs
            call.partial = lambda *a, **kw: _TaskPartial(build, a, kw)
            call.loop = lambda *a, **k: unsupported("task loops (.loop)")
            return call

        if callable(python_callable):
            return wrap(python_callable)
        return wrap

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _TaskDecorator(f"@task.{name}")


task = _TaskDecorator("@task")


class TriggerDagRunOperator(BaseOperator):
    """Triggers a run of trigger_dag_id (its run id and logical date pushed
    as the XComs trigger_run_id and trigger_logical_date), waiting for it to
    end with wait_for_completion."""

    template_fields = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf", "wait_for_completion",
                       "skip_when_already_exists")
    ui_color = "#ffefeb"

    def __init__(self, *, trigger_dag_id, trigger_run_id=None, conf=None, logical_date=None, execution_date=None,
                 reset_dag_run=False, wait_for_completion=False, poke_interval=60, allowed_states=None,
                 failed_states=None, skip_when_already_exists=False, fail_when_dag_is_paused=False,
                 deferrable=False, openlineage_inject_parent_info=True, note=None, **kwargs):
        if deferrable:
            unsupported("deferrable operators (TriggerDagRunOperator with deferrable=True)")
        super().__init__(**kwargs)
        self.trigger_dag_id, self.trigger_run_id, self.conf = trigger_dag_id, trigger_run_id, conf
        self.logical_date = logical_date if logical_date is not None else execution_date
        self.reset_dag_run, self.wait_for_completion, self.poke_interval = reset_dag_run, wait_for_completion, poke_interval
        self.allowed_states = [str(s) for s in (allowed_states or ["success"])]
        self.failed_states = [str(s) for s in (failed_states or ["failed"])]
        self.skip_when_already_exists = skip_when_already_exists
        self.fail_when_dag_is_paused = fail_when_dag_is_paused

    def execute(self, context):
        import time

        from airflow._gust.model import _Context
        from airflow.exceptions import AirflowException, AirflowSkipException

        ask = _Context.ask
        logical = self.logical_date
        if isinstance(logical, _dt.datetime):
            logical = (logical if logical.tzinfo else logical.replace(tzinfo=_dt.timezone.utc)).isoformat()
        conf = self.conf
        if isinstance(conf, str):
            import json

            conf = json.loads(conf) if conf.strip() else None
        if conf is not None and not isinstance(conf, dict):
            raise AirflowException("conf parameter should be JSON Serializable dict")
        got = ask("trigger_dag_run", dag_id=self.trigger_dag_id, run_id=self.trigger_run_id or "", conf=conf,
                  logical_date=logical or "", reset=bool(self.reset_dag_run), task_id=self.task_id,
                  fail_when_paused=bool(self.fail_when_dag_is_paused))
        run_id = got["run_id"]
        if got["exists"]:
            if self.skip_when_already_exists:
                raise AirflowSkipException(f"Dag run {run_id} of {self.trigger_dag_id} already exists: skipping")
            raise AirflowException(f"A Dag Run already exists for Dag {self.trigger_dag_id} with run id {run_id}")
        print(f"Triggered DAG {self.trigger_dag_id}: run {run_id}", flush=True)
        ti = context["ti"]
        ti.xcom_push(key="trigger_run_id", value=run_id)
        ti.xcom_push(key="trigger_logical_date", value=got["logical_date"])
        if not self.wait_for_completion:
            return None
        interval = self.poke_interval.total_seconds() if isinstance(self.poke_interval, _dt.timedelta) else float(self.poke_interval)
        while True:
            state = ask("dag_run_state", dag_id=self.trigger_dag_id, run_id=run_id)
            print(f"Waiting for {self.trigger_dag_id} on {run_id} to become allowed state {self.allowed_states} ...", flush=True)
            if state in self.failed_states:
                raise AirflowException(f"{self.trigger_dag_id} failed with failed states {state}")
            if state in self.allowed_states:
                print(f"{self.trigger_dag_id} finished with allowed state {state}", flush=True)
                return None
            time.sleep(interval)
