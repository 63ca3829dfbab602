"""gust's model of Airflow's DAG authoring API.

DAG files build DAG and operator objects as they would with Airflow; the
parser (gust_parse.py) turns each DAG into gust's dag-factory document,
which gust validates as it does its YAML files. What gust does not run
raises an error that names it, so the file becomes an import error.
"""
import datetime as _dt
import functools
import inspect
import os
import sys

from airflow.exceptions import DuplicateTaskIdFound

_UNSET = object()


class GustUnsupported(NotImplementedError):
    """A feature of Airflow that gust does not have yet."""


def unsupported(what):
    raise GustUnsupported(f"{what} is not supported by gust yet")


class _Context:
    dags = []  # the DAGs of `with` blocks being built, innermost last
    groups = []  # the TaskGroups of `with` blocks being built, innermost last
    setup_teardown = []  # (task, the DAG's task ids before) of `with setup_or_teardown:` blocks
    template_files = []  # the template_ext files read into the DAGs' documents
    registered = []  # auto-registered DAGs, in creation order
    assets_by_name = {}  # the assets the file defines, for Asset.ref (first of a name wins)
    assets_by_uri = {}
    running = None  # the context of the try being run (worker side)


_SHIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller():
    """The frame of the DAG file that called into the shim, or None."""
    try:
        fr = sys._getframe(2)
    except ValueError:
        return None
    while fr is not None:
        if not os.path.abspath(fr.f_code.co_filename).startswith(_SHIM):
            return fr
        fr = fr.f_back
    return None


def _caller_line():
    """The line of the DAG file that called into the shim (for messages)."""
    fr = _caller()
    return fr.f_lineno if fr is not None else 0


def current_dag():
    return _Context.dags[-1] if _Context.dags else None


# DAG arguments, as Airflow 2.9 and 3 take them (a name outside these is a
# TypeError, as in Airflow).
_DAG_ARGS = (
    "description", "schedule", "schedule_interval", "timetable", "start_date", "end_date",
    "default_args", "params", "tags", "catchup", "max_active_runs", "max_active_tasks",
    "concurrency", "dagrun_timeout", "is_paused_upon_creation", "on_success_callback",
    "on_failure_callback", "doc_md", "template_searchpath", "user_defined_macros",
    "user_defined_filters", "render_template_as_native_obj", "access_control", "default_view",
    "orientation", "owner_links", "dag_display_name", "auto_register", "fail_stop", "fail_fast",
    "max_consecutive_failed_dag_runs", "jinja_environment_kwargs", "sla_miss_callback",
    "template_undefined", "tags", "deadline", "disable_bundle_versioning", "dag_display_name",
)


class DAG:
    def __init__(self, dag_id=None, *args, **kwargs):
        if args:
            raise TypeError("DAG() takes the DAG id as its only positional argument")
        if not dag_id:
            raise TypeError("DAG() needs a dag_id")
        for k in kwargs:
            if k not in _DAG_ARGS:
                raise TypeError(f"DAG.__init__() got an unexpected keyword argument '{k}'")
        self.dag_id = dag_id
        self._args = {k: v for k, v in kwargs.items() if v is not None}
        self.default_args = dict(kwargs.get("default_args") or {})
        self.params = kwargs.get("params") or {}
        self.tags = list(kwargs.get("tags") or [])
        self.doc_md = kwargs.get("doc_md")
        self.description = kwargs.get("description")
        self.start_date = kwargs.get("start_date") or self.default_args.get("start_date")
        self.task_dict = {}
        self.task_group_dict = {}
        fr = _caller()
        self.line = fr.f_lineno if fr is not None else 0
        self.fileloc = os.path.abspath(fr.f_code.co_filename) if fr is not None else ""
        self.template_searchpath = kwargs.get("template_searchpath")
        self._auto_register = kwargs.get("auto_register", True)

    def __enter__(self):
        _Context.dags.append(self)
        return self

    def __exit__(self, *exc):
        _Context.dags.pop()
        if self._auto_register and exc[0] is None and self not in _Context.registered:
            _Context.registered.append(self)

    def __repr__(self):
        return f"<DAG: {self.dag_id}>"

    @property
    def tasks(self):
        return list(self.task_dict.values())

    @property
    def task_ids(self):
        return list(self.task_dict)

    def get_task(self, task_id):
        return self.task_dict[task_id]

    def has_task(self, task_id):
        return task_id in self.task_dict

    def add_task(self, task):
        if task.task_id in self.task_dict and self.task_dict[task.task_id] is not task:
            raise DuplicateTaskIdFound(f"Task id '{task.task_id}' has already been added to the DAG")
        if task.task_id in self.task_group_dict:
            raise DuplicateTaskIdFound(f"Task id '{task.task_id}' is the id of a task group of the DAG")
        self.task_dict[task.task_id] = task

    def add_tasks(self, tasks):
        for t in tasks:
            self.add_task(t)

    def test(self, *args, **kwargs):
        """Airflow's dag.test(): `gust dags test` runs a DAG; at parse time it does nothing."""
        return None

    def cli(self):
        return None


