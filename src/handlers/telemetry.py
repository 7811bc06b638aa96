"""Per-request metrics and structured logs on Lambda; nothing measurable locally.

``observe(outcome)`` receives ``core.call.Outcome`` for every finished request. On Lambda
(``AWS_LAMBDA_FUNCTION_NAME`` set) it writes two CloudWatch EMF records per request through Powertools:

- by ``service`` only: Requests, Errors (5xx answers), AddedLatency - what the alarms and the dashboard read;
- by ``service``, ``provider``, ``model`` and ``status_class``: those plus Streams, Retries, Cooldowns and the
  token counts.

Every dimension is bounded, since each distinct value is a billed metric: ``model`` is the catalog model the
client's name resolves to, or ``other`` (a client may send any string); ``provider`` comes from the config;
``status_class`` is ``2xx``/``4xx``/``5xx``. The request id is metadata, not a dimension. Records are flushed
at once, because under the web adapter there is no handler return at which Powertools would flush.

Logs: Powertools JSON for every ``cliproxy.*`` logger, tokens redacted, and each record carries the
request's ids (``RequestIds``, an ASGI middleware): API Gateway's ``requestId`` and Lambda's ``aws_request_id``,
from the web adapter's ``x-amzn-request-context`` / ``x-amzn-lambda-context`` headers or, under Mangum,
from the event and context. Powertools is imported on first use only.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
from typing import TYPE_CHECKING, Any

import orjson

from handlers.on_lambda import on_lambda

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from core.call import Outcome

_metrics: Any = None
_logging_ready = False
_request_ids: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("request_ids", default=None)
OTHER_MODEL = "other"

# Bearer tokens, sk-/sk-ant- keys, JWTs, Google API keys and our enc:v1: ciphertexts.
_SECRET_PATTERN = re.compile(
    r"(?i)(bearer\s+)[^\s\"',;]+"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
    r"|\bAIza[0-9A-Za-z_\-]{20,}"
    r"|\benc:v1:[A-Za-z0-9_\-=]+"
)


def observe(outcome: Outcome) -> None:
    if not on_lambda():
        return
    metrics = _emf()
    values = list(_values(outcome))
    for name, unit, value in values[:3]:  # the service-wide totals the alarms read
        metrics.add_metric(name=name, unit=unit, value=value)
    _add_ids(metrics, outcome.status)
    metrics.flush_metrics()
    metrics.add_dimension(name="provider", value=outcome.provider or "none")
    metrics.add_dimension(name="model", value=bounded_model(outcome.model))
    metrics.add_dimension(name="status_class", value=status_class(outcome.status))
    for name, unit, value in values:
        metrics.add_metric(name=name, unit=unit, value=value)
    _add_ids(metrics, outcome.status)
    metrics.flush_metrics()


def _add_ids(metrics: Any, status: int) -> None:
    metrics.add_metadata(key="status", value=status)
    for key, value in (_request_ids.get() or {}).items():
        metrics.add_metadata(key=key, value=value)


async def warm_up(rt: Any) -> None:
    """On Lambda under the web adapter (uvicorn's startup runs before the readiness check passes): build the
    store, the upstream client and the pool snapshot, and load the metrics library, so the first request
    pays none of it. A failure here is logged by kind and left to the first request to retry."""
    if not on_lambda():
        return
    try:
        await (await rt.deps()).state.snapshot()
        _emf()
    except Exception as exc:  # noqa: BLE001 - init must not die on what a request can redo
        logging.getLogger("cliproxy").warning("warm-up at init skipped: %s", type(exc).__name__)


def bounded_model(model: str) -> str:
    """The catalog id ``model`` resolves to (suffix and date forms included), else ``other``."""
    from core import catalog
    from core.models import parse_suffix

    entry = catalog.lookup(parse_suffix(model)[0]) if model else None
    return entry.id if entry is not None else OTHER_MODEL


def status_class(status: int) -> str:
    return f"{min(max(status // 100, 1), 5)}xx"


def emit_states(counts: Mapping[str, int]) -> None:
    """``Credentials`` by ``state`` (one record each: a dimension set per state). No-op off Lambda."""
    if not on_lambda():
        return
    metrics = _emf()
    for state, count in counts.items():
        metrics.add_dimension(name="state", value=state)
        metrics.add_metric(name="Credentials", unit="Count", value=count)
        metrics.flush_metrics()


def _values(o: Outcome) -> Iterator[tuple[str, str, float]]:
    yield "Requests", "Count", 1
    yield "Errors", "Count", 1 if o.status >= 500 else 0
    yield "AddedLatency", "Milliseconds", float(o.added_ms)
    yield "Streams", "Count", 1 if o.stream else 0
    yield "Retries", "Count", o.retries
    yield "Cooldowns", "Count", o.cooldowns
    yield "InputTokens", "Count", o.input_tokens
    yield "OutputTokens", "Count", o.output_tokens
    yield "CachedTokens", "Count", o.cached_tokens


def _emf() -> Any:
    global _metrics
    if _metrics is None:
        from aws_lambda_powertools import Metrics

        _metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "cliproxy"))
    return _metrics


def emit_counts(counts: dict[str, int]) -> None:
    """A few plain counters without dimensions (the refresher's summary). No-op off Lambda."""
    if not on_lambda():
        return
    metrics = _emf()
    for name, value in counts.items():
        metrics.add_metric(name=name, unit="Count", value=value)
    metrics.flush_metrics()


def redact(text: str) -> str:
    """``text`` with anything that looks like a key, token or ciphertext replaced by ``***``."""
    return _SECRET_PATTERN.sub(lambda m: (m.group(1) or "") + "***", text)


class RequestIds:
    """ASGI middleware: the request's ids for its log records and metrics (a context variable, so concurrent
    requests never see each other's). Reads only the ids, never another header."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request_ids.set(request_ids(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _request_ids.reset(token)


def request_ids(scope: Mapping[str, Any]) -> dict[str, str]:
    """``{"requestId": API Gateway's, "lambdaRequestId": Lambda's}`` where known."""
    ids: dict[str, str] = {}
    headers = dict(scope.get("headers") or ())
    api_context = _json_header(headers.get(b"x-amzn-request-context"))
    lambda_context = _json_header(headers.get(b"x-amzn-lambda-context"))
    event, context = scope.get("aws.event") or {}, scope.get("aws.context")  # Mangum
    api_id = api_context.get("requestId") or (event.get("requestContext") or {}).get("requestId")
    lambda_id = lambda_context.get("request_id") or getattr(context, "aws_request_id", None)
    if isinstance(api_id, str) and api_id:
        ids["requestId"] = api_id[:128]
    if isinstance(lambda_id, str) and lambda_id:
        ids["lambdaRequestId"] = lambda_id[:128]
    return ids


def _json_header(raw: bytes | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


class AddRequestIds(logging.Filter):
    """Puts the current request's ids on each record; Powertools' formatter writes them as fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_request_ids.get() or {}).items():
            setattr(record, key, value)
        return True


class RedactSecrets(logging.Filter):
    """Last line of defence: no record leaves the process with a token in it, whatever the caller did."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging() -> None:
    """On Lambda: Powertools JSON logs for every ``cliproxy.*`` logger, with the redaction filter."""
    global _logging_ready
    if _logging_ready or not on_lambda():
        return
    from aws_lambda_powertools import Logger

    Logger(service="cliproxy")  # formats the stdlib "cliproxy" logger, parent of every cliproxy.* logger
    for handler in logging.getLogger("cliproxy").handlers:  # handler filters also see children's records
        handler.addFilter(AddRequestIds())
        handler.addFilter(RedactSecrets())
    _logging_ready = True


def reset() -> None:
    """Forget the metrics object and the logging setup (tests)."""
    global _metrics, _logging_ready
    _metrics, _logging_ready = None, False
