from airflow._gust.model import get_current_context  # noqa: F401
from airflow._gust.operators import (  # noqa: F401
    BranchExternalPythonOperator, BranchPythonOperator, BranchPythonVirtualenvOperator,
    ExternalPythonOperator, PythonOperator, PythonVirtualenvOperator, ShortCircuitOperator,
)