def dag(dag_id=None, **dag_kwargs):
    """@dag: the decorated function builds the DAG when called; its
    parameters with defaults become the DAG's params, as in Airflow."""

    def wrap(f):
        @functools.wraps(f)
        def factory(*args, **kwargs):
            kw = dict(dag_kwargs)
            if kw.get("doc_md") is None and f.__doc__:
                kw["doc_md"] = inspect.cleandoc(f.__doc__)
            params = dict(kw.get("params") or {})
            for name, p in inspect.signature(f).parameters.items():
                if p.default is not inspect.Parameter.empty and name not in params:
                    params[name] = p.default
            if params:
                kw["params"] = params
            with DAG(dag_id or f.__name__, **kw) as d:
                d.line = _caller_line()
                f(*args, **kwargs)
            return d

        return factory

    if callable(dag_id) and not dag_kwargs:
        f, dag_id = dag_id, None
        return wrap(f)
    return wrap


def _flatten(x):
    if isinstance(x, (list, tuple, set)):
        out = []
        for y in x:
            out.extend(_flatten(y))
        return out
    return [x]


class DependencyMixin:
    def __rshift__(self, other):
        self.set_downstream(other)
        return other

    def __lshift__(self, other):
        self.set_upstream(other)
        return other

    def __rrshift__(self, other):
        self.set_upstream(other)
        return self

    def __rlshift__(self, other):
        self.set_downstream(other)
        return self


def native(f):
    """Marks an operator's execute as one gust runs itself (in Go, or by
    calling its python_callable), not by calling execute on a worker."""
    f._gust_native = True
    return f


def _kind(cls):
    """gust's operator for an operator class: its own for gust's operators;
    python_sensor for a sensor whose poke is Python; python_class for a
    class whose execute is Python (a DAG file's own, or a subclass that
    overrides execute)."""
    if getattr(cls.execute, "_gust_native", False):
        return cls.gust_operator
    if issubclass(cls, BaseSensorOperator) and cls.execute is BaseSensorOperator.execute:
        return "python_sensor"
    return "python_class"


# BaseOperator arguments that a DAG file may also set as attributes after
# building the task (`t.trigger_rule = TriggerRule.NONE_FAILED`).
_BASE_ARGS = frozenset((
    "owner", "retries", "retry_delay", "retry_exponential_backoff", "max_retry_delay", "depends_on_past",
    "wait_for_downstream", "priority_weight", "weight_rule", "queue", "pool", "pool_slots", "execution_timeout",
    "trigger_rule", "do_xcom_push", "doc_md",
))


