"""gust's Python task runner: a warm process that runs tries of Python
tasks, one at a time (Celery's prefork model).

The worker starts it with a Unix socket on fd 3. For each try the worker
sends, over that socket, three pipe ends: the try's output (the callable's
stdout and stderr, the try's log), requests to the worker (one JSON per
line, then the result), and the worker's answers (the job first). The DAG
file of the job is imported once, at the first try, as the DAG processor
imported it; then the task's python_callable is called with Airflow's
context. With --fork each try runs in a fork of this process (the import
stays in the parent), which exits after it.

usage: python3 gust_run.py [--memory-limit BYTES] [--fork --dag-file PATH --fileloc PATH --dags-folder DIR]
"""
import datetime as _dt
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import socket
import sys
import traceback


class RequestError(KeyError):
    """What the worker answered a request with instead of a value."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class Channel:
    """One try's conversation with the worker."""

    def __init__(self, req_fd, resp_fd):
        self.req = os.fdopen(req_fd, "w", buffering=1)
        self.resp = os.fdopen(resp_fd, "r")

    def ask(self, op, **args):
        self.req.write(json.dumps({"op": op, **args}) + "\n")
        self.req.flush()
        line = self.resp.readline()
        if not line:
            raise RuntimeError("the worker went away")
        answer = json.loads(line)
        if answer.get("error"):
            raise RequestError(answer["error"])
        return answer.get("value")

    def close(self):
        for f in (self.req, self.resp):
            try:
                f.close()
            except OSError:
                pass


_channel = None


def ask(op, **args):
    if _channel is None:
        raise RuntimeError("no try is running")
    return _channel.ask(op, **args)


def date(s):
    if not s:
        return None
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def _base(module, name):
    """A class of gust's airflow package, imported when first needed."""
    return getattr(importlib.import_module(module), name)


class TaskInstance(_base("airflow._gust.states", "TaskInstance")):
    """The try's ti: its keys, and XComs through the worker."""

    def __init__(self, job):
        c = job["context"]
        self.dag_id, self.task_id, self.run_id = job["dag_id"], job["task_id"], c["run_id"]
        self.try_number, self.map_index = c["try_number"], c.get("map_index", -1)
        self.hostname = c.get("hostname", "")
        self.pushed = {}
        self.state = "running"
        self.max_tries = c.get("max_tries", 0)
        self.mapped_args = job.get("mapped_args") or {}  # a mapped task group's, for this instance

    def xcom_push(self, key, value, execution_date=None):
        json.dumps(value)  # Airflow's rule: an XCom must be JSON
        self.pushed[key] = value

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value", include_prior_dates=False, map_indexes=None,
                  default=None, run_id=None):
        many = isinstance(task_ids, (list, tuple))
        ids = list(task_ids) if many else [task_ids]
        out = []
        for tid in ids:
            mine = tid == self.task_id and dag_id in (None, self.dag_id)
            if mine and self.pushed and (key is None or key in self.pushed):
                out.append(self.pushed[key] if key is not None else list(self.pushed.values())[-1])
                continue
            if map_indexes is not None and tid:
                # Given instances: each one's value (one index, one value).
                def at(i):
                    v = ask("xcom_pull", task_id=tid, dag_id=dag_id or self.dag_id, key=key or "return_value",
                            run_id=run_id or self.run_id, map_index=int(i))
                    return default if v is None else v

                out.append([at(i) for i in map_indexes] if isinstance(map_indexes, (list, tuple)) else at(map_indexes))
                continue
            # key None is any key (Airflow 2's xcom_pull(key=None)).
            v = ask("xcom_pull", task_id=tid or "", dag_id=dag_id or self.dag_id, key=key or "",
                    run_id=run_id or self.run_id)
            out.append(default if v is None else v)
        return out if many else out[0]

    @property
    def key(self):
        return (self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    def __repr__(self):
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [running]>"


class DagRun(_base("airflow._gust.states", "DagRun")):
    def __init__(self, c, dag_id):
        self.dag_id, self.run_id, self.run_type = dag_id, c["run_id"], c.get("run_type")
        self.conf = c.get("conf") or {}
        self.logical_date = self.execution_date = date(c.get("logical_date"))
        self.data_interval_start = date(c.get("data_interval_start"))
        self.data_interval_end = date(c.get("data_interval_end"))
        self.external_trigger = self.run_type == "manual"

    def __repr__(self):
        return f"<DagRun {self.dag_id} @ {self.logical_date}: {self.run_id}>"


class _Macros:
    import datetime
    import json
    import random
    import time
    import uuid

    timedelta = _dt.timedelta

    @staticmethod
    def ds_add(ds, days):
        return (_dt.date.fromisoformat(ds) + _dt.timedelta(days=days)).isoformat()

    @staticmethod
    def ds_format(ds, input_format, output_format):
        return _dt.datetime.strptime(ds, input_format).strftime(output_format)


# Context keys the worker answers only when a callable asks for them.
_LAZY = ("prev_data_interval_start_success", "prev_data_interval_end_success")


class Context(_base("airflow._gust.model", "Context")):
    """Airflow's context; the previous successful run's keys are looked up
    when first read."""

    def _fetch(self):
        v = ask("prev_success") or {}
        for k in _LAZY:
            dict.__setitem__(self, k, date(v.get(k)))

    def __missing__(self, key):
        if key in _LAZY:
            self._fetch()
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key, default=None):
        if key in _LAZY and not dict.__contains__(self, key):
            self._fetch()
        return dict.get(self, key, default)

    def __contains__(self, key):
        return key in _LAZY or dict.__contains__(self, key)

    def kwargs(self):
        """All of it, for **context: what is not fetched yet as proxies
        (Airflow's lazy_object_proxy) that fetch it when used."""
        out = dict(self)
        for k in _LAZY:
            if k not in out:
                out[k] = _Lazy(lambda k=k: self[k])
        return out


