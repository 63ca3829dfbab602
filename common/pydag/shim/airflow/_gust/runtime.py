"""Variables and connections: while a try runs, the worker answers them
from gust's variables and connections (the callable never opens the
database); while a file is parsed, only AIRFLOW_VAR_* environment
variables and defaults are answered."""
import inspect
import json
import os

_MISSING = object()


def _ask():
    from airflow._gust.model import _Context

    return getattr(_Context, "ask", None)


class Variable:
    @staticmethod
    def get(key, default_var=_MISSING, deserialize_json=False, default=_MISSING):
        d = default if default is not _MISSING else default_var
        ask = _ask()
        # While a file is parsed, only the environment (Airflow's first
        # secrets backend) answers.
        v = ask("variable", key=key) if ask else os.environ.get("AIRFLOW_VAR_" + key.upper())
        if v is None:
            if d is not _MISSING:
                return d
            if ask:
                raise KeyError(f"Variable {key} does not exist")
            raise KeyError(f"Variable {key} does not exist (while parsing DAG files gust reads variables from AIRFLOW_VAR_* in the environment only)")
        return json.loads(v) if deserialize_json else v

    @staticmethod
    def set(*args, **kwargs):
        raise RuntimeError("gust's Python tasks do not set variables (use the REST API or gust variables set)")


class Connection:
    def __init__(self, conn_id=None, conn_type=None, host=None, login=None, password=None, schema=None, port=None,
                 extra=None, uri=None, description=None, **kwargs):
        self.conn_id, self.conn_type, self.host, self.login = conn_id, conn_type, host, login
        self.password, self.schema, self.port, self.description = password, schema, port, description
        self.extra = extra if isinstance(extra, str) or extra is None else json.dumps(extra)
        self._uri = uri

    @property
    def extra_dejson(self):
        try:
            return json.loads(self.extra) if self.extra else {}
        except ValueError:
            return {}

    def get_uri(self):
        return self._uri or ""

    def get_password(self):
        return self.password

    def get_extra(self):
        return self.extra

    @classmethod
    def get(cls, conn_id):
        return BaseHook.get_connection(conn_id)

    def __repr__(self):
        return self.conn_id or ""


class BaseHook:
    @classmethod
    def get_connection(cls, conn_id):
        ask = _ask()
        c = ask("connection", conn_id=conn_id) if ask else None
        if c is None:
            raise KeyError(f"The conn_id `{conn_id}` isn't defined")
        return Connection(**c)


def render(template):
    """A template rendered by the worker with the try's context."""
    ask = _ask()
    if ask is None:
        raise RuntimeError("templates are rendered only while a task runs")
    return ask("render", template=template)


def call(f, op_args, context):
    """Airflow's KeywordParameters: the callable gets the op_args, then the
    context names it asks for (all of it with **kwargs)."""
    sig = inspect.signature(f)
    params = list(sig.parameters.values())
    positional = {p.name for p in params[:len(op_args)] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        full = context.kwargs() if callable(getattr(context, "kwargs", None)) else context
        kwargs = {k: v for k, v in full.items() if k not in positional}
    else:
        kwargs = {p.name: context[p.name] for p in params
                  if p.name in context and p.name not in positional and p.kind != p.VAR_POSITIONAL}
    return f(*op_args, **kwargs)