class BaseOperator(DependencyMixin):
    """An Airflow operator: gust keeps its arguments for the DAG's document;
    a class whose execute is Python has it called on a worker."""

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        if name in _BASE_ARGS and "_kwargs" in self.__dict__:
            if value is None:
                self._kwargs.pop(name, None)
            else:
                self._kwargs[name] = value

    gust_operator = None  # gust's operator name, for the operators gust runs itself
    template_fields = ()
    template_ext = ()
    template_fields_renderers = {}
    ui_color = "#fff"
    ui_fgcolor = "#000"
    operator_extra_links = ()
    shallow_copy_attrs = ()

    def __init__(self, task_id=None, dag=None, default_args=None, task_group=None, params=None, **kwargs):
        if not task_id:
            raise TypeError(f"{type(self).__name__} needs a task_id")
        if kwargs.get("deferrable"):
            unsupported(f"deferrable operators ({type(self).__name__} with deferrable=True)")
        kwargs.pop("deferrable", None)
        wr = kwargs.get("weight_rule")
        if wr is not None and not isinstance(wr, str):
            unsupported(f"custom priority weight strategies (weight_rule={type(wr).__name__})")
        self.gust_kind = _kind(type(self))
        d = dag if dag is not None else (task_group.dag if task_group is not None else current_dag())
        self.task_group = task_group if task_group is not None else current_group(d)
        self.task_id = self.task_group.child_id(task_id) if self.task_group is not None else task_id
        # Airflow's order: the group's default_args, then the task's, then its arguments.
        default_args = {**(self.task_group.default_args if self.task_group is not None else {}), **(default_args or {})}
        self.retry_policy = kwargs.pop("retry_policy", None) or default_args.get("retry_policy")
        merged = {k: v for k, v in default_args.items() if k != "retry_policy"}
        merged.update(kwargs)
        self._kwargs = {k: v for k, v in merged.items() if v is not None}
        self.params = dict(params or {})
        if params:
            self._kwargs["params"] = dict(params)
        for k, v in self._kwargs.items():
            if not hasattr(type(self), k) and k != "params":
                setattr(self, k, v)
        self.upstream_task_ids = set()
        self.downstream_task_ids = set()
        self.line = _caller_line()
        self._dag = None
        if d is not None:
            self.dag = d
        if self.task_group is not None:
            self.task_group.children[self.task_id] = self

    def execute(self, context):
        raise NotImplementedError(f"{type(self).__name__} does not implement execute(context)")

    def pre_execute(self, context):
        """Called before execute: the pre_execute hook given, if any."""
        hook = self._kwargs.get("pre_execute")
        if hook is not None:
            hook(context)

    def post_execute(self, context, result=None):
        """Called after a successful execute with its result: the
        post_execute hook given, if any."""
        hook = self._kwargs.get("post_execute")
        if hook is not None:
            hook(context, result)

    @property
    def log(self):
        import logging

        return logging.getLogger(f"airflow.task.operators.{type(self).__module__}.{type(self).__name__}")

    def xcom_push(self, context, key, value):
        context["ti"].xcom_push(key=key, value=value)

    def xcom_pull(self, context, task_ids=None, key="return_value", **kwargs):
        return context["ti"].xcom_pull(task_ids=task_ids, key=key, **kwargs)

    def render_template(self, content, context=None, jinja_env=None, seen_oids=None):
        """Renders a string (or the strings inside lists and dicts) with the
        try's context, on the worker (gust's templates)."""
        from airflow._gust.runtime import render

        if isinstance(content, str):
            return render(content)
        if isinstance(content, (list, tuple)):
            return type(content)(self.render_template(x, context) for x in content)
        if isinstance(content, dict):
            return {k: self.render_template(v, context) for k, v in content.items()}
        return content

    def get_direct_relative_ids(self, upstream=False):
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    @property
    def dag(self):
        return self._dag

    @dag.setter
    def dag(self, d):
        self._dag = d
        d.add_task(self)

    @property
    def dag_id(self):
        return self._dag.dag_id if self._dag else None

    def _relate(self, others, upstream):
        for t in _flatten(others):
            if isinstance(t, EdgeModifier):
                t._pending(self, upstream)
                continue
            if isinstance(t, TaskGroup):
                for x in (t.get_leaves() if upstream else t.get_roots()):
                    self._relate(x, upstream)
                continue
            t = _as_operator(t)
            if self._dag is None and t._dag is not None:
                self.dag = t._dag
            if t._dag is None and self._dag is not None:
                t.dag = self._dag
            if upstream:
                self.upstream_task_ids.add(t.task_id)
                t.downstream_task_ids.add(self.task_id)
            else:
                self.downstream_task_ids.add(t.task_id)
                t.upstream_task_ids.add(self.task_id)

    def set_downstream(self, others, edge_modifier=None):
        self._relate(others, upstream=False)

    def set_upstream(self, others, edge_modifier=None):
        self._relate(others, upstream=True)

    @property
    def upstream_list(self):
        return [self._dag.task_dict[i] for i in sorted(self.upstream_task_ids)]

    @property
    def downstream_list(self):
        return [self._dag.task_dict[i] for i in sorted(self.downstream_task_ids)]

    @property
    def output(self):
        from airflow._gust.operators import XComArg

        return XComArg(self)

    @classmethod
    def partial(cls, **kwargs):
        """Airflow's Operator.partial(...): the arguments every instance of
        the mapped task shares; .expand() or .expand_kwargs() makes it."""
        return _PartialOperator(cls, kwargs)

    def _gust_unmap(self, mapped):
        """The operator one instance of this mapped task runs: its class
        built with the partial arguments and the instance's (on a worker)."""
        cls, partial = self._gust_partial
        kw = {k: v for k, v in partial.items() if k not in ("dag", "task_group")}
        kw.update(mapped)
        op = cls(**kw)
        op.task_id, op._dag, op.task_group = self.task_id, self._dag, self.task_group
        op.upstream_task_ids, op.downstream_task_ids = set(self.upstream_task_ids), set(self.downstream_task_ids)
        return op

    is_setup = False
    is_teardown = False
    on_failure_fail_dagrun = False

    def as_setup(self):
        self.is_setup = True
        return self

    def as_teardown(self, *, setups=None, on_failure_fail_dagrun=None):
        """Airflow's as_teardown: the task runs when its setups ran, whatever
        the tasks between did (all_done_setup_success); setups= marks those
        as setups and puts them upstream."""
        self.is_teardown = True
        self.trigger_rule = "all_done_setup_success"
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = bool(on_failure_fail_dagrun)
        if setups is not None:
            for s in _flatten(setups):
                s = _as_operator(s)
                s.is_setup = True
                s.set_downstream(self)
        return self

    def __enter__(self):
        """`with teardown_task:` (or a setup): the tasks made inside go
        between the teardown's setups and the teardown, as Airflow's
        setup/teardown context."""
        if not (self.is_setup or self.is_teardown):
            raise RuntimeError("Only setup/teardown tasks can be used as context managers.")
        d = self._dag or current_dag()
        _Context.setup_teardown.append((self, set(d.task_dict) if d is not None else set()))
        return self

    def __exit__(self, *exc):
        _, before = _Context.setup_teardown.pop()
        if exc[0] is not None or self._dag is None:
            return
        tasks = self._dag.task_dict
        setups = [tasks[u] for u in sorted(self.upstream_task_ids) if tasks[u].is_setup] if self.is_teardown else [self]
        new = [t for i, t in tasks.items() if i not in before and t is not self and t not in setups]
        ids = {t.task_id for t in new}
        for t in new:
            if t.upstream_task_ids.isdisjoint(ids):
                for s in setups:
                    s.set_downstream(t)
            if self.is_teardown and t.downstream_task_ids.isdisjoint(ids):
                t.set_downstream(self)

    def __repr__(self):
        return f"<Task({type(self).__name__}): {self.task_id}>"