class _Lazy:
    """A value computed when first used, standing in for it."""

    __slots__ = ("_f", "_v", "_done")

    def __init__(self, f):
        object.__setattr__(self, "_f", f)
        object.__setattr__(self, "_done", False)

    def _get(self):
        if not self._done:
            object.__setattr__(self, "_v", self._f())
            object.__setattr__(self, "_done", True)
        return self._v

    def __getattr__(self, name):
        return getattr(self._get(), name)

    @property
    def __class__(self):
        return type(self._get())

    def __bool__(self):
        return bool(self._get())

    def __str__(self):
        return str(self._get())

    def __repr__(self):
        return repr(self._get())

    def __format__(self, spec):
        return format(self._get(), spec)

    def __eq__(self, other):
        return self._get() == other

    def __ne__(self, other):
        return self._get() != other

    def __lt__(self, other):
        return self._get() < other

    def __le__(self, other):
        return self._get() <= other

    def __gt__(self, other):
        return self._get() > other

    def __ge__(self, other):
        return self._get() >= other

    def __hash__(self):
        return hash(self._get())

    def __sub__(self, other):
        return self._get() - other

    def __rsub__(self, other):
        return other - self._get()

    def __add__(self, other):
        return self._get() + other

    def __radd__(self, other):
        return other + self._get()


class _SourceRun:
    def __init__(self, dag_id, run_id):
        self.dag_id, self.run_id = dag_id, run_id


class AssetEvent:
    """An asset event a run was triggered by (Airflow's AssetEvent)."""

    def __init__(self, e):
        from airflow._gust.model import Asset

        self.id, self.asset_id = e.get("id"), e.get("asset_id")
        self.asset = Asset(name=e.get("name"), uri=e.get("uri"), group=e.get("group") or "asset")
        self.uri, self.extra = e.get("uri"), e.get("extra") or {}
        self.source_dag_id, self.source_task_id = e.get("source_dag_id"), e.get("source_task_id")
        self.source_run_id, self.source_map_index = e.get("source_run_id"), e.get("source_map_index", -1)
        self.timestamp = date(e.get("timestamp"))
        self.source_dag_run = _SourceRun(self.source_dag_id, self.source_run_id) if self.source_dag_id else None

    def __repr__(self):
        return f"AssetEvent(uri={self.uri!r}, source_dag_id={self.source_dag_id!r}, extra={self.extra!r})"


