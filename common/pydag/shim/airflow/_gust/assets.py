"""Assets (Airflow 3; datasets in Airflow 2) and their conditions: what
tasks update (outlets) and DAGs are scheduled on."""
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

    def __eq__(self, other):
        return isinstance(other, Asset) and other.uri == self.uri

    def __hash__(self):
        return hash(self.uri)

    def __repr__(self):
        return f"Asset(name={self.name!r}, uri={self.uri!r})"

    def _gust_doc(self):
        return {"uri": self.uri, "name": self.name, "group": self.group, "extra": self.extra}


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


class AssetAlias:
    def __init__(self, *args, **kwargs):
        unsupported("assets (AssetAlias)")
