"""@asset and @asset.multi (Airflow 3): a function that materializes assets
becomes a DAG of one task, named after it, whose outlets are the assets and
whose inlets are the assets its parameters name."""
import inspect

from airflow._gust.assets import Asset, AssetNameRef, _AssetCondition
from airflow._gust.model import DAG, _Context
from airflow._gust.operators import PythonOperator

# The DAG arguments @asset and @asset.multi take (Airflow's _DAGFactory).
_DAG_KWARGS = (
    "is_paused_upon_creation", "dag_id", "dag_display_name", "description", "params",
    "on_success_callback", "on_failure_callback", "access_control", "owner_links", "tags",
)


def _validate(f):
    if f.__name__ != f.__qualname__:
        raise ValueError("nested function not supported")
    for name, p in inspect.signature(f).parameters.items():
        if p.kind == p.VAR_POSITIONAL:
            raise TypeError(f"wildcard '*{name}' is not supported in @asset")
        if p.kind == p.VAR_KEYWORD:
            raise TypeError(f"wildcard '**{name}' is not supported in @asset")
        if p.kind == p.POSITIONAL_ONLY and p.default is p.empty:
            raise TypeError(f"positional-only argument '{name}' without a default is not supported in @asset")


def _inlet_names(f):
    return [n for n, p in inspect.signature(f).parameters.items()
            if n not in ("self", "context") and p.default is p.empty]


def _materializer(f, own):
    """What the worker calls: f with `self` (the asset it makes), `context`
    and each other parameter without a default as the inlet asset of that
    name, as Airflow's _AssetMainOperator calls it."""

    def kwargs(context):
        running = _Context.running if _Context.running is not None else context
        inlets = {a.name: a for a in running.get("inlets") or [] if isinstance(a, Asset)}
        out = {}
        for key, p in inspect.signature(f).parameters.items():
            if p.default is not p.empty:
                out[key] = p.default
            elif key == "self":
                out[key] = own
            elif key == "context":
                out[key] = running
            else:
                out[key] = inlets.get(key) or Asset(name=key)
        return out

    if inspect.isgeneratorfunction(f):
        def run(**context):
            return (yield from f(**kwargs(context)))
    else:
        def run(**context):
            return f(**kwargs(context))
    run.__name__, run.__qualname__, run.__doc__, run.__module__ = f.__name__, f.__qualname__, f.__doc__, f.__module__
    return run


def _make_dag(factory, default_dag_id, f, outlets, own):
    dag_id = factory.dag_args.get("dag_id") or default_dag_id
    kw = {k: v for k, v in factory.dag_args.items() if k != "dag_id" and v is not None}
    kw.setdefault("dag_display_name", dag_id)
    with DAG(dag_id, schedule=factory.schedule, catchup=False, auto_register=True, **kw) as d:
        PythonOperator(
            task_id=f.__name__,
            python_callable=_materializer(f, own),
            inlets=[AssetNameRef(n) for n in _inlet_names(f)],
            outlets=list(outlets),
        )
    return d


class AssetDefinition(Asset):
    """The asset an @asset function materializes (usable wherever an Asset
    is); its DAG is `dag`."""

    def __init__(self, *, function, source, **asset_kwargs):
        super().__init__(**asset_kwargs)
        self._function, self._source = function, source
        self.dag = _make_dag(source, self.name, function, [self], self)

    def __repr__(self):
        return f"AssetDefinition(name={self.name!r}, uri={self.uri!r}, group={self.group!r})"


class MultiAssetDefinition(_AssetCondition):
    """What @asset.multi makes: its assets, all of them, in a condition."""

    def __init__(self, *, function, source):
        self._function, self._source = function, source
        self.dag = _make_dag(source, function.__name__, function, source.outlets, None)

    def _gust_doc(self):
        return {"__and__": [o._gust_doc() for o in self._source.outlets]}

    def __repr__(self):
        return f"MultiAssetDefinition({self._function.__name__!r}, outlets={list(self._source.outlets)!r})"


class _DAGFactory:
    def __init__(self, schedule, kwargs):
        for k in kwargs:
            if k not in _DAG_KWARGS:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument '{k}'")
        self.schedule, self.dag_args = schedule, dict(kwargs)


class asset(_DAGFactory):  # noqa: N801 - Airflow's name
    """@asset(schedule=..., name=..., uri=..., group=..., extra=...)."""

    def __init__(self, *, schedule, name=None, uri=None, group="asset", extra=None, watchers=None, **dag_kwargs):
        super().__init__(schedule, dag_kwargs)
        self.name, self.uri, self.group, self.extra, self.watchers = name, uri, group, dict(extra or {}), watchers

    def __call__(self, f):
        _validate(f)
        name = self.name or f.__name__
        return AssetDefinition(function=f, source=self, name=name, uri=name if self.uri is None else str(self.uri),
                               group=self.group, extra=self.extra, watchers=self.watchers)

    class multi(_DAGFactory):  # noqa: N801 - Airflow's name
        """@asset.multi(schedule=..., outlets=[...]): one task making several assets."""

        def __init__(self, *, schedule, outlets, **dag_kwargs):
            super().__init__(schedule, dag_kwargs)
            self.outlets = list(outlets or [])

        def __call__(self, f):
            _validate(f)
            if not self.outlets:
                raise ValueError("no outlets provided")
            return MultiAssetDefinition(function=f, source=self)