class TriggeringAssetEvents(dict):
    """triggering_asset_events: the run's events by Asset; an asset's URI
    (or name) reads them too."""

    def __getitem__(self, key):
        uri = getattr(key, "uri", key)
        for a, evs in self.items():
            if a.uri == uri or a.name == uri:
                return evs
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


def triggering_events(raw):
    out = TriggeringAssetEvents()
    for evs in (raw or {}).values():
        events = [AssetEvent(e) for e in evs]
        if events:
            dict.__setitem__(out, events[0].asset, events)
    return out


def asset_events(uri, alias):
    """The events of an asset or alias, oldest first (inlet_events)."""
    return [AssetEvent(e) for e in (ask("asset_events", uri=uri or "", alias=alias or "") or [])]


def build_context(job, dag, task, ti):
    from airflow._gust.assets import InletEventsAccessors, OutletEventAccessors, from_ref

    c = job["context"]
    inlets = [from_ref(r) for r in job.get("inlets") or []]
    outlets = [from_ref(r) for r in job.get("outlets") or []]
    logical = date(c.get("logical_date"))
    ctx = Context({k: c[k] for k in ("ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id",
                             "task_instance_key_str") if k in c})
    ctx.update({
        "logical_date": logical, "execution_date": logical,
        "data_interval_start": date(c.get("data_interval_start")), "data_interval_end": date(c.get("data_interval_end")),
        "params": c.get("params") or {}, "dag_run": DagRun(c, job["dag_id"]), "ti": ti, "task_instance": ti,
        "task": task, "dag": dag, "conf": None, "macros": _Macros, "map_index_template": None,
        "inlets": inlets, "outlets": outlets, "outlet_events": OutletEventAccessors(outlets),
        "inlet_events": InletEventsAccessors(inlets, asset_events),
        "triggering_asset_events": triggering_events(c.get("triggering_asset_events")),
        "var": {"value": _Vars(False), "json": _Vars(True)},
    })
    return ctx


class _Vars:
    def __init__(self, js):
        self.js = js

    def get(self, key, default=None):
        from airflow._gust.runtime import Variable

        return Variable.get(key, default, deserialize_json=self.js)

    def __getattr__(self, key):
        return self.get(key)


def same_mapped_group(dag, a, b):
    """Whether tasks a and b are in the same mapped task group."""
    tasks = getattr(dag, "task_dict", None) or {}
    ga = getattr(tasks.get(a), "_gust_mapped_group", None)
    return ga is not None and getattr(tasks.get(b), "_gust_mapped_group", None) is ga


def resolve(v, ti, dag=None):
    if isinstance(v, dict):
        if set(v) == {"__gust_mapped_arg__"}:
            name = v["__gust_mapped_arg__"]
            if name not in ti.mapped_args:
                raise RuntimeError(f"the mapped task group argument {name!r} has no value for {ti.task_id}[{ti.map_index}]")
            return ti.mapped_args[name]
        if set(v) == {"__gust_xcomarg__"}:
            x = v["__gust_xcomarg__"]
            # From a task of the same mapped task group: its instance of
            # this index (Airflow's relevant upstream map index).
            same = ti.map_index >= 0 and same_mapped_group(dag, ti.task_id, x["task_id"])
            value = ti.xcom_pull(task_ids=x["task_id"], key=x["key"], map_indexes=ti.map_index if same else None)
            if x.get("map_fn") is not None:
                from airflow._gust.operators import map_items

                value = map_items(map_fns(dag, x["map_fn"]), value)
            return value
        return {k: resolve(x, ti, dag) for k, x in v.items()}
    if isinstance(v, list):
        return [resolve(x, ti, dag) for x in v]
    return v


def map_fns(dag, fn_id):
    """The XComArg.map callables the DAG file registered as fn_id."""
    fns = getattr(dag, "_gust_map_fns", None) or []
    i = int(fn_id)
    if i >= len(fns):
        raise RuntimeError(f"XComArg.map callables {fn_id} are not in DAG {getattr(dag, 'dag_id', '?')} as its file defines it now")
    return fns[i]


_dags = {}  # DAG file -> {dag_id: DAG}, imported once per process


