"""gust's Python task runner: runs one try of a Python task.

The worker writes the job (JSON) on stdin and starts this with two pipes:
fd 3 carries requests and the result to the worker, one JSON per line; fd
4 carries the worker's answers. The task's stdout and stderr are the try's
log. The DAG file is imported as the DAG processor imported it, and the
task's python_callable is called with Airflow's context.

usage: python3 gust_run.py
"""
import datetime as _dt
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import sys
import traceback

_req = os.fdopen(3, "w", buffering=1)
_resp = os.fdopen(4, "r")


def ask(op, **args):
    _req.write(json.dumps({"op": op, **args}) + "\n")
    _req.flush()
    line = _resp.readline()
    if not line:
        raise RuntimeError("the worker went away")
    answer = json.loads(line)
    if answer.get("error"):
        raise KeyError(answer["error"])
    return answer.get("value")


def date(s):
    if not s:
        return None
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


class TaskInstance:
    """The try's ti: its keys, and XComs through the worker."""

    def __init__(self, job):
        c = job["context"]
        self.dag_id, self.task_id, self.run_id = job["dag_id"], job["task_id"], c["run_id"]
        self.try_number, self.map_index = c["try_number"], c.get("map_index", -1)
        self.hostname = c.get("hostname", "")
        self.pushed = {}
        self.state = "running"
        self.max_tries = c.get("max_tries", 0)

    def xcom_push(self, key, value, execution_date=None):
        json.dumps(value)  # Airflow's rule: an XCom must be JSON
        self.pushed[key] = value

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value", include_prior_dates=False, map_indexes=None,
                  default=None, run_id=None):
        many = isinstance(task_ids, (list, tuple))
        ids = list(task_ids) if many else [task_ids]
        out = []
        for tid in ids:
            if tid == self.task_id and key in self.pushed and (dag_id in (None, self.dag_id)):
                out.append(self.pushed[key])
                continue
            v = ask("xcom_pull", task_id=tid or "", dag_id=dag_id or self.dag_id, key=key, run_id=run_id or self.run_id)
            out.append(default if v is None else v)
        return out if many else out[0]

    @property
    def key(self):
        return (self.dag_id, self.task_id, self.run_id, self.try_number, self.map_index)

    def __repr__(self):
        return f"<TaskInstance: {self.dag_id}.{self.task_id} {self.run_id} [running]>"


class DagRun:
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


def build_context(job, dag, task, ti):
    c = job["context"]
    logical = date(c.get("logical_date"))
    ctx = {k: c[k] for k in ("ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id",
                             "task_instance_key_str") if k in c}
    ctx.update({
        "logical_date": logical, "execution_date": logical,
        "data_interval_start": date(c.get("data_interval_start")), "data_interval_end": date(c.get("data_interval_end")),
        "params": c.get("params") or {}, "dag_run": DagRun(c, job["dag_id"]), "ti": ti, "task_instance": ti,
        "task": task, "dag": dag, "conf": None, "macros": _Macros, "map_index_template": None,
        "inlets": [], "outlets": [], "triggering_asset_events": {},
        "prev_data_interval_start_success": date(c.get("prev_data_interval_start_success")),
        "prev_data_interval_end_success": date(c.get("prev_data_interval_end_success")),
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


def resolve(v, ti):
    if isinstance(v, dict):
        if set(v) == {"__gust_xcomarg__"}:
            x = v["__gust_xcomarg__"]
            return ti.xcom_pull(task_ids=x["task_id"], key=x["key"])
        return {k: resolve(x, ti) for k, x in v.items()}
    if isinstance(v, list):
        return [resolve(x, ti) for x in v]
    return v


def call(f, op_args, context):
    """Airflow's KeywordParameters: the callable gets the op_args, then the
    context names it asks for (all of it with **kwargs)."""
    sig = inspect.signature(f)
    params = list(sig.parameters.values())
    positional = {p.name for p in params[:len(op_args)] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        kwargs = {k: v for k, v in context.items() if k not in positional}
    else:
        kwargs = {p.name: context[p.name] for p in params
                  if p.name in context and p.name not in positional and p.kind != p.VAR_POSITIONAL}
    return f(*op_args, **kwargs)


def main():
    job = json.load(sys.stdin)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s")
    for p in (job.get("dags_folder"), os.path.dirname(job["dag_file"])):
        if p and os.path.isdir(p) and p not in sys.path:
            sys.path.insert(1, p)
    from airflow._gust import model
    from airflow.exceptions import AirflowFailException, AirflowSkipException

    model._Context.ask = ask

    result = {"op": "done", "state": "failed"}
    try:
        path = job["dag_file"]
        name = "unusual_prefix_" + hashlib.sha1(job.get("fileloc", path).encode()).hexdigest() + "_" + \
            os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        dags = {d.dag_id: d for d in model._Context.registered}
        for v in vars(mod).values():
            if isinstance(v, model.DAG):
                dags.setdefault(v.dag_id, v)
        dag = dags.get(job["dag_id"])
        if dag is None or job["task_id"] not in dag.task_dict:
            raise RuntimeError(f"task {job['task_id']} is not in DAG {job['dag_id']} as its file defines it now")
        task = dag.task_dict[job["task_id"]]
        ti = TaskInstance(job)
        context = build_context(job, dag, task, ti)
        op_args = resolve(job.get("op_args") or [], ti)
        op_kwargs = resolve(job.get("op_kwargs") or {}, ti)
        templates_dict = resolve(job.get("templates_dict"), ti)
        context.update(op_kwargs)
        context["templates_dict"] = templates_dict
        model._Context.running = context
        value = call(task.python_callable, op_args, context)
        if job.get("show_return_value_in_logs", True):
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
        result = {"op": "done", "state": "success", "xcoms": xcoms}
        kind = job.get("kind")
        if kind == "branch_python":
            result["branch"] = [] if value is None else ([value] if isinstance(value, str) else list(value))
        elif kind == "short_circuit_python":
            result["condition"] = bool(value)
    except AirflowSkipException as e:
        print(f"Skipping: {e}", flush=True)
        result = {"op": "done", "state": "skipped", "error": str(e) or "AirflowSkipException"}
    except AirflowFailException as e:
        traceback.print_exc()
        result = {"op": "done", "state": "failed", "no_retry": True, "error": f"AirflowFailException: {e}"}
    except BaseException as e:  # noqa: B902 - SystemExit too: the try failed
        traceback.print_exc()
        result = {"op": "done", "state": "failed", "error": "".join(traceback.format_exception_only(type(e), e)).strip()}
    sys.stdout.flush()
    sys.stderr.flush()
    _req.write(json.dumps(result) + "\n")
    _req.flush()


if __name__ == "__main__":
    main()
