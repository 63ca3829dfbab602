"""Airflow's state, run type and weight rule enums, and the names DAG files
use in annotations (TaskInstance, DagRun: a try gets gust's own)."""
import enum

from airflow.utils.trigger_rule import TriggerRule  # noqa: F401


class _StrEnum(str, enum.Enum):
    def __str__(self):
        return self.value


class TaskInstanceState(_StrEnum):
    REMOVED = "removed"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    RESTARTING = "restarting"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"


class DagRunState(_StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class State:
    NONE = None
    REMOVED, SCHEDULED, QUEUED, RUNNING = "removed", "scheduled", "queued", "running"
    SUCCESS, RESTARTING, FAILED = "success", "restarting", "failed"
    UP_FOR_RETRY, UP_FOR_RESCHEDULE, UPSTREAM_FAILED = "up_for_retry", "up_for_reschedule", "upstream_failed"
    SKIPPED, DEFERRED = "skipped", "deferred"
    finished = frozenset([SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, REMOVED])
    unfinished = frozenset([None, SCHEDULED, QUEUED, RUNNING, RESTARTING, UP_FOR_RETRY, UP_FOR_RESCHEDULE, DEFERRED])
    failed_states = frozenset([FAILED, UPSTREAM_FAILED])
    success_states = frozenset([SUCCESS, SKIPPED])


class DagRunType(_StrEnum):
    BACKFILL_JOB = "backfill"
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    ASSET_TRIGGERED = "asset_triggered"
    DATASET_TRIGGERED = "dataset_triggered"


class WeightRule(_StrEnum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"


class TaskInstance:
    """What a try's ti is an instance of."""


class DagRun:
    """What a try's dag_run is an instance of."""
