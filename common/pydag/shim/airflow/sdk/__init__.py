"""Airflow 3's authoring API (airflow.sdk)."""
from airflow._gust.model import (  # noqa: F401
    DAG, Asset, AssetAlias, AssetAll, AssetAny, BaseOperator, Metadata, BaseSensorOperator, Context, EdgeModifier, Label, Param, ParamsDict,
    PokeReturnValue, TaskGroup, chain, chain_linear, cross_downstream, dag, get_current_context,
    get_parsing_context, setup, task_group, teardown,
)
from airflow._gust.asset_dag import asset  # noqa: F401
from airflow._gust.notifier import BaseNotifier  # noqa: F401
from airflow._gust.operators import XComArg, task  # noqa: F401
from airflow._gust.retry_policy import (  # noqa: F401
    ChainRetryPolicy, ExceptionRetryPolicy, RetryAction, RetryDecision, RetryPolicy, RetryRule,
)
from airflow._gust.runtime import BaseHook, Connection, Variable  # noqa: F401
from airflow._gust.states import DagRunState, TaskInstanceState, TriggerRule, WeightRule  # noqa: F401
from airflow._gust.timetables import (  # noqa: F401
    CronDataIntervalTimetable, CronTriggerTimetable, DeltaDataIntervalTimetable, DeltaTriggerTimetable,
    EventsTimetable, MultipleCronTriggerTimetable,
)
from airflow.utils import timezone  # noqa: F401

__version__ = "1.0.6"


def __getattr__(name):
    from airflow._gust.lazy import submodule

    return submodule(__name__, name)
