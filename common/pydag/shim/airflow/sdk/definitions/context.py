from airflow._gust.model import Context, get_current_context, get_parsing_context  # noqa: F401
