"""A small stand-in for pendulum, for DAG files, when the real one is not
installed: what DAG files call (datetime with tz, timezone, now, today,
duration, parse), on the standard library's datetime and zoneinfo."""
import datetime as _dt

try:
    from zoneinfo import ZoneInfo as _ZoneInfo
except ImportError:  # Python < 3.9
    _ZoneInfo = None

__version__ = "3.0.0+gust"
DateTime = _dt.datetime
Date = _dt.date
Duration = _dt.timedelta
Time = _dt.time
UTC = _dt.timezone.utc


def timezone(name):
    if isinstance(name, _dt.tzinfo):
        return name
    if name in ("UTC", "utc", "Etc/UTC"):
        return _ZoneInfo("UTC") if _ZoneInfo else UTC
    if _ZoneInfo is None:
        raise ValueError(f"unknown timezone {name!r} (zoneinfo needs Python 3.9)")
    return _ZoneInfo(name)


tz = timezone


def datetime(year, month=1, day=1, hour=0, minute=0, second=0, microsecond=0, tz="UTC", **kwargs):
    tzinfo = kwargs.get("tzinfo", tz)
    return _dt.datetime(year, month, day, hour, minute, second, microsecond,
                        tzinfo=timezone(tzinfo) if tzinfo is not None else None)


def time(hour=0, minute=0, second=0, microsecond=0):
    return _dt.time(hour, minute, second, microsecond)


def now(tz="UTC"):
    return _dt.datetime.now(timezone(tz))


def today(tz="UTC"):
    return now(tz).replace(hour=0, minute=0, second=0, microsecond=0)


def yesterday(tz="UTC"):
    return today(tz) - _dt.timedelta(days=1)


def tomorrow(tz="UTC"):
    return today(tz) + _dt.timedelta(days=1)


def duration(days=0, seconds=0, microseconds=0, milliseconds=0, minutes=0, hours=0, weeks=0, **kwargs):
    return _dt.timedelta(days=days, seconds=seconds, microseconds=microseconds, milliseconds=milliseconds,
                         minutes=minutes, hours=hours, weeks=weeks)


def parse(text, tz="UTC", **kwargs):
    t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone(tz))


def instance(t, tz="UTC"):
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone(tz))
