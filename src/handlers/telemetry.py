"""Per-request metrics and structured logs on Lambda; nothing measurable locally.

``observe(outcome)`` receives ``core.service.Outcome`` for every finished request. On Lambda
(``AWS_LAMBDA_FUNCTION_NAME`` set) it writes one CloudWatch EMF record per request through Powertools,
with dimensions ``provider`` and ``model``: Requests, Errors, Streams, AddedLatency, Retries, Cooldowns,
InputTokens, OutputTokens, CachedTokens. Flushed at once, because under the web adapter there is no
handler return at which Powertools would flush. Powertools is imported on first use only.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from core.service import Outcome

_metrics: Any = None
_logging_ready = False

# Bearer tokens, sk-/sk-ant- keys, JWTs, Google API keys and our enc:v1: ciphertexts.
_SECRET_PATTERN = re.compile(
    r"(?i)(bearer\s+)[^\s\"',;]+"
    r"|\bsk-[A-Za-z0-9_\-]{8,}"
    r"|\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
    r"|\bAIza[0-9A-Za-z_\-]{20,}"
    r"|\benc:v1:[A-Za-z0-9_\-=]+"
)


def observe(outcome: Outcome) -> None:
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    metrics = _emf()
    metrics.add_dimension(name="provider", value=outcome.provider or "none")
    metrics.add_dimension(name="model", value=outcome.model or "none")
    for name, unit, value in _values(outcome):
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.add_metadata(key="status", value=outcome.status)
    metrics.flush_metrics()


def _values(o: Outcome) -> Iterator[tuple[str, str, float]]:
    yield "Requests", "Count", 1
    yield "Errors", "Count", 1 if o.status >= 400 else 0
    yield "Streams", "Count", 1 if o.stream else 0
    yield "AddedLatency", "Milliseconds", float(o.added_ms)
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
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    metrics = _emf()
    for name, value in counts.items():
        metrics.add_metric(name=name, unit="Count", value=value)
    metrics.flush_metrics()


def redact(text: str) -> str:
    """``text`` with anything that looks like a key, token or ciphertext replaced by ``***``."""
    return _SECRET_PATTERN.sub(lambda m: (m.group(1) or "") + "***", text)


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
    if _logging_ready or not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    from aws_lambda_powertools import Logger

    Logger(service="cliproxy")  # formats the stdlib "cliproxy" logger, parent of every cliproxy.* logger
    for handler in logging.getLogger("cliproxy").handlers:  # handler filters also see children's records
        handler.addFilter(RedactSecrets())
    _logging_ready = True


def reset() -> None:
    """Forget the metrics object and the logging setup (tests)."""
    global _metrics, _logging_ready
    _metrics, _logging_ready = None, False
