"""The operators gust runs, under Airflow's names; their arguments are
checked by gust's DAG validation, as a YAML file's are."""
from airflow._gust.model import BaseOperator, unsupported


class BashOperator(BaseOperator):
    gust_operator = "bash"
    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")

    def __init__(self, *, bash_command, **kwargs):
        if callable(bash_command):
            unsupported("a callable bash_command")
        super().__init__(bash_command=bash_command, **kwargs)


class EmptyOperator(BaseOperator):
    gust_operator = "empty"


class DummyOperator(EmptyOperator):
    pass


class _Sensor(BaseOperator):
    def __init__(self, **kwargs):
        for k in ("response_check", "check_fn"):
            if k in kwargs:
                unsupported(f"{type(self).__name__}'s {k} (a Python callable)")
        super().__init__(**kwargs)


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


class HttpOperator(_Sensor):
    gust_operator = "http"


SimpleHttpOperator = HttpOperator


class XComArg:
    """A task's XCom as an argument of another task (Airflow's XComArg):
    passing it makes the dependency, and the worker pulls it."""

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

    def expand(self, *a, **k):
        unsupported("dynamic task mapping (.expand)")

    def map(self, f):
        unsupported("XComArg.map (dynamic task mapping)")

    def zip(self, *a, **k):
        unsupported("XComArg.zip (dynamic task mapping)")

    @property
    def output(self):
        return self

    def __repr__(self):
        return f"XComArg({self.operator.task_id!r}, {self.key!r})"


def _xcom_args(v, found):
    """The XComArgs inside an argument value (to make the dependencies)."""
    if isinstance(v, XComArg):
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

_KINDS = {"@task": PythonOperator, "@task.python": PythonOperator, "@task.branch": BranchPythonOperator,
          "@task.short_circuit": ShortCircuitOperator}


class _TaskDecorator:
    """@task, @task.branch, @task.short_circuit (and @task.bash): calling the
    decorated function inside a DAG makes the task and returns its XComArg."""

    def __init__(self, what):
        self.what = what

    def __call__(self, python_callable=None, **kwargs):
        what = self.what
        if what not in _KINDS and what != "@task.bash":
            unsupported(f"{what} (virtualenv, external-Python, Docker and Kubernetes tasks)")

        def wrap(f, defaults=kwargs):
            @__import__("functools").wraps(f)
            def call(*args, **kw):
                opts = dict(defaults)
                task_id = opts.pop("task_id", None) or f.__name__
                d = opts.get("dag") or __import__("airflow._gust.model", fromlist=["current_dag"]).current_dag()
                if d is not None and task_id in d.task_dict:
                    # Airflow's rule: the same function called again gets task_id__1, __2, ...
                    n = 1
                    while f"{task_id}__{n}" in d.task_dict:
                        n += 1
                    task_id = f"{task_id}__{n}"
                if what == "@task.bash":
                    unsupported("@task.bash (a Python callable that returns the command)")
                multiple = opts.pop("multiple_outputs", None)
                if multiple is None:
                    ann = getattr(f, "__annotations__", {}).get("return")
                    multiple = ann is dict or getattr(ann, "__origin__", None) is dict
                op = _KINDS[what](task_id=task_id, python_callable=f, op_args=list(args), op_kwargs=kw,
                                  multiple_outputs=bool(multiple), **opts)
                return XComArg(op)

            def override(**more):
                merged = dict(defaults)
                merged.update(more)
                return wrap(f, merged)

            call.override = override
            call.function = f
            call.expand = call.partial = lambda *a, **k: unsupported("dynamic task mapping (.expand)")
            return call

        if callable(python_callable):
            return wrap(python_callable)
        return wrap

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _TaskDecorator(f"@task.{name}")


task = _TaskDecorator("@task")
