"""Whether this process runs as a Lambda function (the runtime sets ``AWS_LAMBDA_FUNCTION_NAME``): the one
test the handlers use to pick Lambda behaviour (secrets, metrics, the upstream client, no WebSocket)."""

from __future__ import annotations

import os


def on_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
