"""Airflow's timetables gust has: each keeps its arguments for the DAG's
document, in dag-factory's object form, which gust reads as it reads YAML."""
import datetime as _dt


class _Timetable:
    _path = ""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = list(args), dict(kwargs)

    def _gust_doc(self):
        from airflow._gust.spec import value

        doc = {"__type__": self._path, "__args__": [value(a, self._path) for a in self._args]}
        for k, v in self._kwargs.items():
            if v is None or k in ("run_immediately", "presorted"):
                continue
            if k == "timezone" and not isinstance(v, str):
                v = getattr(v, "key", None) or getattr(v, "name", None) or str(v)
            doc[k] = value(v, f"{self._path} {k}")
        return doc

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(map(repr, self._args))})"


class CronTriggerTimetable(_Timetable):
    _path = "airflow.timetables.trigger.CronTriggerTimetable"

    def __init__(self, cron, *, timezone="UTC", interval=_dt.timedelta(), run_immediately=False):
        super().__init__(cron, timezone=timezone, interval=interval)


class MultipleCronTriggerTimetable(_Timetable):
    _path = "airflow.timetables.trigger.MultipleCronTriggerTimetable"

    def __init__(self, *crons, timezone="UTC", interval=_dt.timedelta(), run_immediately=False):
        super().__init__(*crons, timezone=timezone, interval=interval)


class DeltaTriggerTimetable(_Timetable):
    _path = "airflow.timetables.trigger.DeltaTriggerTimetable"

    def __init__(self, delta, *, interval=_dt.timedelta()):
        super().__init__(delta, interval=interval)


class CronDataIntervalTimetable(_Timetable):
    _path = "airflow.timetables.interval.CronDataIntervalTimetable"

    def __init__(self, cron, timezone="UTC"):
        super().__init__(cron, timezone=timezone)


class DeltaDataIntervalTimetable(_Timetable):
    _path = "airflow.timetables.interval.DeltaDataIntervalTimetable"

    def __init__(self, delta):
        super().__init__(delta)


class EventsTimetable(_Timetable):
    _path = "airflow.timetables.events.EventsTimetable"

    def __init__(self, event_dates, restrict_to_events=False, presorted=False, description=None):
        super().__init__(list(event_dates), restrict_to_events=restrict_to_events, description=description)


class ContinuousTimetable(_Timetable):
    _path = "airflow.timetables.simple.ContinuousTimetable"


class NullTimetable(_Timetable):
    _path = "airflow.timetables.simple.NullTimetable"


class OnceTimetable(_Timetable):
    _path = "airflow.timetables.simple.OnceTimetable"


class AssetOrTimeSchedule:
    """Airflow 3's AssetOrTimeSchedule: runs on the timetable, and also
    when the asset condition is met."""

    def __init__(self, *, timetable, assets):
        from airflow._gust.model import Asset, AssetAll

        if isinstance(assets, (list, tuple)):
            assets = AssetAll(*assets)
        if not hasattr(timetable, "_gust_doc") or not hasattr(assets, "_gust_doc"):
            raise TypeError("AssetOrTimeSchedule needs a timetable gust has and assets")
        self.timetable, self.assets = timetable, assets

    def _gust_doc(self):
        return {"__gust_assets__": self.assets._gust_doc(), "__gust_or_time__": self.timetable._gust_doc()}