def load_dags(job):
    from airflow._gust import model

    path = job["dag_file"]
    if path in _dags:
        return _dags[path]
    for p in (job.get("dags_folder"), os.path.dirname(path)):
        if p and os.path.isdir(p) and p not in sys.path:
            sys.path.insert(1, p)
    name = "unusual_prefix_" + hashlib.sha1(job.get("fileloc", path).encode()).hexdigest() + "_" + \
        os.path.splitext(os.path.basename(path))[0]
    model._Context.registered = []
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    dags = {d.dag_id: d for d in model._Context.registered}
    for v in vars(mod).values():
        if isinstance(v, model.DAG):
            dags.setdefault(v.dag_id, v)
    _dags[path] = dags
    return dags


_callables = {}  # (file or module, name) -> function


class _YamlDag:
    """What the context's dag is for a YAML file's task."""

    def __init__(self, dag_id):
        self.dag_id = dag_id
        self.task_dict = {}

    def __repr__(self):
        return f"<DAG: {self.dag_id}>"


class _YamlTask:
    def __init__(self, dag, task_id, f):
        self.dag, self.dag_id, self.task_id, self.python_callable = dag, dag.dag_id, task_id, f
        self.operator_name = "PythonOperator"
        dag.task_dict[task_id] = self

    def __repr__(self):
        return f"<Task(PythonOperator): {self.task_id}>"


def import_callable(job, name, path=None, module=None):
    """A YAML file's callable, imported once per process: name in the
    file path (dag-factory's *_file), or in the importable module."""
    key = (path or module, name)
    f = _callables.get(key)
    if f is not None:
        return f
    if job.get("dags_folder") and os.path.isdir(job["dags_folder"]) and job["dags_folder"] not in sys.path:
        sys.path.insert(1, job["dags_folder"])
    if path:
        modname = "gust_callable_" + hashlib.sha1(path.encode()).hexdigest()[:16]
        mod = sys.modules.get(modname)
        if mod is None:
            spec = importlib.util.spec_from_file_location(modname, path)
            if spec is None:
                raise ImportError(f"cannot import {path}")
            mod = importlib.util.module_from_spec(spec)
            sys.modules[modname] = mod
            try:
                spec.loader.exec_module(mod)
            except BaseException:
                del sys.modules[modname]
                raise
    else:
        mod = importlib.import_module(module)
    try:
        f = getattr(mod, name)
    except AttributeError:
        raise AttributeError(f"{path or module} has no callable {name!r}") from None
    if not callable(f):
        raise TypeError(f"{name} in {path or module} is not callable")
    _callables[key] = f
    return f


def yaml_task(job):
    """A YAML file's task: dag-factory's python_callable_name in
    python_callable_file, or a dotted python_callable."""
    f = import_callable(job, job["callable_name"], job.get("callable_file"), job.get("callable_module"))
    dag = _YamlDag(job["dag_id"])
    return dag, _YamlTask(dag, job["task_id"], f)


def yaml_callbacks(job):
    """A YAML file's callbacks, as dag-factory builds them: a callable
    given arguments is bound to them, or, when it is a notifier class
    (it has notify), built with them."""
    import functools

    cbs = []
    for c in job["callables"]:
        f = import_callable(job, c["name"], c.get("file"), c.get("module"))
        kwargs = c.get("kwargs")
        if kwargs:
            f = f(**kwargs) if hasattr(f, "notify") else functools.partial(f, **kwargs)
        cbs.append(f)
    return cbs


_try_copies = {}  # (dag_id, task_id) -> (try key, the task's copy for that try)


def try_copy(task, ti):
    """The task's copy for ti's try: made at its first call, kept for its
    further pokes."""
    import copy

    key = (ti.dag_id, ti.run_id, ti.try_number, ti.map_index)
    held = _try_copies.get((ti.dag_id, ti.task_id))
    if held is not None and held[0] == key and held[1].__class__ is task.__class__:
        return held[1]
    c = copy.copy(task)
    _try_copies[(ti.dag_id, ti.task_id)] = (key, c)
    return c