class _PartialOperator:
    """Operator.partial(...), waiting for .expand() or .expand_kwargs()."""

    def __init__(self, cls, kwargs):
        if not kwargs.get("task_id"):
            raise TypeError(f"{cls.__name__}.partial() needs a task_id")
        self.cls, self.kwargs = cls, kwargs

    def expand(self, **mapped):
        if not mapped:
            raise TypeError("no arguments to expand against")
        return mapped_operator(self.cls, self.kwargs, expand=mapped)

    def expand_kwargs(self, kwargs, *, strict=True):
        return mapped_operator(self.cls, self.kwargs, expand_kwargs=kwargs)


def mapped_operator(cls, partial, expand=None, expand_kwargs=None, into=None):
    """A mapped task (Airflow's MappedOperator): built as cls with the
    partial arguments (and None for the mapped ones it requires), marked
    with what it expands over; each instance is built with its own
    arguments when it runs."""
    import inspect

    from airflow._gust.operators import _xcom_args

    both = sorted(set(partial) & set(expand or {}))
    if both:
        raise TypeError(f"{cls.__name__}: argument {both[0]!r} is both partial and mapped")
    fill = {}
    if into is None:
        required = set()
        for c in cls.__mro__:
            init = c.__dict__.get("__init__")
            if init is None or c is object:
                continue
            for n, p in inspect.signature(init).parameters.items():
                if n != "self" and p.default is p.empty and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                    required.add(n)
        names = set(expand) if expand is not None else required - set(partial)
        fill = {n: None for n in names & required}
    op = cls(**partial, **fill) if into is None else cls(**partial)
    op._gust_partial = (cls, dict(partial))
    op._gust_expand, op._gust_expand_kwargs, op._gust_map_into = expand, expand_kwargs, into
    for x in _xcom_args([expand, expand_kwargs], []):
        op.set_upstream(x.operator)
    return op


