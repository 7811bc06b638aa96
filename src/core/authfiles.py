"""Imported OAuth credential files -> ``Credential``: the three formats ``cliproxy auth import`` accepts.

- CLIProxyAPI auth JSON: ``{"type": "codex"|"claude", "access_token", "refresh_token", "id_token",
  "account_id", "email", "expired", "base_url"?, "prefix"?, "priority"?, "disabled"?, ...}``
- Codex CLI ``~/.codex/auth.json``: ``{"tokens": {"id_token", "access_token", "refresh_token", "account_id"},
  "last_refresh", "OPENAI_API_KEY"?}``
- Claude Code ``~/.claude/.credentials.json``: ``{"claudeAiOauth": {"accessToken", "refreshToken",
  "expiresAt" (ms), "scopes", "subscriptionType"?}}``

Ids are stable per account and never derived from a token's text: ``codex-<email>-<hash of account id>``,
``claude-<email>``. Claude Code keeps the email outside the credentials file, in ``~/.claude.json``
(``oauthAccount.emailAddress``); when that is not found the id falls back to a hash of the refresh token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from core.credentials import Credential

_EXPIRY_KEYS = ("expired", "expire", "expires_at", "expiresAt", "expiry", "expires")
_OPENAI_AUTH_CLAIM = "https://api.openai.com/auth"


class AuthFileError(Exception):
    """A file that cannot be imported, phrased as ``file: what is wrong`` (never quoting a token)."""


def parse_file(path: str) -> Credential:
    """Read and recognise one credential file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise AuthFileError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AuthFileError(f"{path}: not valid JSON") from None
    return parse(doc, path, claude_email=_claude_code_email(path))


def parse(doc: Any, source: str, *, claude_email: str | None = None) -> Credential:
    """Recognise the format of a decoded file. ``claude_email`` names a Claude Code account."""
    if not isinstance(doc, dict):
        raise AuthFileError(f"{source}: expected a JSON object")
    if isinstance(doc.get("claudeAiOauth"), dict):
        return _claude_code(doc["claudeAiOauth"], source, claude_email)
    if "tokens" in doc and "type" not in doc:
        return _codex_cli(doc, source)
    if "type" in doc:
        return _cliproxy(doc, source)
    raise AuthFileError(f"{source}: not a CLIProxyAPI auth file, Codex CLI auth.json or Claude Code "
                        ".credentials.json")


def _cliproxy(doc: dict[str, Any], source: str) -> Credential:
    kind = doc.get("type")
    if kind not in ("codex", "claude"):
        raise AuthFileError(f"{source}: type {kind!r} is not supported (only codex and claude OAuth files)")
    tokens = {name: _opt_str(doc, name, source) for name in ("access_token", "refresh_token", "id_token")}
    if not tokens["access_token"] and not tokens["refresh_token"]:
        raise AuthFileError(f"{source}: access_token: required")
    prefix = _opt_str(doc, "prefix", source)
    if prefix and "/" in prefix:
        raise AuthFileError(f"{source}: prefix: must not contain '/'")
    fields: dict[str, Any] = dict(
        base_url=_opt_str(doc, "base_url", source), prefix=prefix or None,
        priority=_int(doc.get("priority"), "priority", source), disabled=doc.get("disabled") is True,
        excluded_models=_excluded(doc.get("excluded_models")), expires_at=_expiry(doc, source),
    )
    if kind == "codex":
        return _codex(tokens, doc.get("account_id"), doc.get("email"), fields, source)
    return _claude(tokens, doc.get("email"), fields)


def _codex_cli(doc: dict[str, Any], source: str) -> Credential:
    tokens_doc = doc.get("tokens")
    if not isinstance(tokens_doc, dict):
        if doc.get("OPENAI_API_KEY"):
            raise AuthFileError(f"{source}: API-key login (no ChatGPT tokens): put the key in the config "
                                "under codex-api-key instead")
        raise AuthFileError(f"{source}: tokens: expected an object")
    tokens = {name: _opt_str(tokens_doc, name, source) for name in ("access_token", "refresh_token", "id_token")}
    if not tokens["access_token"]:
        raise AuthFileError(f"{source}: tokens.access_token: required")
    extra = {"last_refresh": doc["last_refresh"]} if isinstance(doc.get("last_refresh"), str) else {}
    fields = {"expires_at": None, "extra": extra}
    return _codex(tokens, tokens_doc.get("account_id"), None, fields, source)


