"""Which client session a request belongs to, from the strongest signal the client sent.

The session key scopes sticky routing (a pin per provider, session and model group) and feeds the Codex
continuity key. It is a routing value: it is never sent upstream as is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import orjson

from core import ir

# Header signals in order of strength; each maps to a namespace so two kinds of ids never collide.
_HEADERS = (
    ("x-claude-code-session-id", "claude"),
    ("session-id", "codex"),
    ("session_id", "codex"),
    ("x-session-id", "header"),
    ("x-session-affinity", "header"),
    ("x-client-request-id", "clientreq"),
)
_MAX_ID = 256


def normalize_id(value: object) -> str | None:
    """A trimmed explicit id, or None when empty, too long or holding control characters."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > _MAX_ID or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    return value


def claude_session(user_id: str | None) -> str | None:
    """The session id inside Claude Code's ``metadata.user_id`` (JSON ``session_id`` or ``..._session_<uuid>``)."""
    if not user_id:
        return None
    if user_id.startswith("{"):
        try:
            data = orjson.loads(user_id)
        except orjson.JSONDecodeError:
            return None
        return normalize_id(data.get("session_id")) if isinstance(data, dict) else None
    _, sep, tail = user_id.rpartition("_session_")
    return normalize_id(tail) if sep else None


def session_key(req: ir.Request, headers: Mapping[str, str], principal: str | None, *,
                execution_session: str | None = None) -> str:
    """The routing key of the client session. Always returns a key (a message hash as the last resort);
    a Responses WebSocket's execution session comes before that hash: one connection, one session."""
    for name, space in _HEADERS[:1]:
        if value := normalize_id(headers.get(name)):
            return f"{space}:{value}"
    if value := claude_session(req.metadata_user_id):
        return f"claude:{value}"
    for name, space in _HEADERS[1:]:
        if value := normalize_id(headers.get(name)):
            return f"{space}:{value}"
    for field in ("session_id", "sessionId", "conversation_id"):
        if value := normalize_id(req.original.get(field)):
            return f"body:{value}"
    if value := normalize_id(req.prompt_cache_key):
        return f"pck:{value}"
    if value := _conversation(req.original.get("conversation")):
        return f"conv:{value}"
    if value := normalize_id(req.metadata_user_id):
        return f"user:{value}"
    if value := normalize_id(execution_session):
        return f"exec:{value}"
    return "msg:" + _first_turn_hash(req, principal)


def _conversation(raw: object) -> str | None:
    """A Responses ``conversation``: its id, given as a string or as ``{"id": ...}``."""
    return normalize_id(raw.get("id") if isinstance(raw, dict) else raw)


def _first_turn_hash(req: ir.Request, principal: str | None) -> str:
    """Hash of the first system and user texts plus the client principal: stable across turns of one chat."""
    h = hashlib.blake2b(digest_size=12)
    h.update((principal or "").encode())
    seen: set[str] = set()
    for msg in req.messages:
        if msg.role in ("system", "user") and msg.role not in seen:
            text = next((p.text for p in msg.parts if isinstance(p, ir.Text) and p.text), None)
            if text is not None:
                seen.add(msg.role)
                h.update(b"\x00" + msg.role.encode() + b":" + text[:2048].encode())
        if len(seen) == 2:
            break
    return h.hexdigest()
