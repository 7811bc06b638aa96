"""Lambda entry points invoked the way `sam local invoke` would, without Docker: moto for DynamoDB and
Secrets Manager (table built from template.yaml), the fake upstream behind the app, events from events/.

``tests.lambda`` cannot be imported by name (``lambda`` is a keyword): pytest imports these modules by their
file names (hence the ``test_lambda_`` prefixes) and helpers reach the tests as fixtures.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import orjson
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.fakes.upstream import FakeUpstream

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
TABLE = "cliproxy-lambda-test"
CLIENT_KEY = "sk-cliproxy-test"  # the key the events carry
ENCRYPTION_KEY = "q0FhcV4s1h2Yb3wB8m5n6o7p8q9r0s1t2u3v4w5x6y8"
if str(ROOT) not in sys.path:  # for tests.fakes, when this directory is collected on its own
    sys.path.insert(0, str(ROOT))

from tests import dynamo  # noqa: E402 - after the path is set

UPSTREAM_KEYS = {"openai": "sk-up-openai", "claude": "sk-up-claude", "codex": "sk-up-codex"}


load_template = dynamo.load_template


def load_event(name: str) -> dict[str, Any]:
    return orjson.loads((EVENTS / name).read_bytes())


def lambda_context(name: str = "cliproxy-test") -> SimpleNamespace:
    return SimpleNamespace(function_name=name, function_version="$LATEST", memory_limit_in_mb=1024,
                           invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                           aws_request_id="0f8fad5b-d9cb-469f-a165-70867728950e",
                           get_remaining_time_in_millis=lambda: 900_000)


def create_table_from_template(client: Any) -> None:
    """The stack's table, as declared in template.yaml (key schema, billing, TTL)."""
    dynamo.create_table(client, TABLE)


def write_config(path: Path, fake: FakeUpstream) -> Path:
    """A config like deploy/config.lambda.yaml. No client keys, no upstream keys and no encryption key in the
    file: on Lambda all of them come from the stack's secrets."""
    doc = {
        "request-retry": 1,
        "store": {"backend": "dynamodb", "table": "from-the-stack", "region": "us-east-1"},
        "oauth": {"codex-token-url": fake.url + "/oauth/token", "claude-token-url": fake.url + "/v1/oauth/token"},
    }
    path.write_bytes(orjson.dumps(doc))  # JSON is YAML
    return path


def upstream_keys_secret(fake: FakeUpstream) -> str:
    """The UpstreamKeysSecret value: API-key upstreams on the fake."""
    return orjson.dumps({
        "openai-compatibility": [{"name": "openai", "base-url": fake.openai_base_url,
                                  "api-key-entries": [{"api-key": UPSTREAM_KEYS["openai"]}],
                                  "models": [{"name": "gpt-4o-mini"}]}],
        "claude-api-key": [{"api-key": UPSTREAM_KEYS["claude"], "base-url": fake.url}],
        "codex-api-key": [{"api-key": UPSTREAM_KEYS["codex"], "base-url": fake.codex_base_url}],
    }).decode()


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """The Lambda init exports secrets into os.environ (as it does on Lambda); undo that after each test so
    a proxy started by a later test does not inherit this test's client keys."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[FakeUpstream]:
    from tests.fakes.upstream import FakeUpstream

    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def on_lambda(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_upstream: FakeUpstream) -> Iterator[Any]:
    """A Lambda-like process: the stack's environment, its table and secrets in moto, fresh app/handler."""
    import boto3
    from moto import mock_aws

    from handlers import api, lambda_config, secrets, telemetry

    fake_upstream.reset()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "AWS_LAMBDA_FUNCTION_NAME": "cliproxy-BufferedFunction", "POWERTOOLS_METRICS_NAMESPACE": "cliproxy",
           "POWERTOOLS_SERVICE_NAME": "cliproxy", "CLIPROXY_STORE_BACKEND": "dynamodb", "CLIPROXY_TABLE": TABLE,
           "CLIPROXY_CONFIG": str(write_config(tmp_path / "config.lambda.yaml", fake_upstream))}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY"):
        # set first, so monkeypatch restores these too: the handler exports the secrets into os.environ
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name in ("app", "handler"):  # built lazily from the environment on first access
        monkeypatch.delitem(api.__dict__, name, raising=False)
    saved_logging = _save_logging()
    with mock_aws():
        create_table_from_template(boto3.client("dynamodb"))
        manager = boto3.client("secretsmanager")
        keys = manager.create_secret(Name="cliproxy-client-keys", SecretString=f"{CLIENT_KEY},sk-other")["ARN"]
        enc = manager.create_secret(Name="cliproxy-encryption-key", SecretString=ENCRYPTION_KEY)["ARN"]
        monkeypatch.setenv("CLIPROXY_API_KEYS_SECRET", keys)
        upstream = manager.create_secret(Name="cliproxy-upstream-keys", SecretString=upstream_keys_secret(fake_upstream))
        monkeypatch.setenv("CLIPROXY_ENCRYPTION_KEY_SECRET", enc)
        monkeypatch.setenv("CLIPROXY_UPSTREAM_KEYS_SECRET", upstream["ARN"])
        lambda_config.reset()
        secrets.reset()  # providers made under an earlier mock would talk to it still
        try:
            yield SimpleNamespace(fake=fake_upstream, dynamodb=boto3.client("dynamodb"), event=load_event,
                                  context=lambda_context(), client_key=CLIENT_KEY, upstream_keys=UPSTREAM_KEYS,
                                  encryption_key=ENCRYPTION_KEY, table=TABLE)
        finally:
            lambda_config.reset()
            secrets.reset()
            telemetry.reset()
            _restore_logging(saved_logging)


def _save_logging() -> dict[str, Any]:
    logger = logging.getLogger("cliproxy")
    return {**vars(logger), "handlers": list(logger.handlers), "filters": list(logger.filters)}


def _restore_logging(saved: dict[str, Any]) -> None:
    """Powertools' Logger takes over (and marks) the "cliproxy" logger; give it back as it was, so caplog
    works in later tests and a later Logger() starts clean."""
    logger = logging.getLogger("cliproxy")
    vars(logger).clear()
    vars(logger).update(saved)