def _codex(tokens: dict[str, str | None], account_id: Any, email: Any, fields: dict[str, Any],
           source: str) -> Credential:
    claims = _jwt_claims(tokens["id_token"]) if tokens["id_token"] else {}
    auth_claim = claims.get(_OPENAI_AUTH_CLAIM)
    auth: dict[str, Any] = auth_claim if isinstance(auth_claim, dict) else {}
    account = account_id if isinstance(account_id, str) and account_id else auth.get("chatgpt_account_id")
    mail = email if isinstance(email, str) and email else claims.get("email")
    if not account and not mail:
        raise AuthFileError(f"{source}: neither account_id nor email found (also not in id_token)")
    parts = ["codex", *([mail] if mail else []), *([_short_hash(account)] if account else [])]
    extra = dict(fields.pop("extra", {}))
    if isinstance(auth.get("chatgpt_plan_type"), str):
        extra["plan_type"] = auth["chatgpt_plan_type"]
    if fields["expires_at"] is None and tokens["access_token"]:
        fields["expires_at"] = _number(_jwt_claims(tokens["access_token"]).get("exp"))
    return Credential(
        id=_slug("-".join(parts)), kind="codex", provider="codex", auth_type="oauth", account_id=account,
        email=mail or None, source="store", extra=extra, **_token_args(tokens), **fields,
    )


def _claude(tokens: dict[str, str | None], email: Any, fields: dict[str, Any]) -> Credential:
    mail = email if isinstance(email, str) and email else None
    ident = mail or _short_hash(tokens["refresh_token"] or tokens["access_token"] or "", 12)
    return Credential(
        id=_slug(f"claude-{ident}"), kind="claude", provider="claude", auth_type="oauth", email=mail,
        source="store", **_token_args(tokens), **fields,
    )


def _claude_code(oauth: dict[str, Any], source: str, email: str | None) -> Credential:
    tokens = {"access_token": _opt_str(oauth, "accessToken", source),
              "refresh_token": _opt_str(oauth, "refreshToken", source), "id_token": None}
    if not tokens["access_token"]:
        raise AuthFileError(f"{source}: claudeAiOauth.accessToken: required")
    extra = {key: oauth[name] for key, name in (("subscription_type", "subscriptionType"),
                                                ("scopes", "scopes")) if oauth.get(name)}
    fields = {"expires_at": _parse_time(oauth.get("expiresAt"), "claudeAiOauth.expiresAt", source), "extra": extra}
    return _claude(tokens, email, fields)


def _token_args(tokens: dict[str, str | None]) -> dict[str, Any]:
    return {name: tokens[name] for name in ("access_token", "refresh_token", "id_token")}


def _claude_code_email(path: str) -> str | None:
    """Claude Code keeps the account beside its config dir: ``~/.claude/.credentials.json`` ->
    ``~/.claude.json`` with ``oauthAccount.emailAddress``."""
    sibling = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), ".claude.json")
    try:
        with open(sibling, "rb") as fh:
            account = orjson.loads(fh.read()).get("oauthAccount") or {}
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return None
    email = account.get("emailAddress") if isinstance(account, dict) else None
    return email if isinstance(email, str) and email else None


# ---------------------------------------------------------------------------------------------------
# Field readers


def _expiry(doc: dict[str, Any], source: str) -> float | None:
    """First expiry key at the top level, then inside a nested ``token`` object (CLIProxyAPI's rule)."""
    for holder in (doc, doc.get("token"), doc.get("Token")):
        if isinstance(holder, dict):
            for key in _EXPIRY_KEYS:
                if holder.get(key) not in (None, ""):
                    return _parse_time(holder[key], key, source)
    return None


def _parse_time(value: Any, key: str, source: str) -> float | None:
    """RFC 3339, ``YYYY-MM-DD HH:MM[:SS]`` (UTC) or unix seconds / milliseconds (ms above 1e12)."""
    if value is None or value == "":
        return None
    number = _number(value)
    if number is not None:
        return number / 1000 if number > 1e12 else number
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
    raise AuthFileError(f"{source}: {key}: not a time: {value!r}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _opt_str(doc: dict[str, Any], key: str, source: str) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise AuthFileError(f"{source}: {key}: expected a string")
    return value


def _int(value: Any, key: str, source: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise AuthFileError(f"{source}: {key}: expected an integer, got {value!r}")
    return value


def _excluded(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())


def _jwt_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified: only our own account id, email and expiry are read from it."""
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _short_hash(value: str, n: int = 8) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:n]


def _slug(text: str) -> str:
    """Ids stay readable and safe as store keys: lower case, no ``#`` or spaces."""
    return re.sub(r"[^a-z0-9@._+-]+", "-", text.lower()).strip("-")
