"""Config loading: CLIProxyAPI keys to dataclasses and credentials, `file: key: what is wrong` errors."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from core import config
from core.config import ConfigError
from core.credentials import ModelAlias, ThinkingSupport

ROOT = Path(__file__).resolve().parents[2]
KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY", "CLIPROXY_STORE_BACKEND", "CLIPROXY_TABLE",
                 "CLIPROXY_STORE_ENDPOINT", "AWS_REGION", "CLIPROXY_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def load_text(tmp_path: Path, text: str) -> config.Config:
    return config.load(write(tmp_path, text))


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_empty_file_gives_the_defaults(tmp_path):
    cfg = load_text(tmp_path, "")

    assert cfg == config.Config(source=cfg.source)
    assert (cfg.host, cfg.port, cfg.request_retry, cfg.max_body_bytes) == ("127.0.0.1", 8317, 3, 32 * 1024 * 1024)
    assert cfg.routing == config.RoutingConfig("round-robin", True, 3600.0)
    assert cfg.store.backend == "sqlite" and cfg.store.path == "./data/cliproxy.db"


def test_top_level_keys_are_read(tmp_path):
    cfg = load_text(tmp_path, f"""
        host: 0.0.0.0
        port: 9000
        api-keys: [k1, " k2 "]
        request-retry: 1
        max-body-bytes: 1024
        routing: {{strategy: fill-first, session-affinity: false, session-affinity-ttl: 30m}}
        store: {{backend: dynamodb, table: t, region: eu-west-1, endpoint-url: "http://127.0.0.1:8000"}}
        oauth: {{codex-token-url: "http://127.0.0.1:1/token", claude-token-url: "http://127.0.0.1:2/token"}}
        encryption-key: {KEY}
    """)

    assert (cfg.host, cfg.port, cfg.api_keys, cfg.request_retry, cfg.max_body_bytes) == (
        "0.0.0.0", 9000, ("k1", "k2"), 1, 1024)
    assert cfg.routing == config.RoutingConfig("fill-first", False, 1800.0)
    assert cfg.store == config.StoreConfig("dynamodb", "./data/cliproxy.db", "t", "eu-west-1",
                                           "http://127.0.0.1:8000", encryption_key=KEY)
    assert cfg.oauth == config.OAuthConfig("http://127.0.0.1:1/token", "http://127.0.0.1:2/token")
    assert cfg.encryption_key == KEY


@pytest.mark.parametrize(("raw", "seconds"), [("1h", 3600.0), ("30m", 1800.0), ("90s", 90.0), (45, 45.0),
                                              ("1h30m", 5400.0), ("500ms", 0.5), (2.5, 2.5)])
def test_durations(tmp_path, raw, seconds):
    cfg = load_text(tmp_path, f"routing: {{session-affinity-ttl: {raw}}}")

    assert cfg.routing.session_affinity_ttl == seconds


def test_api_key_entries_become_credentials(tmp_path):
    cfg = load_text(tmp_path, """
        claude-api-key:
          - api-key: sk-ant-secret-1
            base-url: https://claude.example/
            prefix: team
            priority: 5
            models: [{name: claude-sonnet-4-5, alias: sonnet}, {name: claude-opus-4-1}]
            excluded-models: ["*-haiku-*"]
            headers: {X-Team: blue, X-Num: 7}
        gemini-api-key: [{api-key: AIza-1}]
        codex-api-key: [{api-key: sk-codex-1, base-url: "https://api.openai.com/v1"}]
    """)

    claude, gemini, codex = sorted(cfg.credentials, key=lambda c: ["claude", "gemini", "codex"].index(c.kind))
    assert (claude.kind, claude.provider, claude.auth_type, claude.source) == ("claude", "claude", "api_key", "config")
    assert claude.api_key == "sk-ant-secret-1" and claude.base_url == "https://claude.example/"
    assert (claude.prefix, claude.priority, claude.excluded_models) == ("team", 5, ("*-haiku-*",))
    assert claude.models == (ModelAlias("claude-sonnet-4-5", "sonnet"), ModelAlias("claude-opus-4-1", "claude-opus-4-1"))
    assert claude.headers == {"X-Team": "blue", "X-Num": "7"}
    assert (gemini.kind, gemini.api_key, gemini.base_url) == ("gemini", "AIza-1", None)
    assert (codex.kind, codex.provider) == ("codex", "codex")


def test_credential_ids_are_stable_distinct_and_never_contain_the_key(tmp_path):
    text = """
        claude-api-key: [{api-key: sk-ant-secret-1}, {api-key: sk-ant-secret-2},
                         {api-key: sk-ant-secret-1, base-url: "https://other.example"}]
    """
    first = [c.id for c in load_text(tmp_path, text).credentials]
    again = [c.id for c in load_text(tmp_path, text).credentials]

    assert first == again and len(set(first)) == 3
    assert all(i.startswith("claude-") and "secret" not in i for i in first)
    assert "sk-ant" not in repr(load_text(tmp_path, text))


def test_repeated_entry_is_kept_once(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="cliproxy.config"):
        cfg = load_text(tmp_path, "gemini-api-key: [{api-key: a}, {api-key: a}]")

    assert len(cfg.credentials) == 1
    assert "repeats an earlier one" in caplog.text


def test_openai_compatibility_makes_one_credential_per_key(tmp_path):
    cfg = load_text(tmp_path, """
        openai-compatibility:
          - name: OpenRouter
            base-url: https://openrouter.ai/api/v1
            api-key-entries: [{api-key: or-1}, {api-key: or-2}]
            prefix: or
            models:
              - {name: deepseek/deepseek-r1, alias: r1,
                 thinking: {levels: [Low, high], min-budget: 128, max-budget: 4096, zero-allowed: true}}
              - {name: moonshotai/kimi-k2}
          - name: local
            base-url: http://127.0.0.1:11434/v1
    """)

    first, second, local = cfg.credentials
    assert [c.api_key for c in (first, second, local)] == ["or-1", "or-2", None]
    assert {c.kind for c in cfg.credentials} == {"openai_compat"}
    assert (first.provider, first.prefix, local.provider) == ("openrouter", "or", "local")
    assert first.models == (ModelAlias("deepseek/deepseek-r1", "r1"), ModelAlias("moonshotai/kimi-k2", "moonshotai/kimi-k2"))
    assert first.model_thinking == {"deepseek/deepseek-r1": ThinkingSupport(("low", "high"), 128, 4096, True, False)}
    assert first.id != second.id and first.id.startswith("openrouter-")


def test_unknown_top_level_key_is_ignored_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="cliproxy.config"):
        cfg = load_text(tmp_path, "auth-dir: ~/.cli-proxy-api\nport: 1234\n")

    assert cfg.port == 1234
    assert "auth-dir: unknown key ignored" in caplog.text


def test_cliproxyapi_entry_keys_we_do_not_use_only_warn(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="cliproxy.config"):
        cfg = load_text(tmp_path, "codex-api-key: [{api-key: k, proxy-url: 'socks5://h:1'}]")

    assert len(cfg.credentials) == 1
    assert "codex-api-key[0].proxy-url: not supported; ignored" in caplog.text


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n- b\n", "expected a mapping, got a list"),
    ("port: abc", "port: expected an integer, got 'abc'"),
    ("port: 70000", "port: must be between 0 and 65535, got 70000"),
    ("port: true", "port: expected an integer, got True"),
    ("request-retry: -1", "request-retry: must be at least 0, got -1"),
    ("api-keys: sk-1", "api-keys: expected a list, got a value of type str"),
    ("api-keys: [12345]", "api-keys[0]: expected a non-empty string or a mapping, got a value of type int"),
    ("host: [1]", "host: expected a string, got a list"),
    ("routing: {strategy: random}", "routing.strategy: expected round-robin or fill-first, got 'random'"),
    ("routing: {session-affinity: yes please}", "routing.session-affinity: expected true or false, got 'yes please'"),
    ("routing: {session-affinity-ttl: 1 hour}",
     "routing.session-affinity-ttl: expected a duration like 1h, 30m or 90s, got '1 hour'"),
    ("routing: {session-affinity-ttl: 0s}", "routing.session-affinity-ttl: must be positive, got '0s'"),
    ("claude-api-key: [{apikey: sk-1}]", "claude-api-key[0].apikey: unknown key"),
    ("claude-api-key: [{base-url: 'https://x'}]", "claude-api-key[0].api-key: required"),
    ("claude-api-key: [{api-key: 123456}]", "claude-api-key[0].api-key: expected a string, got a value of type int"),
    ("gemini-api-key: {api-key: k}", "gemini-api-key: expected a list, got a mapping"),
    ("codex-api-key: [{api-key: k, prefix: a/b}]", "codex-api-key[0].prefix: must not contain '/', got 'a/b'"),
    ("codex-api-key: [{api-key: k, priority: high}]", "codex-api-key[0].priority: expected an integer, got 'high'"),
    ("codex-api-key: [{api-key: k, models: [{alias: x}]}]", "codex-api-key[0].models[0].name: required"),
    ("codex-api-key: [{api-key: k, models: [{name: a, thinking: {}}]}]", "codex-api-key[0].models[0].thinking: unknown key"),
    ("claude-api-key: [{api-key: k, models: [{name: a, alias: fast}, {name: b, alias: Fast}]}]",
     "claude-api-key[0].models[1].alias: duplicate alias 'Fast'"),
    ("openai-compatibility: [{base-url: 'http://x/v1'}]", "openai-compatibility[0].name: required"),
    ("openai-compatibility: [{name: x}]", "openai-compatibility[0].base-url: required"),
    ("openai-compatibility: [{name: x, base-url: 'http://x/v1', api-key-entries: [{key: k}]}]",
     "openai-compatibility[0].api-key-entries[0].key: unknown key"),
    ("openai-compatibility: [{name: x, base-url: 'http://x/v1', models: [{name: m, thinking: {levels: low}}]}]",
     "openai-compatibility[0].models[0].thinking.levels: expected a list, got 'low'"),
    ("store: {backend: postgres}", "store.backend: expected one of sqlite, dynamodb, memory, got 'postgres'"),
    ("store: {endpoint_url: x}", "store.endpoint_url: unknown key"),
    ("encryption-key: abc", "encryption-key: expected urlsafe base64 of 32 bytes, got 2 bytes"),
])
def test_errors_name_the_file_the_key_and_the_problem(tmp_path, text, message):
    assert error_of(tmp_path, text) == message


def test_invalid_yaml_is_reported_with_its_position(tmp_path):
    assert error_of(tmp_path, "port: [1,\n").startswith("invalid YAML at line")


def test_unreadable_file(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read file: No such file or directory"):
        config.load(missing)


def test_secrets_never_appear_in_errors(tmp_path):
    message = error_of(tmp_path, "openai-compatibility: [{name: x, base-url: 'http://x', api-keys: [['sk-secret-9']]}]")

    assert "sk-secret-9" not in message


def test_env_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIPROXY_API_KEYS", "a, b,,c")
    monkeypatch.setenv("CLIPROXY_ENCRYPTION_KEY", KEY)
    monkeypatch.setenv("CLIPROXY_STORE_BACKEND", "DynamoDB")
    monkeypatch.setenv("CLIPROXY_TABLE", "stack-table")
    monkeypatch.setenv("CLIPROXY_STORE_ENDPOINT", "http://127.0.0.1:8000")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")

    cfg = load_text(tmp_path, "api-keys: [file-key]\nstore: {backend: sqlite, table: t}")

    assert cfg.api_keys == ("a", "b", "c")
    assert cfg.encryption_key == KEY and cfg.store.encryption_key == KEY
    assert (cfg.store.backend, cfg.store.table, cfg.store.endpoint_url, cfg.store.region) == (
        "dynamodb", "stack-table", "http://127.0.0.1:8000", "eu-central-1")


def test_bad_env_values_are_config_errors(monkeypatch):
    monkeypatch.setenv("CLIPROXY_STORE_BACKEND", "redis")
    with pytest.raises(ConfigError, match="CLIPROXY_STORE_BACKEND: expected one of"):
        config.defaults()
    monkeypatch.setenv("CLIPROXY_STORE_BACKEND", "memory")
    monkeypatch.setenv("CLIPROXY_ENCRYPTION_KEY", "short")
    with pytest.raises(ConfigError, match="CLIPROXY_ENCRYPTION_KEY: expected urlsafe base64"):
        config.defaults()


def test_locate_prefers_explicit_then_env_then_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config.locate() is None
    (tmp_path / "config.yaml").write_text("port: 1\n")
    assert config.locate() == "config.yaml"
    monkeypatch.setenv("CLIPROXY_CONFIG", "/etc/from-env.yaml")
    assert config.locate() == "/etc/from-env.yaml"
    assert config.locate("given.yaml") == "given.yaml"


def test_load_or_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    assert config.load_or_defaults() == config.Config()


def test_payload_section_goes_through_the_payload_parser(tmp_path):
    cfg = load_text(tmp_path, """
        payload:
          override:
            - models: [{name: "gpt-*", protocol: codex}]
              params: {"reasoning.effort": high}
    """)

    assert len(cfg.payload.override) == 1
    assert cfg.payload.override[0].params == {"reasoning.effort": "high"}


def test_example_config_loads():
    cfg = config.load(str(ROOT / "config.example.yaml"))

    assert (cfg.host, cfg.port, cfg.api_keys, cfg.store.backend) == ("127.0.0.1", 8317, (), "sqlite")


def test_stream_time_keys_and_their_lambda_environment():
    cfg = config.parse({}, "t")
    assert (cfg.stream_keepalive_seconds, cfg.max_stream_seconds) == (15.0, 840.0)
    cfg = config.parse({"stream-keepalive-seconds": 5, "max-stream-seconds": "10m", "max-body-bytes": 1000}, "t")
    assert (cfg.stream_keepalive_seconds, cfg.max_stream_seconds, cfg.max_body_bytes) == (5.0, 600.0, 1000)
    lam = config.apply_env(config.parse({}, "t"), {"AWS_LAMBDA_FUNCTION_NAME": "f", "CLIPROXY_MAX_STREAM_SECONDS": "870"})
    assert (lam.max_stream_seconds, lam.max_body_bytes) == (870.0, config.LAMBDA_MAX_BODY_BYTES)
    assert config.apply_env(cfg, {"AWS_LAMBDA_FUNCTION_NAME": "f"}).max_body_bytes == 1000  # a smaller limit stays
    with pytest.raises(ConfigError, match="max-stream-seconds"):
        config.parse({"max-stream-seconds": 0}, "t")