def _as_operator(x):
    if isinstance(x, BaseOperator):
        return x
    op = getattr(x, "operator", None)  # an XComArg
    if isinstance(op, BaseOperator):
        return op
    raise TypeError(f"cannot set a dependency on {x!r}: want a task or a list of tasks")


class PokeReturnValue:
    """A sensor's poke result with the XCom it pushes when done."""

    def __init__(self, is_done, xcom_value=None):
        self.is_done, self.xcom_value = is_done, xcom_value

    def __bool__(self):
        return bool(self.is_done)


def _seconds(v):
    return v.total_seconds() if isinstance(v, _dt.timedelta) else float(v)


class BaseSensorOperator(BaseOperator):
    """A sensor: gust pokes it until poke(context) is true, times out or, in
    reschedule mode, hands its slot back between pokes; a DAG file's own
    sensor has its poke called on a worker for each poke."""

    ui_color = "#e6f1f2"
    valid_modes = ("poke", "reschedule")

    def __init__(self, *, poke_interval=None, timeout=None, soft_fail=None, mode=None, exponential_backoff=None,
                 max_wait=None, silent_fail=False, never_fail=False, deferrable=False, **kwargs):
        if deferrable:
            # A sensor that would defer waits in reschedule mode, which
            # frees the worker slot as deferring does.
            mode = "reschedule"
        super().__init__(poke_interval=poke_interval, timeout=timeout, soft_fail=soft_fail, mode=mode,
                         exponential_backoff=exponential_backoff, **kwargs)
        self.poke_interval = 60 if poke_interval is None else poke_interval
        self.timeout = 7 * 24 * 3600 if timeout is None else timeout
        self.soft_fail, self.mode = bool(soft_fail), mode or "poke"
        self.exponential_backoff, self.max_wait = bool(exponential_backoff), max_wait
        self.silent_fail, self.never_fail = silent_fail, never_fail

    def poke(self, context):
        raise NotImplementedError(f"{type(self).__name__} does not implement poke(context)")

    def execute(self, context):
        """Pokes in this process (for a subclass's execute that calls it)."""
        import time

        from airflow.exceptions import AirflowSensorTimeout, AirflowSkipException

        started = time.monotonic()
        while True:
            r = self.poke(context)
            done, value = (r.is_done, r.xcom_value) if isinstance(r, PokeReturnValue) else (bool(r), None)
            if done:
                return value
            if time.monotonic() - started > _seconds(self.timeout):
                msg = f"Sensor has timed out; run duration exceeded the specified timeout of {_seconds(self.timeout)}"
                if self.soft_fail:
                    raise AirflowSkipException(msg)
                raise AirflowSensorTimeout(msg)
            time.sleep(_seconds(self.poke_interval))


def _task_ids(ids):
    if ids is None:
        return []
    if isinstance(ids, str):
        return [ids]
    return [getattr(t, "task_id", t) for t in _flatten(list(ids))]


class SkipMixin:
    def skip(self, dag_run=None, execution_date=None, tasks=(), map_index=-1, ti=None, **kwargs):
        """Skips the given tasks of this run when the try succeeds."""
        if ti is None and dag_run is not None and not hasattr(dag_run, "run_id"):
            ti = dag_run  # Airflow 3's skip(ti, tasks)
        ti = ti or (_Context.running or {}).get("ti")
        ti._gust_skip = sorted(set(getattr(ti, "_gust_skip", [])) | set(_task_ids(tasks)))

    def skip_all_except(self, ti, branch_task_ids):
        """Follows branch_task_ids; the other direct downstream tasks are
        skipped (gust's branch)."""
        ti._gust_branch = _task_ids(branch_task_ids)


