"""Airflow 3's airflow.sdk.definitions.asset: assets and their conditions."""
from airflow._gust.assets import (  # noqa: F401
    Asset, AssetAlias, AssetAll, AssetAny, AssetNameRef, AssetRef, AssetUriRef, Metadata,
)
