"""Turns the DAGs a file built into gust's dag-factory document (JSON)."""
import datetime as _dt
import enum
import os

from airflow._gust.model import BaseOperator, Param, _Context, unsupported

# Arguments given as timedeltas, and the name gust's document gives them in
# seconds.
_SECONDS = {
    "retry_delay": "retry_delay_sec", "max_retry_delay": "max_retry_delay_sec",
    "execution_timeout": "execution_timeout_secs", "dagrun_timeout": "dagrun_timeout_sec",
    "poke_interval": "poke_interval", "timeout": "timeout", "execution_delta": "execution_delta",
    "delta": "delta",
}

_CALLBACKS = ("on_success_callback", "on_failure_callback", "on_retry_callback",
              "on_execute_callback", "on_skipped_callback", "sla_miss_callback")
# The callbacks gust runs (a DAG has the first two).
_RUN_CALLBACKS = ("on_success_callback", "on_failure_callback", "on_retry_callback")


def tz_name(t):
    tz = getattr(t, "tzinfo", None)
    if tz is None:
        return None
    key = getattr(tz, "key", None) or getattr(tz, "name", None) or getattr(tz, "zone", None)
    if key:
        return "UTC" if key in ("UTC", "Etc/UTC", "+00:00") else key
    if t.utcoffset() == _dt.timedelta(0):
        return "UTC"
    return None


def date(t):
    """ISO 8601; an aware datetime keeps its offset, a naive one is UTC
    (Airflow's default_timezone)."""
    if isinstance(t, _dt.datetime):
        return t.isoformat() if t.tzinfo is not None else t.isoformat() + "+00:00"
    if isinstance(t, _dt.date):
        return t.isoformat()
    return t


