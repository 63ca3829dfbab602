DROP TABLE dagrun_asset_event;
DROP TABLE asset_dag_run_queue;
DROP TABLE task_outlet_asset_reference;
DROP TABLE dag_schedule_asset_reference;
DROP TABLE asset_event;
DROP TABLE asset;