class BranchMixIn(SkipMixin):
    def do_branch(self, context, branches_to_execute):
        self.skip_all_except(context["ti"], branches_to_execute)
        return branches_to_execute


class BaseBranchOperator(BaseOperator, BranchMixIn):
    """Follows the task ids choose_branch(context) returns."""

    inherits_from_skipmixin = True

    def choose_branch(self, context):
        raise NotImplementedError(f"{type(self).__name__} does not implement choose_branch(context)")

    def execute(self, context):
        return self.do_branch(context, self.choose_branch(context))


class EdgeModifier(DependencyMixin):
    """Label("...") between two tasks; gust keeps the dependency (edge
    labels are not shown yet)."""

    def __init__(self, label=None):
        self.label = label
        self._ups = []
        self._downs = []

    def _pending(self, task, label_is_upstream):
        """task.set_upstream(label) or task.set_downstream(label)."""
        if label_is_upstream:
            self.set_downstream(task)
        else:
            self.set_upstream(task)

    def set_upstream(self, others, edge_modifier=None):
        for t in _flatten(others):
            self._ups.append(t)
            for d in self._downs:
                d.set_upstream(t)

    def set_downstream(self, others, edge_modifier=None):
        for t in _flatten(others):
            self._downs.append(t)
            for u in self._ups:
                (t if isinstance(t, TaskGroup) else _as_operator(t)).set_upstream(u)


def Label(label):
    return EdgeModifier(label)


def chain(*tasks):
    """Airflow's chain: each element (a task or a list) upstream of the next;
    two lists side by side must be as long and are paired."""
    for up, down in zip(tasks, tasks[1:]):
        ups, downs = isinstance(up, (list, tuple)), isinstance(down, (list, tuple))
        if ups and downs:
            if len(up) != len(down):
                raise ValueError(f"chain: lists of different lengths ({len(up)} and {len(down)})")
            for a, b in zip(up, down):
                a.set_downstream(b)
        elif ups:
            for a in up:
                a.set_downstream(down)
        else:
            up.set_downstream(down)


def chain_linear(*elements):
    """Airflow's chain_linear: every task of each element upstream of every
    task of the next."""
    if len(elements) < 2:
        raise ValueError("chain_linear needs at least two elements")
    for up, down in zip(elements, elements[1:]):
        for a in _flatten(up):
            a.set_downstream(down)


def cross_downstream(from_tasks, to_tasks):
    for t in from_tasks:
        t.set_downstream(to_tasks)


class Param:
    """A DAG param with its JSON schema."""

    def __init__(self, default=_UNSET, description=None, **schema):
        self.value = None if default is _UNSET else default
        self.has_default = default is not _UNSET
        self.description = description
        self.schema = schema

    def to_spec(self):
        out = {"__gust_param__": True}  # dagspec.ParamMarker: a schema whatever its keys
        if self.has_default:
            out["default"] = self.value
        if self.description is not None:
            out["description"] = self.description
        out.update(self.schema)
        if not self.has_default and "type" not in out:
            out["default"] = None
        return out

    def resolve(self, value=_UNSET, suppress_exception=False):
        return self.value if value is _UNSET else value


class ParamsDict(dict):
    pass


def current_group(d):
    """The innermost `with TaskGroup` block of DAG d being built, or None."""
    for g in reversed(_Context.groups):
        if g.dag is d:
            return g
    return None


