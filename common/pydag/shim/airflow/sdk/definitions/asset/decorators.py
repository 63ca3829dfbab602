"""Airflow 3's @asset and @asset.multi."""
from airflow._gust.asset_dag import AssetDefinition, MultiAssetDefinition, asset  # noqa: F401
