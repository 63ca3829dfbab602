"""gust's DAG file parser: imports one Python DAG file with gust's airflow
package first on sys.path and prints its DAGs as gust's dag-factory
document (JSON) on stdout. The file's own output goes to stderr.

usage: python3 gust_parse.py FILE DAGS_FOLDER MEMORY_LIMIT_BYTES
       python3 gust_parse.py --serve

With --serve it is a fork server, as Airflow's DAG processor forks: it
imports the airflow package once, then reads requests on the Unix
(seqpacket) socket at fd 3, each a JSON {path, folder, memory} with two
file descriptors (the result's, the file's output's); for each it forks a
child in a process group of its own, which imports that one file under its
memory limit, writes the result and exits, and it answers {"pid": child}.
"""
import hashlib
import importlib.util
import json
import os
import sys
import traceback


def limit_memory(n):
    if n <= 0:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (n, n))
    except (ImportError, ValueError, OSError):
        pass


def parse_file(path, folder):
    """Imports the file; returns its DAGs as gust's documents, or its error."""
    if folder not in sys.path:
        sys.path.insert(1, folder)
    shim = os.path.dirname(os.path.abspath(__file__))
    from airflow._gust import model, spec

    # Airflow's module name for a DAG file.
    name = "unusual_prefix_" + hashlib.sha1(path.encode()).hexdigest() + "_" + os.path.splitext(os.path.basename(path))[0]
    result = {"dags": [], "files": []}
    try:
        s = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(s)
        sys.modules[name] = mod
        s.loader.exec_module(mod)
        found = list(model._Context.registered)
        for v in list(vars(mod).values()):
            if isinstance(v, model.DAG) and v not in found:
                found.append(v)
        seen = {}
        for d in found:
            if d.dag_id in seen and seen[d.dag_id] is not d:
                raise ValueError(f"DAG id {d.dag_id!r} is defined twice in this file")
            seen[d.dag_id] = d
        for d in found:
            result["dags"].append({"dag_id": d.dag_id, "line": d.line, "spec": spec.dag_spec(d)})
    except BaseException as e:  # noqa: B902 - SystemExit and KeyboardInterrupt too: an import error
        tb = traceback.extract_tb(e.__traceback__)
        frames = [f for f in tb if not os.path.abspath(f.filename).startswith(shim + os.sep) or f.filename == path]
        line = 0
        for f in tb:
            if os.path.abspath(f.filename) == os.path.abspath(path):
                line = f.lineno
        text = "".join(traceback.format_list(frames[-8:])) + "".join(traceback.format_exception_only(type(e), e))
        result = {"error": "Traceback (most recent call last):\n" + text.rstrip("\n"), "line": line, "dags": [], "files": []}
    folder_abs = os.path.abspath(folder) + os.sep
    for m in list(sys.modules.values()):
        f = getattr(m, "__file__", None)
        if f and os.path.abspath(f).startswith(folder_abs):
            result["files"].append(os.path.abspath(f))
    result["files"].extend(f for f in model._Context.template_files if f not in result["files"])
    return result


def main():
    if sys.argv[1:] == ["--serve"]:
        serve()
        return
    path, folder, mem = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # print() in the DAG file goes to stderr
    sys.stdout = sys.stderr
    limit_memory(mem)
    json.dump(parse_file(path, folder), out)
    out.flush()


def preload():
    """What DAG files import, imported once in the server."""
    import datetime  # noqa: F401
    import logging  # noqa: F401

    import airflow._gust.model  # noqa: F401
    import airflow._gust.spec  # noqa: F401
    for name in ("airflow.sdk", "airflow.decorators", "airflow.models", "airflow.models.dag",
                 "airflow.operators.bash", "airflow.operators.python", "airflow.operators.empty",
                 "airflow.providers.standard.operators.bash", "airflow.providers.standard.operators.python",
                 "airflow.providers.standard.operators.empty", "airflow.utils.dates", "airflow.utils.trigger_rule",
                 "airflow.exceptions", "pendulum"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def serve():
    import signal
    import socket

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    preload()
    import gc

    gc.freeze()  # what the children share stays shared (no copy-on-write by the collector)
    ctrl = socket.socket(fileno=3)
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(ctrl, 1 << 16, 2)
        except (OSError, InterruptedError):
            return
        if not msg:
            return  # the DAG processor is gone
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        req = json.loads(msg)
        pid = os.fork()
        if pid == 0:
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setpgid(0, 0)
                ctrl.close()
                res_fd, err_fd = fds
                os.dup2(err_fd, 1)  # print() in the DAG file goes to its output
                os.dup2(err_fd, 2)
                os.close(err_fd)
                limit_memory(req.get("memory", 0))
                try:
                    os.chdir(os.path.dirname(req["path"]))
                except OSError:
                    pass
                result = parse_file(req["path"], req["folder"])
                sys.stdout.flush()
                sys.stderr.flush()
                with os.fdopen(res_fd, "w") as out:
                    json.dump(result, out)
            finally:
                os._exit(0)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # it has already done so, or exited
        for fd in fds:
            os.close(fd)
        try:
            ctrl.send(json.dumps({"pid": pid}).encode())
        except OSError:
            return


if __name__ == "__main__":
    main()
