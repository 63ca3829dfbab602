"""gust's Airflow compatibility package: what DAG files import, for gust's
DAG processor to read them (see common/pydag in gust's source)."""
__version__ = "3.0.6"
version = __version__

from airflow._gust import lazy  # noqa: E402
from airflow._gust.model import DAG  # noqa: E402,F401

lazy.install()

# Airflow's lazy top-level names (`from airflow import XComArg, Dataset`).
_TOP = {"XComArg": ("airflow._gust.operators", "XComArg"), "Dataset": ("airflow._gust.model", "Dataset"),
        "Asset": ("airflow._gust.model", "Asset")}


def __getattr__(name):
    if name in _TOP:
        import importlib

        module, attr = _TOP[name]
        return getattr(importlib.import_module(module), attr)
    return lazy.submodule(__name__, name)
