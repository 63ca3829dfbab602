import datetime as _dt

utc = _dt.timezone.utc


def datetime(*args, **kwargs):
    kwargs.setdefault("tzinfo", utc)
    return _dt.datetime(*args, **kwargs)


def utcnow():
    return _dt.datetime.now(utc)
