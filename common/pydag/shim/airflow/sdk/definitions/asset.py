"""Airflow 3's airflow.sdk.definitions.asset: assets and their conditions."""
from airflow._gust.model import Asset, AssetAlias, AssetAll, AssetAny, Metadata  # noqa: F401
