"""Assets (Airflow 3; datasets in Airflow 2) and their conditions: what
tasks update (outlets) and DAGs are scheduled on."""
import json
from collections.abc import Mapping, Sequence

from airflow._gust.model import unsupported


class _AssetCondition:
    """What & and | build over assets (Airflow's AssetAll / AssetAny)."""

    def __and__(self, other):
        return AssetAll(self, other)

    def __or__(self, other):
        return AssetAny(self, other)


class Asset(_AssetCondition):
    """Airflow 3's Asset: data tasks update (outlets=[...]) and DAGs are
    scheduled on (schedule=[...], or a condition with & and |). The name
    defaults to the URI and the URI to the name."""

    def __init__(self, name=None, uri=None, *, group="asset", extra=None, watchers=None, **kwargs):
        if watchers:
            unsupported("asset watchers (AssetWatcher)")
        if name is None and uri is None:
            raise TypeError("Asset() requires either 'name' or 'uri'")
        self.name = str(name if name is not None else uri)
        self.uri = str(uri if uri is not None else name)
        self.group = group or "asset"
        self.extra = dict(extra or {})
        _known(self)

    @staticmethod
    def ref(*, name="", uri=""):
        """Asset.ref(name=...) or Asset.ref(uri=...): the asset of that name
        or URI, wherever it is defined."""
        if bool(name) == bool(uri):
            raise TypeError("Asset.ref() takes exactly one of 'name' and 'uri'")
        return AssetNameRef(name) if name else AssetUriRef(uri)

    def __eq__(self, other):
        return isinstance(other, Asset) and other.uri == self.uri

    def __hash__(self):
        return hash(self.uri)

    def __repr__(self):
        return f"Asset(name={self.name!r}, uri={self.uri!r})"

    def _gust_doc(self):
        return {"uri": self.uri, "name": self.name, "group": self.group, "extra": self.extra}


def _known(a):
    """Remembers an asset this file defines, for the references to it."""
    from airflow._gust.model import _Context

    _Context.assets_by_name.setdefault(a.name, a)
    _Context.assets_by_uri.setdefault(a.uri, a)


class AssetRef(_AssetCondition):
    """An asset named by its name or URI alone (Asset.ref). gust resolves it
    to the asset of that name or URI defined in the same file when there is
    one; otherwise it stands for the asset whose name and URI are both the
    one given."""

    def _resolved(self):
        raise NotImplementedError

    def _gust_doc(self):
        return self._resolved()._gust_doc()


class AssetNameRef(AssetRef):
    def __init__(self, name):
        self.name = str(name)

    def _resolved(self):
        from airflow._gust.model import _Context

        return _Context.assets_by_name.get(self.name) or Asset(name=self.name)

    def __eq__(self, other):
        return isinstance(other, AssetNameRef) and other.name == self.name

    def __hash__(self):
        return hash(("name", self.name))

    def __repr__(self):
        return f"AssetNameRef(name={self.name!r})"


class AssetUriRef(AssetRef):
    def __init__(self, uri):
        self.uri = str(uri)

    def _resolved(self):
        from airflow._gust.model import _Context

        return _Context.assets_by_uri.get(self.uri) or Asset(uri=self.uri)

    def __eq__(self, other):
        return isinstance(other, AssetUriRef) and other.uri == self.uri

    def __hash__(self):
        return hash(("uri", self.uri))

    def __repr__(self):
        return f"AssetUriRef(uri={self.uri!r})"


class Dataset(Asset):
    """Airflow 2's Dataset: an Asset whose first argument is its URI."""

    def __init__(self, uri=None, extra=None, **kwargs):
        super().__init__(uri=uri, name=kwargs.pop("name", None), extra=extra, **kwargs)


class AssetAll(_AssetCondition):
    def __init__(self, *objects):
        self.objects = objects

    def _gust_doc(self):
        return {"__and__": [o._gust_doc() for o in self.objects]}


class AssetAny(_AssetCondition):
    def __init__(self, *objects):
        self.objects = objects

    def _gust_doc(self):
        return {"__or__": [o._gust_doc() for o in self.objects]}


DatasetAll, DatasetAny = AssetAll, AssetAny


class AssetAlias(_AssetCondition):
    """Airflow's AssetAlias: a name a task attaches its events' assets to
    at run time (outlet_events[alias].add(Asset(...))); a DAG scheduled on
    it runs on the assets it resolved to."""

    def __init__(self, name, group="asset"):
        if not name:
            raise TypeError("AssetAlias() requires a name")
        self.name, self.group = str(name), group or "asset"

    def __eq__(self, other):
        return isinstance(other, AssetAlias) and other.name == self.name

    def __hash__(self):
        return hash(("alias", self.name))

    def __repr__(self):
        return f"AssetAlias(name={self.name!r}, group={self.group!r})"

    def _gust_doc(self):
        return {"__type__": "airflow.sdk.AssetAlias", "name": self.name, "group": self.group}


DatasetAlias = AssetAlias


class Metadata:
    """What a task yields to give an outlet's event its extra (and, with
    alias, to attach the asset to an alias)."""

    def __init__(self, asset, extra=None, alias=None):
        self.asset, self.extra, self.alias = asset, dict(extra or {}), alias

    def __repr__(self):
        return f"Metadata(asset={self.asset!r}, extra={self.extra!r}, alias={self.alias!r})"


