#!/bin/bash
# Lambda Web Adapter entry point (Handler: run.sh), on $PORT (8000: 8080 is the port the adapter and local
# emulators take themselves). The adapter proxies each invocation to this uvicorn server
# and streams its response back (AWS_LWA_INVOKE_MODE=response_stream). Layers are not on sys.path for a plain
# `python` process, so add the dependencies layer (/opt/python) and the code root ourselves.
set -euo pipefail
cd "${LAMBDA_TASK_ROOT:-$(dirname "$0")}"
export PYTHONPATH="/opt/python:${LAMBDA_TASK_ROOT:-$PWD}${PYTHONPATH:+:$PYTHONPATH}"
# uvicorn serving handlers.api:app on 127.0.0.1, started the way that is quickest to a first answer
exec python3 -m handlers.lambda_server "${PORT:-8000}"
