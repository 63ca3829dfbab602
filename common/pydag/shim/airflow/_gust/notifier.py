"""Airflow's BaseNotifier: a callback object whose template_fields are
rendered with the context (by the worker) before notify(context)."""
import logging

log = logging.getLogger("airflow.task")


class BaseNotifier:
    template_fields = ()
    template_ext = ()

    def __init__(self, *args, **kwargs):
        pass

    def _render(self, value):
        from airflow._gust.runtime import render

        if isinstance(value, str):
            return render(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self._render(v) for v in value)
        if isinstance(value, dict):
            return {k: self._render(v) for k, v in value.items()}
        return value

    def render_template_fields(self, context, jinja_env=None):
        for name in self.template_fields:
            setattr(self, name, self._render(getattr(self, name, None)))

    def notify(self, context):
        raise NotImplementedError(f"{type(self).__name__} does not define notify(context)")

    def __call__(self, *args, **kwargs):
        # Airflow calls a notifier with the context; as Airflow's, a
        # notification that fails is logged, not raised.
        context = args[0] if args else kwargs.get("context", {})
        try:
            self.render_template_fields(context)
            self.notify(context)
        except Exception as e:  # noqa: BLE001 - logged, as Airflow's BaseNotifier does
            log.exception("Failed to send notification: %s", e)
