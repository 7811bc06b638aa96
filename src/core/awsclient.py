"""boto3 clients with explicit timeouts and standard retries, for every AWS call the proxy makes.

botocore's defaults (60 s connect and read timeouts, legacy retries) would let one stuck DynamoDB or Secrets
Manager call hold a request, or a cold start, for minutes. Here a call fails within seconds and is retried by
the standard mode (3 attempts with jittered backoff, throttling included). boto3 is imported on first use.
"""

from __future__ import annotations

import threading
from typing import Any

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
MAX_ATTEMPTS = 3
_lock = threading.Lock()  # boto3's default session is not safe to make clients from in parallel


def client_config() -> Any:
    """The botocore ``Config`` every client here uses."""
    from botocore.config import Config

    return Config(connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S,
                  retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})


def client(service: str, **kwargs: Any) -> Any:
    """``boto3.client(service, **kwargs)`` with ``client_config()``. Every client comes from boto3's default
    session, so the service models and endpoint data it has loaded are loaded once per process."""
    import boto3

    with _lock:
        return boto3.client(service, config=client_config(), **kwargs)
