"""api-keys as plain strings and as objects; mistakes stop start-up with ``file: key: what is wrong``."""

from __future__ import annotations

import pytest

from core import config
from core.config import ClientKey, ConfigError
from handlers import clientkeys


def parse(doc: dict) -> config.Config:
    return config.parse(doc, "cfg.yaml")


def test_plain_strings_and_objects_mix() -> None:
    cfg = parse({"api-keys": ["sk-plain", {"key": "sk-team", "name": "team", "models": ["Claude-*"],
                                           "max-concurrent": 2, "requests-per-minute": 60,
                                           "tokens-per-day": 1000, "disabled": False}]})
    assert cfg.api_keys == ("sk-plain", "sk-team")
    plain, team = cfg.clients
    assert plain == ClientKey(key="sk-plain") and not plain.limited and plain.allows("anything")
    assert (team.name, team.models, team.max_concurrent, team.requests_per_minute, team.tokens_per_day) == (
        "team", ("claude-*",), 2, 60, 1000)
    assert team.allows("claude-sonnet-4-5") and not team.allows("gpt-5")
    assert "sk-team" not in repr(cfg) and "sk-team" not in repr(team)


def test_the_client_name_is_the_configured_name_or_a_hash() -> None:
    named, unnamed = parse({"api-keys": [{"key": "sk-team", "name": "team"}, "sk-plain"]}).clients
    assert clientkeys.client_label(named) == "team"
    assert clientkeys.client_label(unnamed) == clientkeys.key_label("sk-plain") == clientkeys.client_label("sk-plain")
    assert clientkeys.client_label(unnamed).startswith("key-") and "sk-plain" not in clientkeys.client_label(unnamed)


@pytest.mark.parametrize(("entries", "message"), [
    ([{"name": "x"}], "cfg.yaml: api-keys[0].key: required"),
    ([{"key": 5}], "cfg.yaml: api-keys[0].key: expected a string, got a value of type int"),
    ([{"key": "k", "rpm": 5}], "cfg.yaml: api-keys[0].rpm: unknown key"),
    ([{"key": "k", "requests-per-minute": 0}], "cfg.yaml: api-keys[0].requests-per-minute: must be at least 1, got 0"),
    ([{"key": "k", "tokens-per-day": "lots"}], "cfg.yaml: api-keys[0].tokens-per-day: expected an integer, got 'lots'"),
    ([{"key": "k", "max-concurrent": -1}], "cfg.yaml: api-keys[0].max-concurrent: must be at least 1, got -1"),
    ([{"key": "k", "models": "claude-*"}], "cfg.yaml: api-keys[0].models: expected a list, got 'claude-*'"),
    ([{"key": "k", "disabled": "no"}], "cfg.yaml: api-keys[0].disabled: expected true or false, got 'no'"),
    ([{"key": "k", "name": " "}], "cfg.yaml: api-keys[0].name: must not be empty"),
    ([{"key": "a", "name": "n"}, {"key": "b", "name": "n"}], "cfg.yaml: api-keys[1].name: duplicate name 'n'"),
    (["sk-same", {"key": "sk-same"}], "cfg.yaml: api-keys[1]: repeats an earlier key"),
    ([["nested"]], "cfg.yaml: api-keys[0]: expected a non-empty string or a mapping, got a value of type list"),
])
def test_malformed_entries_stop_start_up(entries: list, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse({"api-keys": entries})
    assert str(err.value) == message
    assert "sk-same" not in str(err.value)


@pytest.mark.parametrize("text", [
    "a, b,,c",
    "a\nb\nc",
    '["a", "b", "c"]',
    '[{"key": "a"}, "b", {"key": "c", "name": "cee"}]',
])
def test_env_and_secret_forms(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config.apply_env(config.Config(), {"CLIPROXY_API_KEYS": text})
    assert cfg.api_keys == ("a", "b", "c")


def test_a_malformed_env_list_names_its_source() -> None:
    with pytest.raises(ConfigError) as err:
        config.apply_env(config.Config(), {"CLIPROXY_API_KEYS": '[{"key": "k", "tokens-per-day": 0}]'})
    assert str(err.value) == "CLIPROXY_API_KEYS: api-keys[0].tokens-per-day: must be at least 1, got 0"
