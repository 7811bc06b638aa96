"""The cliproxy command end to end on real stores (SQLite in a temp dir, DynamoDB under moto)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handlers import cli

KEY = "Z5sH3pYV0xQm7W8bX2c4d6e8f0g2h4j6k8l0m2n4p6o="
CLAUDE = {"type": "claude", "access_token": "sk-ant-oat01-SECRET", "refresh_token": "sk-ant-ort01-SECRET",
          "email": "dev@example.com", "expired": "2030-03-17T17:46:40Z"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("CLIPROXY_API_KEYS", "CLIPROXY_ENCRYPTION_KEY", "CLIPROXY_STORE_BACKEND", "CLIPROXY_TABLE",
                 "CLIPROXY_STORE_ENDPOINT", "AWS_REGION", "CLIPROXY_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sqlite_config(tmp_path: Path) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(f"store: {{backend: sqlite, path: {tmp_path / 'data' / 'state.db'}}}\n")
    return str(path)


def write_json(tmp_path: Path, name: str, doc: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_import_list_remove_round_trip(tmp_path, sqlite_config, capsys):
    cred_file = write_json(tmp_path, "claude.json", CLAUDE)

    assert cli.main(["auth", "import", cred_file, "--config", sqlite_config]) == 0
    assert cli.main(["auth", "import", cred_file, "--config", sqlite_config]) == 0
    assert cli.main(["auth", "list", "--config", sqlite_config]) == 0
    out = capsys.readouterr().out
    assert "imported claude-dev@example.com (claude, dev@example.com, expires 2030-03-17 17:46 UTC" in out
    assert "updated claude-dev@example.com" in out
    assert [line.split()[:3] for line in out.splitlines()[-2:]] == [
        ["ID", "KIND", "ACCOUNT"], ["claude-dev@example.com", "claude", "dev@example.com"]]
    assert "SECRET" not in out

    assert cli.main(["auth", "remove", "claude-dev@example.com", "--config", sqlite_config]) == 0
    assert cli.main(["auth", "list", "--config", sqlite_config]) == 0
    assert "no stored credentials" in capsys.readouterr().out


def test_tokens_are_encrypted_in_the_sqlite_file(tmp_path, sqlite_config):
    cli.main(["auth", "import", write_json(tmp_path, "c.json", CLAUDE), "--config", sqlite_config])

    raw = (tmp_path / "data" / "state.db").read_bytes() + b"".join(
        p.read_bytes() for p in (tmp_path / "data").glob("state.db-*"))
    assert b"sk-ant-oat01-SECRET" not in raw and b"dev@example.com" in raw
    assert (tmp_path / "data" / ".cliproxy.key").exists()


def test_one_bad_file_stops_the_import_before_anything_is_written(tmp_path, sqlite_config, capsys):
    good = write_json(tmp_path, "good.json", CLAUDE)
    bad = write_json(tmp_path, "bad.json", {"type": "gemini"})

    assert cli.main(["auth", "import", good, bad, "--config", sqlite_config]) == 2
    assert capsys.readouterr().err.strip() == f"cliproxy: {bad}: type 'gemini' is not supported (only codex and claude OAuth files)"
    cli.main(["auth", "list", "--config", sqlite_config])
    assert "no stored credentials" in capsys.readouterr().out


def test_removing_an_unknown_id_fails(sqlite_config, capsys):
    assert cli.main(["auth", "remove", "nope", "--config", sqlite_config]) == 1
    assert "no stored credential 'nope'" in capsys.readouterr().err


def test_config_errors_print_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: abc\n")

    for argv in (["serve", "--config", str(bad)], ["auth", "list", "--config", str(bad)],
                 ["store", "init", "--config", str(tmp_path / "missing.yaml")]):
        assert cli.main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"cliproxy: {bad}: port: expected an integer, got 'abc'"
    assert err[2].startswith(f"cliproxy: {tmp_path / 'missing.yaml'}: cannot read file")
    assert len(err) == 3  # no traceback


def test_config_defaults_to_the_env_then_config_yaml(tmp_path, monkeypatch, capsys):
    (tmp_path / "config.yaml").write_text("store: {backend: sqlite, path: ./cwd.db}\n")
    assert cli.main(["store", "init"]) == 0
    assert "sqlite store ready at ./cwd.db" in capsys.readouterr().out

    (tmp_path / "env.yaml").write_text("store: {backend: sqlite, path: ./env.db}\n")
    monkeypatch.setenv("CLIPROXY_CONFIG", str(tmp_path / "env.yaml"))
    assert cli.main(["store", "init"]) == 0
    assert "sqlite store ready at ./env.db" in capsys.readouterr().out
    assert (tmp_path / "env.db").exists()


def test_serve_passes_config_host_and_port_to_the_server(tmp_path, monkeypatch):
    calls = []
    import handlers.server

    monkeypatch.setattr(handlers.server, "run", lambda config, **kw: calls.append((config, kw)))
    (tmp_path / "c.yaml").write_text("port: 9100\nhost: 127.0.0.2\n")

    assert cli.main(["serve", "--config", str(tmp_path / "c.yaml")]) == 0
    assert cli.main(["serve", "--config", str(tmp_path / "c.yaml"), "--host", "::1", "--port", "0"]) == 0
    assert [kw for _, kw in calls] == [{"host": "127.0.0.2", "port": 9100}, {"host": "::1", "port": 0}]
    assert calls[0][0].source == str(tmp_path / "c.yaml")


def test_dynamodb_store_init_then_import(tmp_path, monkeypatch, capsys):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    cfg = tmp_path / "ddb.yaml"
    cfg.write_text(f"store: {{backend: dynamodb, table: cli-test}}\nencryption-key: {KEY}\n")
    cred_file = write_json(tmp_path, "c.json", CLAUDE)

    with mock_aws():
        assert cli.main(["store", "init", "--config", str(cfg)]) == 0
        assert cli.main(["store", "init", "--config", str(cfg)]) == 0
        assert cli.main(["auth", "import", cred_file, "--config", str(cfg)]) == 0
        assert cli.main(["auth", "list", "--config", str(cfg)]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["dynamodb table cli-test in eu-west-1: created", "dynamodb table cli-test in eu-west-1: already exists"]
    assert out[-1].startswith("claude-dev@example.com")


def test_dynamodb_import_without_a_key_is_refused(tmp_path, monkeypatch, capsys):
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    cfg = tmp_path / "ddb.yaml"
    cfg.write_text("store: {backend: dynamodb, table: cli-test}\n")

    with mock_aws():
        cli.main(["store", "init", "--config", str(cfg)])
        assert cli.main(["auth", "import", write_json(tmp_path, "c.json", CLAUDE), "--config", str(cfg)]) == 2
    assert "no encryption key: set encryption-key" in capsys.readouterr().err


def test_store_and_table_flags_send_an_import_to_the_named_dynamodb_table(tmp_path, monkeypatch, capsys):
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    cfg = tmp_path / "local.yaml"  # says sqlite: the flags must win
    cfg.write_text(f"store: {{backend: sqlite, path: {tmp_path / 'unused.db'}}}\nencryption-key: {KEY}\n")
    cred_file = write_json(tmp_path, "c.json", CLAUDE)
    flags = ["--config", str(cfg), "--store", "dynamodb", "--table", "stack-table"]

    with mock_aws():
        assert cli.main(["store", "init", *flags]) == 0
        assert cli.main(["auth", "import", cred_file, *flags]) == 0
        assert cli.main(["auth", "list", *flags]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dynamodb table stack-table in eu-west-1: created"
    assert out[-1].startswith("claude-dev@example.com")
    assert not (tmp_path / "unused.db").exists()