def retry_policy(result, e, job, dag, task, context):
    """The task's retry_policy (or its DAG's default_args') decides: FAIL
    fails the try without retry, RETRY may set the delay before the next."""
    policy = getattr(task, "retry_policy", None) or (getattr(dag, "default_args", None) or {}).get("retry_policy")
    if policy is None:
        return result
    c = job.get("context") or {}
    try:
        d = policy.evaluate(exception=e, try_number=c.get("try_number", 1), max_tries=c.get("max_tries", 0), context=context)
    except Exception:  # noqa: BLE001 - a broken policy leaves the task's retries to decide
        print("The retry policy raised; the task's retries apply:", flush=True)
        traceback.print_exc()
        return result
    action = getattr(getattr(d, "action", None), "value", "default")
    print(f"Retry policy decided {action}" + (f": {d.reason}" if getattr(d, "reason", None) else ""), flush=True)
    if action == "fail":
        result["no_retry"] = True
    elif action == "retry" and getattr(d, "retry_delay", None) is not None:
        delay = d.retry_delay
        result["retry_delay"] = delay.total_seconds() if isinstance(delay, _dt.timedelta) else float(delay)
    return result


def poked(r):
    """A poke's XCom and whether it is done (a PokeReturnValue or a truth)."""
    from airflow._gust.model import PokeReturnValue

    if isinstance(r, PokeReturnValue):
        return (r.xcom_value if r.is_done else None), bool(r.is_done)
    return None, bool(r)


def failed(e, result, **extra):
    """The result of a try or callback that raised e, its traceback in the log."""
    traceback.print_exc()
    return {"op": "done", "state": "failed", "retire": result.get("retire", False),
            "error": "".join(traceback.format_exception_only(type(e), e)).strip(), **extra}


def run_callback(job):
    """Calls the DAG file's callback for the job's task (or DAG) with the
    context, as Airflow does: callback(context), each of a list in order."""
    from airflow._gust import model
    from airflow.exceptions import AirflowException

    result = {"op": "done", "state": "failed"}
    try:
        try:
            if job.get("callables"):
                cbs = yaml_callbacks(job)
            else:
                dags = load_dags(job)
        except BaseException:  # noqa: B902 - the import is broken
            result["retire"] = True
            raise
        key, task = job["callback"], None
        if job.get("callables"):
            dag = _YamlDag(job["dag_id"])
            if not job.get("dag_callback"):
                task = _YamlTask(dag, job["task_id"], None)
        else:
            dag = dags.get(job["dag_id"])
            if dag is None:
                raise RuntimeError(f"DAG {job['dag_id']} is not in its file as this version defines it")
            if job.get("dag_callback"):
                cbs = dag._args.get(key)
            else:
                task = dag.task_dict.get(job["task_id"])
                if task is None:
                    raise RuntimeError(f"task {job['task_id']} is not in DAG {job['dag_id']} as its file defines it now")
                cbs = task._kwargs.get(key) or dag.default_args.get(key)
        if not cbs and key != "xcomarg_map":
            raise RuntimeError(f"{key} is not set in the DAG file as this version defines it")
        ti = TaskInstance(job)
        context = build_context(job, dag, task, ti)
        reason = job.get("reason") or ""
        context["reason"] = reason
        if key == "on_failure_callback" or key == "on_retry_callback":
            context["exception"] = AirflowException(reason) if reason else None
        model._Context.running = context
        if key == "xcomarg_map":
            # One mapped instance's item, through the file's XComArg.map
            # callables.
            from airflow._gust.operators import apply_fns
            from airflow.exceptions import AirflowSkipException

            arg = job.get("result") or {}
            try:
                v = apply_fns(map_fns(dag, arg.get("map_fn")), arg.get("item"))
            except AirflowSkipException as e:
                return {"op": "done", "state": "skipped", "error": str(e)}
            json.dumps(v)
            return {"op": "done", "state": "success", "value": v}
        if key in ("pre_execute", "post_execute"):
            # An operator the worker runs itself: its hook, whose outlet
            # events the worker records with the success.
            args = (context,) if key == "pre_execute" else (context, job.get("result"))
            (cbs if callable(cbs) else cbs[0])(*args)
            return {"op": "done", "state": "success", "outlet_events": context["outlet_events"]._gust_report()}
        for cb in (cbs if isinstance(cbs, (list, tuple)) else [cbs]):
            cb(context)
        result = {"op": "done", "state": "success"}
    except BaseException as e:  # noqa: B902 - the callback failed; logged by the worker
        result = failed(e, result)
    finally:
        model._Context.running = None
    return result


