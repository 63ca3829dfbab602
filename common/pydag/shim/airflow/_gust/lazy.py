"""Submodules found as attributes, as Airflow's eager imports make them
(`import airflow` then `airflow.utils.dates.days_ago(1)`), and what Airflow
has that gust does not yet: an import error naming the feature, not an
AttributeError or a missing module."""
import importlib
import importlib.abc
import sys

# Names of Airflow's packages (airflow, airflow.sdk, airflow.datasets...) that
# gust lacks, and the feature each belongs to.
MISSING_NAMES = {
    "AssetWatcher": "assets (AssetWatcher)",
    "AssetAccessControl": "assets (AssetAccessControl)",
    "CronPartitionTimetable": "timetables (CronPartitionTimetable)",
    "DeadlineAlert": "deadline alerts (DeadlineAlert)",
    "DeadlineReference": "deadline alerts (DeadlineReference)",
    "AsyncCallback": "deadline alerts (AsyncCallback)",
    "SyncCallback": "deadline alerts (SyncCallback)",
    "ObjectStoragePath": "object storage (ObjectStoragePath)",
}

# Modules of Airflow that gust lacks (and their submodules).
MISSING_MODULES = {
    "airflow.sdk.definitions.deadline": "deadline alerts (airflow.sdk.definitions.deadline)",
    "airflow.sdk.execution_time": "Airflow's task runner (airflow.sdk.execution_time)",
    "airflow.sdk.io": "object storage (airflow.sdk.io)",
    "airflow.io": "object storage (airflow.io)",
    "airflow.plugins_manager": "plugins (airflow.plugins_manager)",
    "airflow.listeners": "listeners (airflow.listeners)",
    "airflow.models.anomalydetector": "anomaly detection (airflow.models.anomalydetector)",
    "airflow.triggers": "deferrable operators (airflow.triggers)",
    "airflow.providers.standard.triggers": "deferrable operators (airflow.providers.standard.triggers)",
    "airflow.providers.standard.sensors.asset": "assets (airflow.providers.standard.sensors.asset)",
    "airflow.providers.standard.operators.hitl": "human-in-the-loop operators (airflow.providers.standard.operators.hitl)",
    "airflow.providers.standard.operators.manual": "manual gates (airflow.providers.standard.operators.manual)",
    "airflow.providers.standard.operators.on_demand": "on-demand sections (airflow.providers.standard.operators.on_demand)",
}


def submodule(package, name):
    if name.startswith("_"):
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    if name in MISSING_NAMES:
        from airflow._gust.model import unsupported

        unsupported(MISSING_NAMES[name])
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{package}.{name}":
            raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None


class MissingFinder(importlib.abc.MetaPathFinder):
    """Last on sys.meta_path: a module of MISSING_MODULES that no other finder
    found is an import error naming its feature."""

    def find_spec(self, fullname, path=None, target=None):
        for mod, what in MISSING_MODULES.items():
            if fullname == mod or fullname.startswith(mod + "."):
                from airflow._gust.model import unsupported

                unsupported(what)
        return None


def install():
    if not any(isinstance(f, MissingFinder) for f in sys.meta_path):
        sys.meta_path.append(MissingFinder())
