#!/bin/bash
# Lambda Web Adapter entry point (Handler: run.sh), on $PORT (8000: 8080 is the port the adapter and local
# emulators take themselves). The adapter proxies each invocation to this uvicorn server
# and streams its response back (AWS_LWA_INVOKE_MODE=response_stream). Layers are not on sys.path for a plain
# `python` process, so add the dependencies layer (/opt/python) and the code root ourselves.
set -euo pipefail
cd "${LAMBDA_TASK_ROOT:-$(dirname "$0")}"
export PYTHONPATH="/opt/python:${LAMBDA_TASK_ROOT:-$PWD}${PYTHONPATH:+:$PYTHONPATH}"
exec python3 -m uvicorn handlers.api:app \
  --host 127.0.0.1 --port "${PORT:-8000}" \
  --no-access-log --timeout-keep-alive 75 --log-level warning