def execute(job):
    """Runs the job's callable; returns the result for the worker."""
    from airflow._gust import model
    from airflow._gust.runtime import call
    from airflow.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

    if job.get("callback"):
        return run_callback(job)
    result = {"op": "done", "state": "failed"}
    dag = task = context = None
    try:
        try:
            if job.get("callable_name"):
                dag, task = yaml_task(job)
            else:
                dags = load_dags(job)
        except BaseException:  # noqa: B902 - the import is broken: a fresh process imports again
            result["retire"] = True
            raise
        if not job.get("callable_name"):
            dag = dags.get(job["dag_id"])
            if dag is None or job["task_id"] not in dag.task_dict:
                raise RuntimeError(f"task {job['task_id']} is not in DAG {job['dag_id']} as its file defines it now")
            task = dag.task_dict[job["task_id"]]
        ti = TaskInstance(job)
        context = build_context(job, dag, task, ti)
        context["map_index_template"] = job.get("map_index_template") or None
        base = set(context)
        kind = job.get("kind")
        model._Context.running = context
        condition = None
        if kind in ("python_class", "python_sensor") and not job.get("callable_name"):
            # A class's execute (or poke), its template_fields as rendered,
            # on a copy for this try (Airflow's prepare_for_execution), so
            # that what one try sets on self does not reach the next; a
            # sensor's pokes within a try share theirs.
            if job.get("mapped_kwargs") is not None and hasattr(task, "_gust_partial"):
                # One instance of a mapped task: its operator built with
                # the instance's arguments (Airflow's unmap).
                task = task._gust_unmap(resolve(job["mapped_kwargs"], ti, dag))
            else:
                task = try_copy(task, ti)
            context["task"] = task
            for k, v in resolve(job.get("template_fields") or {}, ti, dag).items():
                setattr(task, k, v)
            if kind == "python_sensor":
                value, condition = poked(task.poke(context))
            else:
                hooks(task, "pre_execute", context)
                value = task.execute(context)
                hooks(task, "post_execute", context, value)
        else:
            op_args = resolve(job.get("op_args") or [], ti, dag)
            op_kwargs = resolve(job.get("op_kwargs") or {}, ti, dag)
            context.update(op_kwargs)
            context["templates_dict"] = resolve(job.get("templates_dict"), ti, dag)
            hooks(task, "pre_execute", context)
            value = call(task.python_callable, op_args, context)
            if inspect.isgeneratorfunction(task.python_callable):
                value = metadata_of(value, context)
            hooks(task, "post_execute", context, value)
            if kind == "python_sensor":
                value, condition = poked(value)
        if job.get("show_return_value_in_logs", True) and kind in ("python", "branch_python", "short_circuit_python"):
            print(f"Done. Returned value was: {value}", flush=True)
        xcoms = dict(ti.pushed)
        if value is not None and job.get("do_xcom_push", True):
            if job.get("multiple_outputs"):
                if not isinstance(value, dict):
                    raise TypeError(f"Returned output was type {type(value)} expected dictionary for multiple_outputs")
                for k, v in value.items():
                    if not isinstance(k, str):
                        raise TypeError(f"Returned dictionary keys must be strings when using multiple_outputs, found {k} ({type(k)}) instead")
                    xcoms[k] = v
            xcoms["return_value"] = value
        try:
            json.dumps(xcoms)
        except (TypeError, ValueError) as e:
            raise TypeError(f"the return value of {task.task_id} cannot be stored as an XCom (JSON): {e}") from None
        result = {"op": "done", "state": "success", "xcoms": xcoms,
                  "outlet_events": context["outlet_events"]._gust_report()}
        if hasattr(ti, "_gust_branch"):
            result["branch"] = ti._gust_branch
        if hasattr(ti, "_gust_skip"):
            result["skip"] = ti._gust_skip
        if kind == "python_sensor":
            result["condition"] = condition
        elif kind == "branch_python":
            result["branch"] = [] if value is None else ([value] if isinstance(value, str) else list(value))
        elif kind == "short_circuit_python":
            result["condition"] = bool(value)
    except AirflowSkipException as e:
        print(f"Skipping: {e}", flush=True)
        result = {"op": "done", "state": "skipped", "error": str(e) or "AirflowSkipException"}
    except (AirflowFailException, AirflowSensorTimeout) as e:
        result = failed(e, result, no_retry=True)
    except BaseException as e:  # noqa: B902 - SystemExit too: the try failed
        result = retry_policy(failed(e, result), e, job, dag, task, context)
    finally:
        model._Context.running = None
        if context is not None and context.get("map_index_template"):
            result["map_index_context"] = map_index_context(context, base)
    return result


