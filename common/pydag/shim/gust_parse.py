"""gust's DAG file parser: imports one Python DAG file with gust's airflow
package first on sys.path and prints its DAGs as gust's dag-factory
document (JSON) on stdout. The file's own output goes to stderr.

usage: python3 gust_parse.py FILE DAGS_FOLDER MEMORY_LIMIT_BYTES
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


def main():
    path, folder, mem = sys.argv[1], sys.argv[2], int(sys.argv[3])
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # print() in the DAG file goes to stderr
    sys.stdout = sys.stderr
    limit_memory(mem)
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
    json.dump(result, out)
    out.flush()


if __name__ == "__main__":
    main()
