"""Airflow's retry policies (airflow.sdk): evaluated by gust's worker-side
runner when a Python try fails; FAIL fails it without retry, RETRY may set
the delay before the next try, DEFAULT leaves the task's retries to it."""
import abc
import dataclasses
import datetime as _dt
import enum
import importlib
import logging

log = logging.getLogger(__name__)


class RetryAction(enum.Enum):
    RETRY = "retry"
    FAIL = "fail"
    DEFAULT = "default"


@dataclasses.dataclass(frozen=True)
class RetryDecision:
    action: RetryAction = RetryAction.DEFAULT
    retry_delay: _dt.timedelta = None
    reason: str = None

    @classmethod
    def fail(cls, reason=None):
        return cls(action=RetryAction.FAIL, reason=reason)

    @classmethod
    def retry(cls, delay=None, reason=None):
        return cls(action=RetryAction.RETRY, retry_delay=delay, reason=reason)

    @classmethod
    def default(cls):
        return cls()


class RetryPolicy(abc.ABC):
    @abc.abstractmethod
    def evaluate(self, exception, try_number, max_tries, context=None):
        """The decision for this failure."""


def _import(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclasses.dataclass
class RetryRule:
    exception: object
    action: RetryAction = RetryAction.RETRY
    retry_delay: _dt.timedelta = None
    reason: str = None
    match_subclasses: bool = True

    def __post_init__(self):
        for spec in self._specs:
            if isinstance(spec, str) and (not spec or "." not in spec):
                raise ValueError(f"RetryRule exception string must be a dotted import path (e.g. 'builtins.ValueError'), got {spec!r}")

    @property
    def _specs(self):
        return self.exception if isinstance(self.exception, list) else [self.exception]

    def matches(self, exc):
        classes = []
        for spec in self._specs:
            if isinstance(spec, type):
                classes.append(spec)
                continue
            try:
                classes.append(_import(spec))
            except (ImportError, AttributeError):
                log.warning("Could not import exception class %r, it will not match", spec)
        if not classes:
            return False
        return isinstance(exc, tuple(classes)) if self.match_subclasses else type(exc) in classes


class ExceptionRetryPolicy(RetryPolicy):
    """The first rule that matches the exception decides, else default."""

    def __init__(self, rules, default=RetryAction.DEFAULT):
        self.rules, self.default = list(rules), default

    def evaluate(self, exception, try_number, max_tries, context=None):
        for rule in self.rules:
            if rule.matches(exception):
                return RetryDecision(action=rule.action, retry_delay=rule.retry_delay,
                                     reason=rule.reason or f"Matched rule for {type(exception).__name__}")
        return RetryDecision(action=self.default)


class ChainRetryPolicy(RetryPolicy):
    """The first policy that answers RETRY or FAIL decides."""

    def __init__(self, policies):
        if isinstance(policies, RetryPolicy):
            raise TypeError("ChainRetryPolicy takes a sequence of policies; wrap the single policy in a list.")
        self.policies = list(policies)
        if not self.policies:
            raise ValueError("ChainRetryPolicy needs at least one policy.")
        for i, p in enumerate(self.policies):
            if not isinstance(p, RetryPolicy):
                raise TypeError(f"ChainRetryPolicy policies[{i}] must be a RetryPolicy, got {type(p).__name__}.")

    def evaluate(self, exception, try_number, max_tries, context=None):
        trail = []
        for p in self.policies:
            name = type(p).__name__
            try:
                d = p.evaluate(exception=exception, try_number=try_number, max_tries=max_tries, context=context)
            except Exception as e:  # noqa: BLE001 - a broken policy is no decision
                log.exception("%s raised while evaluating the retry policy; treated as no decision", name)
                trail.append(f"{name}: raised {type(e).__name__}")
                continue
            if not isinstance(d, RetryDecision):
                trail.append(f"{name}: invalid decision")
                continue
            if d.action is RetryAction.DEFAULT:
                trail.append(f"{name}: {d.reason or 'no decision'}")
                continue
            reason = f"{name}: {d.reason or d.action.value}"
            if trail:
                reason += f" (after {'; '.join(trail)})"
            return dataclasses.replace(d, reason=reason)
        return RetryDecision(reason="; ".join(trail) or None)
