"""Cold import of ``handlers.api`` in fresh interpreters: best-of-N time and the heaviest imports.

Measured with bytecode already compiled, as in a built Lambda bundle (compileall at build time): the
interpreter writes it to a private cache on a first, unmeasured run, whatever PYTHONDONTWRITEBYTECODE says.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_TIMED = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_ms(module: str = "handlers.api", *, runs: int = 5, python: str = sys.executable) -> float:
    """Best of ``runs`` fresh-process imports of ``module``, in ms."""
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for i in range(runs + 1):
            out = subprocess.run([python, "-c", _TIMED.format(module=module)], capture_output=True, text=True,
                                 check=True, env=env)
            if i:  # the first run compiles
                best = min(best, float(out.stdout.strip()) * 1000)
    return best


def heaviest(module: str = "handlers.api", *, top: int = 8, python: str = sys.executable) -> list[tuple[str, float]]:
    """The top-level packages ``module`` pulls in, by cumulative import time (ms), from ``-X importtime``."""
    out = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True,
                         check=True)
    packages: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not cumulative.isdigit() or name.startswith(" ") or "." in name.strip():
            continue
        packages[name.strip()] = max(packages.get(name.strip(), 0.0), int(cumulative) / 1000)
    return sorted(packages.items(), key=lambda kv: -kv[1])[:top]


# A cold Lambda start as the buffered handler sees it: a fresh interpreter imports ``handlers.api`` and
# answers one API Gateway chat-completions event through Mangum, which builds the app, the store and the
# upstream client on the way.
_FIRST = """
import time, json
t = time.perf_counter()
import handlers.api
event = {{"resource": "/{{proxy+}}", "path": "/v1/chat/completions", "httpMethod": "POST",
          "headers": {{"authorization": "Bearer {key}", "content-type": "application/json"}},
          "multiValueHeaders": {{}}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
          "requestContext": {{"resourcePath": "/{{proxy+}}", "httpMethod": "POST", "path": "/v1/chat/completions",
                              "identity": {{"sourceIp": "203.0.113.10"}}, "stage": "prod"}},
          "body": json.dumps({{"model": "{model}", "messages": [{{"role": "user", "content": "hi"}}]}}),
          "isBase64Encoded": False}}
answer = handlers.api.handler(event, type("Context", (), {{"aws_request_id": "bench"}})())
assert answer["statusCode"] == 200, answer
print(time.perf_counter() - t)
"""


def first_response_ms(config: str, *, key: str, model: str, runs: int = 3, python: str = sys.executable) -> float:
    """Best of ``runs`` cold starts to the first answer of the buffered Lambda handler, in ms."""
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"PYTHONPYCACHEPREFIX": cache, "CLIPROXY_CONFIG": config}
        script = _FIRST.format(key=key, model=model)
        for i in range(runs + 1):
            out = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True, env=env)
            if i:  # the first run compiles
                best = min(best, float(out.stdout.strip().splitlines()[-1]) * 1000)
    return best