def map_index_context(context, base):
    """What a mapped try's map_index_template renders with, beyond what the
    worker knows: the template as the try left it and what it added to its
    context (the JSON-serializable names)."""
    added = {}
    for k, v in context.items():
        if k in base:
            continue
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            continue
        added[k] = v
    return {"template": str(context["map_index_template"]), "vars": added}


def hooks(task, name, context, *result):
    """Calls the operator's pre_execute or post_execute (its own method, or
    the hook given to it), as Airflow does around execute."""
    f = getattr(task, name, None)
    if callable(f):
        f(context, *result)


def metadata_of(gen, context):
    """Runs a task that yields: each Metadata gives an outlet's event its
    extra (and attaches the asset to its alias); the rest is the return
    value, as a list (Airflow's ExecutionCallableRunner)."""
    from airflow._gust.assets import Metadata

    out = []
    for v in gen:
        if isinstance(v, Metadata):
            context["outlet_events"][v.asset].extra.update(v.extra)
            if v.alias is not None:
                context["outlet_events"][v.alias].add(v.asset, extra=v.extra)
            continue
        out.append(v)
    return out


def run_try(fds):
    """One try: its output on fds[0], the conversation on fds[1] and fds[2]."""
    global _channel
    out, req, resp = fds
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    _channel = Channel(req, resp)
    env, cwd = dict(os.environ), os.getcwd()
    result = {"op": "done", "state": "failed", "error": "the runner failed", "retire": True}
    try:
        line = _channel.resp.readline()
        if not line:
            return
        job = json.loads(line)
        if job.get("env") is not None:
            os.environ.clear()
            os.environ.update(job["env"])
        if job.get("cwd"):
            os.chdir(job["cwd"])
        result = execute(job)
    except BaseException as e:  # noqa: B902 - reported, and this process retires
        traceback.print_exc()
        result["error"] = f"the runner failed: {e}"
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            _channel.req.write(json.dumps(result) + "\n")
            _channel.req.flush()
        except (OSError, ValueError, TypeError):
            pass
        os.environ.clear()
        os.environ.update(env)
        try:
            os.chdir(cwd)
        except OSError:
            pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
        _channel.close()
        _channel = None
    return result


def main():
    args = sys.argv[1:]
    fork = "--fork" in args
    if "--memory-limit" in args:
        from gust_parse import limit_memory  # the parser's, next to this file

        limit_memory(int(args[args.index("--memory-limit") + 1]))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s")
    from airflow._gust import model
    import airflow.exceptions  # noqa: F401 - imported once, before the first try

    model._Context.ask = ask
    if fork and "--dag-file" in args:
        # The DAG file is imported here once, so that each try's fork has
        # it; a file that fails to import here fails in each try, saying why.
        preload = {"dag_file": args[args.index("--dag-file") + 1]}
        for flag in ("--fileloc", "--dags-folder"):
            if flag in args:
                preload[flag[2:].replace("-", "_")] = args[args.index(flag) + 1]
        try:
            load_dags(preload)
        except BaseException:  # noqa: B902 - reported by the tries
            _dags.clear()
        import gc

        gc.freeze()  # the forks share the import (no copy-on-write by the collector)
    ctrl = socket.socket(fileno=3)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctrl, 1, 3)
        except (OSError, InterruptedError):
            return
        if not msg:
            return  # the worker is gone
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        if not fork:
            result = run_try(fds)
            if result and result.get("retire"):
                return
            continue
        pid = os.fork()
        if pid == 0:
            ctrl.close()
            try:
                run_try(fds)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
