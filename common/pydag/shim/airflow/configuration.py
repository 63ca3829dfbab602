"""Airflow's configuration (`from airflow.configuration import conf`), as a
DAG file reads it: AIRFLOW__SECTION__KEY or GUST__SECTION__KEY from the
environment, else the caller's fallback, else Airflow 3's default for the
few keys DAG files read; any other key is AirflowConfigException, as in
Airflow."""
import os

from airflow.exceptions import AirflowConfigException

_DEFAULTS = {
    ("core", "default_timezone"): "utc",
    ("core", "max_map_length"): "1024",
    ("core", "default_task_retries"): "0",
    ("core", "load_examples"): "False",
    ("core", "dags_are_paused_at_creation"): "True",
    ("core", "max_active_runs_per_dag"): "16",
    ("core", "max_active_tasks_per_dag"): "16",
    ("core", "default_pool_task_slot_count"): "128",
    ("scheduler", "catchup_by_default"): "False",
    ("scheduler", "create_cron_data_intervals"): "False",
    ("operators", "default_queue"): "default",
    ("operators", "default_owner"): "airflow",
}

_MISSING = object()


class AirflowConfigParser:
    def get(self, section, key, fallback=_MISSING, **kwargs):
        section, key = section.lower(), key.lower()
        for prefix in ("AIRFLOW__", "GUST__"):
            v = os.environ.get(f"{prefix}{section.upper()}__{key.upper()}")
            if v is not None:
                return v
        if fallback is not _MISSING:
            return fallback
        if (section, key) in _DEFAULTS:
            return _DEFAULTS[(section, key)]
        raise AirflowConfigException(f"section/key [{section}/{key}] not found in config")

    def getboolean(self, section, key, fallback=_MISSING, **kwargs):
        v = self.get(section, key, fallback=fallback)
        if isinstance(v, bool) or v is None:
            return v
        s = str(v).strip().lower()
        if s in ("t", "true", "1"):
            return True
        if s in ("f", "false", "0"):
            return False
        raise AirflowConfigException(f'Failed to convert value to bool. Please check "{key}" key in "{section}" section. Current value: "{v}".')

    def getint(self, section, key, fallback=_MISSING, **kwargs):
        v = self.get(section, key, fallback=fallback)
        try:
            return v if v is None else int(v)
        except ValueError:
            raise AirflowConfigException(f'Failed to convert value to int. Please check "{key}" key in "{section}" section. Current value: "{v}".') from None

    def getfloat(self, section, key, fallback=_MISSING, **kwargs):
        v = self.get(section, key, fallback=fallback)
        try:
            return v if v is None else float(v)
        except ValueError:
            raise AirflowConfigException(f'Failed to convert value to float. Please check "{key}" key in "{section}" section. Current value: "{v}".') from None

    def has_option(self, section, key, **kwargs):
        try:
            self.get(section, key)
            return True
        except AirflowConfigException:
            return False


conf = AirflowConfigParser()
