from airflow._gust.retry_policy import *  # noqa: F401,F403
from airflow._gust.retry_policy import ChainRetryPolicy, ExceptionRetryPolicy, RetryAction, RetryDecision, RetryPolicy, RetryRule  # noqa: F401
