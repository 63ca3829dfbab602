"""Airflow 3's authoring API (airflow.sdk)."""
from airflow._gust.model import (  # noqa: F401
    DAG, Asset, AssetAlias, BaseOperator, EdgeModifier, Label, Param, ParamsDict, TaskGroup, chain,
    chain_linear, cross_downstream, dag, get_current_context, setup, task_group, teardown,
)
from airflow._gust.operators import task  # noqa: F401
from airflow._gust.runtime import BaseHook, Connection, Variable  # noqa: F401

BaseSensorOperator = BaseOperator
