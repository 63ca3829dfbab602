DROP TABLE task_inlet_asset_reference;
DROP TABLE dag_schedule_asset_alias_reference;
DROP TABLE asset_alias_asset_event;
DROP TABLE asset_alias_asset;
DROP TABLE asset_alias;
