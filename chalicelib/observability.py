"""Observability: one JSON object per log line, with correlation keys, and metrics in CloudWatch's Embedded
Metric Format (EMF), both through aws-lambda-powertools.

- Logs. One powertools Logger owns the `billrun` logger, so every `billrun.*` logger (services, the HTTP
  layer) comes out as JSON with level, message, timestamp, service, stage and the correlation keys in force.
- Correlation keys (requestId, tenantId, jobId, ...) live in powertools' thread-safe keys: a context variable,
  so keys set by one request never show on another thread's lines (the local stack serves HTTP, runs the tick
  loop and the worker loop in threads of one process). `invocation` starts a fresh set per Lambda invocation
  (an HTTP request, a tick, an SQS message); `correlated` adds keys for a block and restores the earlier ones.
- Metrics. Each emission builds its own EphemeralMetrics (powertools' metric set that is not shared between
  instances, unlike `Metrics`) with the Stage dimension, and flushes it as one EMF line on stdout, which
  CloudWatch Logs turns into metrics in the `billrun` namespace. Nothing is shared between threads, and an empty
  set is never flushed. Values are counts and seconds, never money."""
import logging
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from .config import settings

SERVICE = "billrun"
NAMESPACE = "billrun"  # infra/alarms.py alarms on this namespace (a test checks they agree)
STAGE_DIMENSION = "Stage"

# The metrics billrun emits (docs/operations.md, Observability): name -> unit
TICK_LAG = "TickLagSeconds"
JOB_DURATION = "JobDurationSeconds"
INVOICES = "Invoices"
CREDIT_MEMOS = "CreditMemos"
ERRORS = "Errors"
UNITS_FAILED = "UnitsFailed"
JOBS_FAILED = "JobsFailed"
UNITS = {TICK_LAG: MetricUnit.Seconds, JOB_DURATION: MetricUnit.Seconds, INVOICES: MetricUnit.Count,
         CREDIT_MEMOS: MetricUnit.Count, ERRORS: MetricUnit.Count, UNITS_FAILED: MetricUnit.Count,
         JOBS_FAILED: MetricUnit.Count}

log = logging.getLogger("billrun.observability")
http_log = logging.getLogger("billrun.http")
_configured: Logger | None = None
_configuring = threading.Lock()


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is logged (Lambda's stdout; a test's capture), as the
    standard library's last-resort handler does for stderr."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value):
        pass


def configure() -> Logger:
    """Configures the `billrun` logger once per process (JSON lines on stdout, level from POWERTOOLS_LOG_LEVEL,
    INFO by default); later calls answer the same Logger."""
    global _configured
    if _configured is None:
        with _configuring:
            if _configured is None:
                _configured = Logger(service=SERVICE, logger_handler=_StdoutHandler(), utc=True, use_rfc3339=True,
                                     log_record_order=["level", "message", "timestamp", "service", "stage"],
                                     stage=settings().stage)
                logging.getLogger(SERVICE).propagate = False  # one line per record, whatever the root logger has
    return _configured


# --- correlation keys ----------------------------------------------------------------------------------------

def current() -> dict[str, Any]:
    """The correlation keys in force on this thread (in this context)."""
    return dict(configure().thread_safe_get_current_keys())


def _replace(keys: dict[str, Any]) -> None:
    logger = configure()
    logger.thread_safe_clear_keys()  # a new dict in the context variable: nothing is changed in place
    logger.thread_safe_append_keys(**keys)


def bind(**keys) -> None:
    """Adds keys (None is left out) until the enclosing `invocation` or `correlated` block ends."""
    _replace({**current(), **{k: v for k, v in keys.items() if v is not None}})


@contextmanager
def correlated(**keys) -> Iterator[None]:
    """These keys on every line logged in the block; the keys in force before are restored after it."""
    before = current()
    bind(**keys)
    try:
        yield
    finally:
        _replace(before)


@contextmanager
def invocation(request_id: str | None, **keys) -> Iterator[None]:
    """One Lambda invocation: a fresh set of keys (nothing left over from an earlier invocation on this thread)
    with its requestId (a generated one when none is known, as locally)."""
    logger = configure()
    logger.append_keys(stage=settings().stage)
    before = current()
    _replace({"requestId": request_id or str(uuid.uuid4()), **{k: v for k, v in keys.items() if v is not None}})
    try:
        yield
    finally:
        _replace(before)


def lambda_request_id(context) -> str | None:
    """The Lambda context's request id (None without a context: the local tick and worker loops pass none)."""
    return getattr(context, "aws_request_id", None)


def http_middleware(request, get_response):
    """Chalice HTTP middleware: the invocation's keys (API Gateway's request id, else the Lambda's), and one line
    per request: method, path template, status and duration. The HTTP layer adds tenantId once the key is known."""
    context = request.context or {}
    request_id = context.get("requestId") or lambda_request_id(getattr(request, "lambda_context", None))
    started = time.perf_counter()
    with invocation(request_id, method=request.method, path=context.get("resourcePath")):
        status = 500
        try:
            response = get_response(request)
            status = response.status_code
            return response
        finally:
            keys = current()
            http_log.info("%s %s %s", keys.get("method"), keys.get("path"), status, extra={
                "status": status, "durationMs": round((time.perf_counter() - started) * 1000, 1)})


def event_middleware(event, get_response):
    """Chalice middleware for the tick (EventBridge) and the worker (SQS): the invocation's keys."""
    with invocation(lambda_request_id(event.context)):
        return get_response(event)


# --- metrics -------------------------------------------------------------------------------------------------

def emit(values: dict[str, float], **properties) -> None:
    """One EMF document: these metrics (units from UNITS), dimension Stage, and as properties (searchable in the
    logs, not dimensions) the correlation keys in force plus `properties`. Never raises: metrics must not break
    billing."""
    if not values:
        return
    try:
        metrics = EphemeralMetrics(namespace=NAMESPACE)
        metrics.service = None  # no `service` dimension (POWERTOOLS_SERVICE_NAME would add one): Stage only
        metrics.add_dimension(name=STAGE_DIMENSION, value=settings().stage)
        for name, value in values.items():
            metrics.add_metric(name=name, unit=UNITS[name], value=value)
        for key, value in {"service": SERVICE, **current(), **properties}.items():
            if value is not None:
                metrics.add_metadata(key=key, value=value)
        handler = configure().registered_handler
        handler.acquire()  # the document is printed in two writes: no log line of another thread between them
        try:
            metrics.flush_metrics(raise_on_empty_metrics=True)
        finally:
            handler.release()
    except Exception:  # a bug here is logged, never raised into the work being measured
        log.exception("metrics %s could not be emitted", sorted(values))