class TaskGroup(DependencyMixin):
    """Airflow's TaskGroup: tasks made inside it (or given task_group=) get
    its id and a dot before theirs when prefix_group_id, and its
    default_args under their own; a dependency on the group binds to its
    roots (upstream) or leaves (downstream) when it is set."""

    def __init__(self, group_id=None, prefix_group_id=True, parent_group=None, dag=None, default_args=None,
                 tooltip="", ui_color="CornflowerBlue", ui_fgcolor="#000", add_suffix_on_collision=False,
                 group_display_name=None):
        d = dag or (parent_group.dag if parent_group is not None else None) or current_dag()
        if d is None:
            raise RuntimeError(f"TaskGroup {group_id!r} needs a DAG: build it inside `with DAG(...)` or give dag=")
        if not group_id or not isinstance(group_id, str):
            raise ValueError("TaskGroup needs a group_id (a string)")
        self.dag = d
        self.parent_group = parent_group if parent_group is not None else current_group(d)
        self.prefix_group_id = prefix_group_id
        self.default_args = dict(self.parent_group.default_args) if self.parent_group is not None else {}
        self.default_args.update(default_args or {})
        self.tooltip, self.ui_color, self.ui_fgcolor = tooltip, ui_color, ui_fgcolor
        self.children = {}
        self.upstream_task_ids, self.downstream_task_ids = set(), set()
        self._group_id = group_id
        groups = d.task_group_dict
        if add_suffix_on_collision:
            base, n = group_id, 0
            while self.group_id in groups or self.group_id in d.task_dict:
                n += 1
                self._group_id = f"{base}__{n}"
        if self.group_id in groups or self.group_id in d.task_dict:
            raise DuplicateTaskIdFound(f"group_id '{self.group_id}' has already been added to the DAG")
        groups[self.group_id] = self
        if self.parent_group is not None:
            self.parent_group.children[self.group_id] = self
        self.line = _caller_line()

    @property
    def group_id(self):
        if self.parent_group is not None and self.parent_group.prefix_group_id:
            return self.parent_group.child_id(self._group_id)
        return self._group_id

    node_id = group_id

    @property
    def label(self):
        return self._group_id

    def child_id(self, label):
        return f"{self.group_id}.{label}" if self.prefix_group_id else label

    def __enter__(self):
        _Context.groups.append(self)
        return self

    def __exit__(self, *exc):
        _Context.groups.remove(self)

    def __iter__(self):
        for c in list(self.children.values()):
            if isinstance(c, TaskGroup):
                yield from c
            else:
                yield c

    def __repr__(self):
        return f"<TaskGroup: {self.group_id}>"

    def get_roots(self):
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if t.upstream_task_ids.isdisjoint(ids)]

    def get_leaves(self):
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if t.downstream_task_ids.isdisjoint(ids)]

    roots = property(get_roots)
    leaves = property(get_leaves)

    def get_child_by_label(self, label):
        return self.children[self.child_id(label)]

    def set_upstream(self, others, edge_modifier=None):
        for t in self.get_roots():
            t.set_upstream(others)

    def set_downstream(self, others, edge_modifier=None):
        for t in self.get_leaves():
            t.set_downstream(others)

    def expand(self, *args, **kwargs):
        unsupported("dynamic task mapping (mapped task groups)")

    partial = expand_kwargs = expand


def task_group(python_callable=None, **tg_kwargs):
    """@task_group: calling the function builds its tasks inside a new
    TaskGroup (named after the function, suffixed __1, __2 when called
    again); the call returns what the function returns, else the group."""

    def wrap(f, defaults=tg_kwargs):
        @functools.wraps(f)
        def call(*args, **kwargs):
            kw = dict(defaults)
            kw.setdefault("add_suffix_on_collision", True)
            with TaskGroup(kw.pop("group_id", None) or f.__name__, **kw) as tg:
                if f.__doc__ and not tg.tooltip:
                    tg.tooltip = f.__doc__
                ret = f(*args, **kwargs)
            return tg if ret is None else ret

        def override(**more):
            merged = dict(defaults)
            merged.update(more)
            return wrap(f, merged)

        call.override = override
        call.expand = lambda **mapped: _mapped_group(f, defaults, {}, expand=mapped)
        call.expand_kwargs = lambda kwargs, *, strict=True: _mapped_group(f, defaults, {}, expand_kwargs=kwargs)
        call.partial = lambda **partial: _PartialGroup(f, defaults, partial)
        call.loop = lambda *a, **k: unsupported("task loops (.loop)")
        call.function = f
        return call

    if callable(python_callable):
        return wrap(python_callable)
    return wrap


class MappedArgument:
    """A mapped task group's argument inside its function: each instance of
    a task that takes it gets the value of its map index."""

    def __init__(self, group, name):
        self._group, self._name = group, name

    def __repr__(self):
        return f"MappedArgument({self._group.group_id!r}, {self._name!r})"

    def _gust_doc(self):
        return {"__gust_mapped_arg__": self._name}


