"""The compat provider's re-exports of the task SDK
(`from airflow.providers.common.compat.sdk import TriggerRule`)."""
from airflow.sdk import *  # noqa: F401,F403
from airflow.sdk import TriggerRule  # noqa: F401
from airflow.exceptions import *  # noqa: F401,F403


def __getattr__(name):
    import airflow.exceptions
    import airflow.sdk

    for m in (airflow.sdk, airflow.exceptions):
        if hasattr(m, name):
            return getattr(m, name)
    return getattr(airflow.sdk, name)