def from_ref(r):
    """An Asset or AssetAlias from the worker's description of it."""
    if r.get("alias"):
        a = r["alias"]
        return AssetAlias(a["name"], a.get("group") or "asset")
    a = r["asset"]
    return Asset(name=a.get("name"), uri=a.get("uri"), group=a.get("group") or "asset", extra=a.get("extra"))


class OutletEventAccessor:
    """outlet_events[asset]: the extra of the asset's event (set or update
    .extra); for an alias, add() names an asset of the event."""

    def __init__(self, key):
        self.key, self.extra, self.asset_alias_events = key, {}, []

    def add(self, asset, extra=None):
        if not isinstance(self.key, AssetAlias):
            return
        self.asset_alias_events.append((asset, dict(extra or {})))

    def __repr__(self):
        return f"OutletEventAccessor(key={self.key!r}, extra={self.extra!r})"


class OutletEventAccessors(Mapping):
    """outlet_events: an accessor per outlet, made when first asked for."""

    def __init__(self, outlets=()):
        self._dict = {}
        for o in outlets:
            self[o]

    def _key(self, key):
        if isinstance(key, (Asset, AssetAlias)):
            return key
        if isinstance(key, AssetRef):
            for k in self._dict:
                if isinstance(k, Asset) and (k.name == getattr(key, "name", None) or k.uri == getattr(key, "uri", None)):
                    return k
            return key._resolved()
        if isinstance(key, str):
            return Asset(key)
        raise TypeError(f"outlet_events is keyed by an Asset or AssetAlias, not {type(key).__name__}")

    def __getitem__(self, key):
        key = self._key(key)
        if key not in self._dict:
            self._dict[key] = OutletEventAccessor(key)
        return self._dict[key]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self):
        return len(self._dict)

    def for_asset(self, name=None, uri=None):
        return self[Asset(name=name, uri=uri)]

    def for_asset_alias(self, name):
        return self[AssetAlias(name)]

    def _gust_report(self):
        """The extras of the outlets' events, and the events added through
        aliases (one per asset and extra, naming every alias it came
        through), for the worker to record with the success."""
        out, through = [], {}
        for key, acc in self._dict.items():
            if isinstance(key, Asset):
                if acc.extra:
                    out.append({"uri": key.uri, "name": key.name, "group": key.group, "extra": acc.extra})
                continue
            for asset, extra in acc.asset_alias_events:
                k = (asset.uri, json.dumps(extra, sort_keys=True, default=str))
                if k not in through:
                    through[k] = {"uri": asset.uri, "name": asset.name, "group": asset.group, "extra": extra, "aliases": []}
                if key.name not in through[k]["aliases"]:
                    through[k]["aliases"].append(key.name)
        return out + list(through.values())


class InletEventsAccessor(Sequence):
    """inlet_events[asset]: the asset's (or alias's) events, oldest first,
    read from the worker when first used."""

    def __init__(self, fetch, uri=None, alias=None):
        self._fetch, self._uri, self._alias, self._events = fetch, uri, alias, None

    def _all(self):
        if self._events is None:
            self._events = self._fetch(self._uri, self._alias)
        return self._events

    def __getitem__(self, i):
        return self._all()[i]

    def __len__(self):
        return len(self._all())

    def __repr__(self):
        return f"InletEventsAccessor({self._uri or self._alias!r}, {self._all()!r})"


class InletEventsAccessors(Mapping):
    """inlet_events: the events of the task's inlets, by Asset, AssetAlias
    or position; an asset the task does not name as an inlet is a
    KeyError, as in Airflow."""

    def __init__(self, inlets, fetch):
        self._inlets, self._fetch = list(inlets), fetch
        self._assets = {i.uri: i for i in self._inlets if isinstance(i, Asset)}
        self._names = {i.name: i for i in self._inlets if isinstance(i, Asset)}
        self._aliases = {i.name: i for i in self._inlets if isinstance(i, AssetAlias)}
        self._made = {}

    def __getitem__(self, key):
        if isinstance(key, int):
            key = self._inlets[key]
        if isinstance(key, AssetAlias):
            if key.name not in self._aliases:
                raise KeyError(key)
            k = ("alias", key.name)
        elif isinstance(key, (Asset, AssetNameRef, AssetUriRef)):
            a = self._assets.get(getattr(key, "uri", None)) or self._names.get(getattr(key, "name", None))
            if a is None:
                raise KeyError(key)
            k = ("uri", a.uri)
        else:
            raise KeyError(key)
        if k not in self._made:
            self._made[k] = InletEventsAccessor(self._fetch, uri=k[1] if k[0] == "uri" else None,
                                                alias=k[1] if k[0] == "alias" else None)
        return self._made[k]

    def __iter__(self):
        return iter(self._inlets)

    def __len__(self):
        return len(self._inlets)

    def for_asset(self, name=None, uri=None):
        return self[Asset(name=name, uri=uri)]

    def for_asset_alias(self, name):
        return self[AssetAlias(name)]
