def __getattr__(name):
    from airflow._gust.lazy import submodule

    return submodule(__name__, name)
