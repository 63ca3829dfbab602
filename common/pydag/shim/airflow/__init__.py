"""gust's Airflow compatibility package: what DAG files import, for gust's
DAG processor to read them (see common/pydag in gust's source)."""
__version__ = "3.0.6"
version = __version__

from airflow._gust.model import DAG  # noqa: E402,F401


def __getattr__(name):
    from airflow._gust.lazy import submodule

    return submodule(__name__, name)
