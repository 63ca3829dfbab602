"""Submodules found as attributes, as Airflow's eager imports make them
(`import airflow` then `airflow.utils.dates.days_ago(1)`)."""
import importlib


def submodule(package, name):
    if name.startswith("_"):
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{package}.{name}":
            raise
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