class _PartialGroup:
    """@task_group function.partial(...), waiting for .expand() or .expand_kwargs()."""

    def __init__(self, f, defaults, partial):
        self.f, self.defaults, self.partial = f, defaults, partial

    def expand(self, **mapped):
        return _mapped_group(self.f, self.defaults, self.partial, expand=mapped)

    def expand_kwargs(self, kwargs, *, strict=True):
        return _mapped_group(self.f, self.defaults, self.partial, expand_kwargs=kwargs)


def _mapped_group(f, defaults, partial, expand=None, expand_kwargs=None):
    """A mapped task group (Airflow's MappedTaskGroup): the function is
    called once, with a MappedArgument for each mapped parameter; every
    task it makes is mapped over the group's expansion, and an instance
    inside the group follows the instance of the same index upstream."""
    from airflow._gust.operators import _xcom_args

    if expand is not None and not expand:
        raise TypeError("no arguments to expand against")
    if expand is not None:
        both = sorted(set(partial) & set(expand))
        if both:
            raise TypeError(f"{f.__name__}: argument {both[0]!r} is both partial and mapped")
    params = inspect.signature(f).parameters
    names = list(expand) if expand is not None else [n for n in params if n not in partial]
    kw = dict(defaults)
    kw.setdefault("add_suffix_on_collision", True)
    with TaskGroup(kw.pop("group_id", None) or f.__name__, **kw) as tg:
        g = tg.parent_group
        while g is not None:
            if getattr(g, "_gust_expand", None) is not None or getattr(g, "_gust_expand_kwargs", None) is not None:
                unsupported("dynamic task mapping (a mapped task group inside a mapped task group)")
            g = g.parent_group
        tg._gust_expand, tg._gust_expand_kwargs = expand, expand_kwargs
        if f.__doc__ and not tg.tooltip:
            tg.tooltip = f.__doc__
        ret = f(**partial, **{n: MappedArgument(tg, n) for n in names})
    for t in tg:
        if getattr(t, "_gust_partial", None) is not None:
            unsupported("dynamic task mapping (a mapped task inside a mapped task group)")
        t._gust_mapped_group = tg
    for x in _xcom_args([expand, expand_kwargs], []):
        tg.set_upstream(x.operator)
    return tg if ret is None else ret


def _marked(call, mark):
    """A @task function whose tasks are marked as setups or teardowns."""

    @functools.wraps(call)
    def wrapped(*args, **kwargs):
        return mark(call(*args, **kwargs))

    wrapped.override = lambda **more: _marked(call.override(**more), mark)
    for name in ("function", "expand", "partial", "loop"):
        if hasattr(call, name):
            setattr(wrapped, name, getattr(call, name))
    return wrapped


def _as_task_function(f):
    if hasattr(f, "override"):  # @task already, or @task.bash...
        return f
    from airflow._gust.operators import task

    return task(f)


def setup(func):
    """@setup: a @task whose tasks are setups."""
    return _marked(_as_task_function(func), lambda x: x.as_setup())


def teardown(_func=None, *, on_failure_fail_dagrun=False):
    """@teardown: a @task whose tasks are teardowns."""

    def dec(func):
        return _marked(_as_task_function(func), lambda x: x.as_teardown(on_failure_fail_dagrun=on_failure_fail_dagrun))

    return dec(_func) if _func is not None else dec


class Context(dict):
    """A try's context (Airflow's TypedDict, for annotations)."""


class _ParsingContext:
    dag_id = None
    task_id = None


def get_parsing_context():
    """Airflow's get_parsing_context: gust builds every DAG of a file, at
    parse time and on workers, so it names none."""
    return _ParsingContext()


def get_current_context():
    if _Context.running is None:
        raise RuntimeError("Current context was requested but no context was found! Are you running within an Airflow task?")
    return _Context.running


def days_ago(n, hour=0, minute=0, second=0, microsecond=0):
    """Airflow 2's airflow.utils.dates.days_ago: midnight UTC n days ago."""
    today = _dt.datetime.now(_dt.timezone.utc).replace(hour=hour, minute=minute, second=second, microsecond=microsecond)
    return today - _dt.timedelta(days=n)


# Assets live in their own module; their names stay importable from here.
from airflow._gust.assets import (  # noqa: E402,F401
    Asset, AssetAlias, AssetAll, AssetAny, Dataset, DatasetAlias, DatasetAll, DatasetAny, Metadata, _AssetCondition,
)
