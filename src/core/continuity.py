"""The Codex continuity key: one upstream cache identity per client session.

Codex caches prompts per ``prompt_cache_key`` and groups turns by the ``session_id`` header. A random
session id per request (what CLIProxyAPI sent when it had no key) makes every turn a new conversation,
so the cache never hits. We derive one stable key from the best signal, in this order:

    prompt_cache_key   the client's own body field, verbatim
    session            an execution session (a Responses WebSocket id) or the Idempotency-Key header
                       (source ``idempotency_key``), then the client session's affinity signals and, for
                       Claude clients, (model, metadata.user_id) -- hashed, never sent as is
    principal          uuid5 of the client API key
    auth               uuid5 of the credential id

A signal that carries a secret (the client key, the credential's id or secrets) falls through to the next.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from core import affinity

if TYPE_CHECKING:
    from core import ir

log = logging.getLogger("cliproxy.continuity")

Source = Literal["prompt_cache_key", "execution_session", "idempotency_key", "session", "principal", "auth"]
_PREFIX = "cli-proxy-api:codex:prompt-cache:"
_SUBSTRING_MIN = 8  # shorter secrets are matched whole: a short key found inside an id is a coincidence


@dataclass(frozen=True, slots=True)
class Continuity:
    key: str
    source: Source


def _uuid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_OID, _PREFIX + name))


def derive_key(req: ir.Request, headers: Mapping[str, str], *, principal: str | None, credential_id: str,
               secrets: tuple[str, ...] = (), execution_session: str | None = None) -> Continuity:
    """The continuity key for a Codex-bound request, and the source it came from."""
    forbidden = tuple(s for s in (principal, credential_id, *secrets) if s)

    def clean(value: object) -> str | None:
        value = affinity.normalize_id(value)
        if value is None or any(_carries(value, s) for s in forbidden):
            return None
        return value

    if key := clean(req.prompt_cache_key):
        return Continuity(key, "prompt_cache_key")
    if key := clean(execution_session):
        return Continuity(key, "execution_session")
    if key := clean(headers.get("idempotency-key")):
        return Continuity(key, "idempotency_key")
    if session := _session_signal(req, headers, clean):
        return Continuity(_uuid("session:" + session), "session")
    if principal:
        return Continuity(_uuid(principal), "principal")
    return Continuity(_uuid("auth:" + credential_id), "auth")


def _carries(value: str, secret: str) -> bool:
    return secret in value if len(secret) >= _SUBSTRING_MIN else secret == value


def _session_signal(req: ir.Request, headers: Mapping[str, str],
                    clean: Callable[[object], str | None]) -> str | None:
    """An explicit client-session id (headers, Claude metadata), never the message-hash fallback."""
    if req.dialect == "anthropic" and (user := clean(req.metadata_user_id)):
        return f"claude:{req.model}:{user}"  # Claude clients: stable per (model, metadata.user_id)
    key = affinity.session_key(req, headers, None)
    if key.startswith("msg:"):
        return None
    value = key.partition(":")[2]
    return key if clean(value) else None


def log_diagnostics(cont: Continuity, *, credential_id: str, retention: str | None) -> None:
    """One debug line per Codex request: where the key came from (the key itself is not secret-bearing)."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("codex continuity source=%s key=%s credential=%s prompt_cache_retention=%s",
                  cont.source, cont.key, credential_id, retention)
