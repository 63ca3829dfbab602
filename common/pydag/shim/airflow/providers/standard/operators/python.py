from airflow._gust.model import get_current_context  # noqa: F401
from airflow._gust.operators import (  # noqa: F401
    BranchExternalPythonOperator, BranchPythonOperator, BranchPythonVirtualenvOperator,
    ExternalPythonOperator, PythonOperator, PythonVirtualenvOperator, ShortCircuitOperator,
)


def is_venv_installed():
    """Whether virtualenv operators can run: gust has none yet."""
    return False