def value(v, where):
    """A JSON value for gust's document, or an error naming the argument."""
    if isinstance(v, enum.Enum):
        return v.value
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, _dt.timedelta):
        return v.total_seconds()
    if isinstance(v, (_dt.datetime, _dt.date)):
        return date(v)
    if isinstance(v, Param):
        return v.to_spec()
    if isinstance(v, dict):
        return {str(k): value(x, f"{where}[{k!r}]") for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [value(x, where) for x in (sorted(v, key=str) if isinstance(v, (set, frozenset)) else v)]
    from airflow._gust.model import MappedArgument, _AssetCondition
    from airflow._gust.operators import _NOTSET, XComArg, _ZipArg

    if isinstance(v, (_AssetCondition, MappedArgument)):
        return v._gust_doc()

    if isinstance(v, XComArg):
        ref = {"task_id": v.operator.task_id, "key": v.key}
        if getattr(v, "fn_id", None) is not None:
            ref["map_fn"] = v.fn_id  # XComArg.map's callables, which the worker applies
        return {"__gust_xcomarg__": ref}
    if isinstance(v, _ZipArg):
        z = {"args": [value(a, where) for a in v.args], "longest": v.fillvalue is not _NOTSET}
        if v.fillvalue is not _NOTSET:
            z["fillvalue"] = value(v.fillvalue, where)
        return {"__gust_zip__": z}
    if callable(v):
        unsupported(f"a Python callable as {where}")
    from airflow._gust.model import TaskGroup

    if isinstance(v, TaskGroup):
        return str(v)  # Airflow's serializer casts what it cannot store to str
    raise TypeError(f"{where}: gust cannot store a {type(v).__name__} ({v!r})")


def _is_asset(v):
    from airflow._gust.model import _AssetCondition

    return isinstance(v, _AssetCondition)


def args(kwargs, where):
    out = {}
    for k, v in kwargs.items():
        if v is None:
            continue
        if k == "python_callable":
            out[k] = v  # its name, for the log; the worker imports the file
            continue
        if k == "retry_policy":
            continue  # evaluated by the worker, from the imported file
        if k in _CALLBACKS and v is not None:
            if isinstance(v, (list, tuple)) and not v:
                continue
            if k not in _RUN_CALLBACKS:
                unsupported(f"Python callbacks other than on_success, on_failure and on_retry ({where}: {k})")
            for f in (v if isinstance(v, (list, tuple)) else [v]):
                if not callable(f):
                    raise TypeError(f"{where}: {k} must be a callable or a list of callables, not {f!r}")
            out[k] = {"__gust_python__": True}  # the worker calls it from the imported file
            continue
        if k in ("pre_execute", "post_execute"):
            if not callable(v):
                raise TypeError(f"{where}: {k} must be a callable, not {v!r}")
            out[k] = {"__gust_python__": True}  # the worker calls it from the imported file
            continue
        if isinstance(v, _dt.timedelta) and k in _SECONDS:
            out[_SECONDS[k]] = v.total_seconds()
            continue
        out[k] = value(v, f"{where}: {k}")
    return out


def template_files(d, v, exts):
    """Airflow's template_ext: a templated string that ends with one of exts
    names a template file, looked for next to the DAG file, then on its
    template_searchpath; gust reads it into the document (where workers
    render it), and the file's change makes the DAG file parse again."""
    if isinstance(v, str):
        if not exts or not v.endswith(tuple(exts)):
            return v
        search = d.template_searchpath or []
        dirs = [os.path.dirname(d.fileloc)] + ([search] if isinstance(search, str) else list(search))
        for base in dirs:
            path = v if os.path.isabs(v) else os.path.join(base, v)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                _Context.template_files.append(os.path.abspath(path))
                return text
        return v
    if isinstance(v, list):
        return [template_files(d, x, exts) for x in v]
    if isinstance(v, dict):
        if set(v) == {"__gust_xcomarg__"}:
            return v
        return {k: template_files(d, x, exts) for k, x in v.items()}
    return v


def class_fields(t, ts):
    """A Python class's task: its class, and its template_fields' values
    that gust can render (strings, and lists and dicts of them); the
    XComArgs among them make dependencies, as in Airflow."""
    from airflow._gust.operators import XComArg, _xcom_args

    cls = type(t)
    ts["operator_class"] = f"{cls.__module__}.{cls.__qualname__}" if not cls.__module__.startswith("unusual_prefix_") \
        else cls.__qualname__
    f = getattr(t, "python_callable", None)
    ts["python_callable"] = getattr(f, "__qualname__", None) or cls.__qualname__
    fields = {}
    for name in t.template_fields:
        v = getattr(t, name, None)
        try:
            fields[name] = value(v, f"task {t.task_id}: {name}")
        except (TypeError, NotImplementedError):
            continue  # not a template gust renders: the task keeps it as the file set it
        for x in _xcom_args(v, []):
            if isinstance(x, XComArg):
                t.set_upstream(x.operator)
    if fields:
        ts["template_fields"] = fields
    if t.upstream_task_ids:
        ts["dependencies"] = sorted(t.upstream_task_ids)


def dag_spec(d):
    a = dict(d._args)
    spec = {}
    tz = None
    for key in ("start_date", "end_date"):
        for src in (a, a.get("default_args") or {}):
            t = src.get(key)
            if isinstance(t, _dt.datetime) and tz is None:
                name = tz_name(t)
                if name and name != "UTC":
                    tz = name
    if tz:
        spec["timezone"] = tz
    for k, v in a.items():
        where = f"DAG {d.dag_id}"
        if k == "schedule_interval" and "schedule" in a:
            continue
        if k in ("schedule", "schedule_interval"):
            if isinstance(v, _dt.timedelta):
                spec["schedule"] = {"seconds": v.total_seconds()}
            elif isinstance(v, str) or v is None:
                spec["schedule"] = v
            elif isinstance(v, (list, tuple)) and v and all(_is_asset(x) for x in v):
                spec["schedule"] = {"__gust_assets__": [x._gust_doc() for x in v]}
            elif _is_asset(v):
                spec["schedule"] = {"__gust_assets__": v._gust_doc()}
            elif hasattr(v, "_gust_doc"):
                spec["schedule"] = v._gust_doc()
            else:
                unsupported(f"the schedule {v!r} (custom timetables and asset schedules)")
            continue
        if k == "timetable":
            if not hasattr(v, "_gust_doc"):
                unsupported(f"the timetable {v!r} (custom timetables)")
            spec["schedule"] = v._gust_doc()
            continue
        if k == "default_args":
            spec["default_args"] = args(v, where + ": default_args")
            continue
        if k == "concurrency":
            k = "max_active_tasks"
        if k == "auto_register":
            continue
        converted = args({k: v}, where)
        spec.update(converted)
    if "schedule" not in spec:
        spec["schedule"] = None
    tasks = {}
    for t in d.tasks:
        ts = {"operator": t.gust_kind}
        ts.update(args(t._kwargs, f"task {t.task_id}"))
        if t.gust_kind in ("python_class", "python_sensor"):
            class_fields(t, ts)
            if "template_fields" in ts:
                ts["template_fields"] = template_files(d, ts["template_fields"], t.template_ext)
        elif "bash_command" in ts:
            ts["bash_command"] = template_files(d, ts["bash_command"], t.template_ext)
        if getattr(t, "templates_exts", None):  # a PythonOperator's, for its templated arguments
            for k in ("templates_dict", "op_args", "op_kwargs"):
                if k in ts:
                    ts[k] = template_files(d, ts[k], t.templates_exts)
        if t.upstream_task_ids:
            ts["dependencies"] = sorted(t.upstream_task_ids)
        if t.task_group is not None:
            ts["task_group_name"] = t.task_group.group_id
        for k in ("is_setup", "is_teardown", "on_failure_fail_dagrun"):
            if getattr(t, k, False):
                ts[k] = True
        # A mapped task's expansion, or its mapped task group's (its
        # MappedArguments are then the instance's values).
        mg, where = getattr(t, "_gust_mapped_group", None), f"task {t.task_id}"
        src, into = t, getattr(t, "_gust_map_into", None)
        if mg is not None:
            src, into, where = mg, "group", f"{where}: task group {mg.group_id}"
            ts["mapped_group"] = mg.group_id
        expand, expand_kwargs = getattr(src, "_gust_expand", None), getattr(src, "_gust_expand_kwargs", None)
        if expand is not None:
            ts["expand"] = {k: value(v, f"{where}: expand({k}=...)") for k, v in expand.items()}
            if into is None:
                for k in expand:
                    ts.pop(k, None)
        if expand_kwargs is not None:
            ts["expand_kwargs"] = value(expand_kwargs, f"{where}: expand_kwargs(...)")
        if into:
            ts["map_into"] = into
        tasks[t.task_id] = ts
    spec["tasks"] = tasks
    if d.task_group_dict:
        # Task and group keys are full ids; the groups' default_args are
        # in their tasks' arguments already.
        spec["__gust_final_ids__"] = True
        groups = {}
        for gid, g in d.task_group_dict.items():
            gs = {"prefix_group_id": bool(g.prefix_group_id)}
            if g.tooltip:
                gs["tooltip"] = str(g.tooltip)
            for k in ("ui_color", "ui_fgcolor"):
                if getattr(g, k, None):
                    gs[k] = str(getattr(g, k))
            if g.parent_group is not None:
                gs["parent_group_name"] = g.parent_group.group_id
            if getattr(g, "_gust_expand", None) is not None or getattr(g, "_gust_expand_kwargs", None) is not None:
                gs["is_mapped"] = True
            groups[gid] = gs
        spec["task_groups"] = groups
    return spec
