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


def _python(name):
    class PythonCallable(BaseOperator):
        def __init__(self, *args, **kwargs):
            unsupported(f"{name} (Python callables on workers)")

    PythonCallable.__name__ = PythonCallable.__qualname__ = name
    return PythonCallable


PythonOperator = _python("PythonOperator")
BranchPythonOperator = _python("BranchPythonOperator")
ShortCircuitOperator = _python("ShortCircuitOperator")
PythonVirtualenvOperator = _python("PythonVirtualenvOperator")
ExternalPythonOperator = _python("ExternalPythonOperator")
BranchExternalPythonOperator = _python("BranchExternalPythonOperator")
BranchPythonVirtualenvOperator = _python("BranchPythonVirtualenvOperator")


class _TaskDecorator:
    """@task and its variants: Python callables on workers, which gust does
    not run yet; the decorator works, calling the task is the error."""

    def __init__(self, what):
        self.what = what

    def __call__(self, python_callable=None, **kwargs):
        what = self.what

        def wrap(f):
            @__import__("functools").wraps(f)
            def call(*a, **k):
                unsupported(f"{what} (Python callables on workers)")

            call.override = lambda **kw: call
            call.expand = call.partial = lambda *a, **k: unsupported("dynamic task mapping (.expand)")
            return call

        if callable(python_callable) and not kwargs:
            return wrap(python_callable)
        return wrap

    def __getattr__(self, name):
        if name in ("python", "branch", "short_circuit", "bash", "virtualenv", "external_python",
                    "branch_virtualenv", "branch_external_python", "sensor", "pyspark", "docker", "kubernetes"):
            return _TaskDecorator(f"@task.{name}")
        raise AttributeError(f"airflow's task decorator has no '{name}' in gust")


task = _TaskDecorator("@task")
