"""Reasoning signatures that cross providers travel wrapped, so they come home intact.

A Codex ``encrypted_content`` shown to a Claude client, or a Claude signature shown to a Responses client,
comes back to us on the client's next turn looking like the client's own provider's. Sent out as the
base64 of ``cpx1:<origin>:<signature>`` (base64, because SDKs type these fields as bytes), it is
recognised on the way back: the origin is restored, so the reasoning is replayed to the provider that
made it (which can verify it) and dropped for any other.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace
from typing import TYPE_CHECKING, get_args

from core import ir

if TYPE_CHECKING:
    from collections.abc import Iterable

_MARK = b"cpx1:"
_PREFIX = "Y3B4MTp"  # base64 of every "cpx1:<origin>..." begins so
_DIALECTS = frozenset(get_args(ir.Dialect))


def wrap(signature: str, origin: ir.Dialect) -> str:
    if unwrap(signature) is not None:
        return signature
    return base64.b64encode(_MARK + origin.encode() + b":" + signature.encode()).decode()


def unwrap(signature: str) -> tuple[ir.Dialect, str] | None:
    """(origin, signature as its provider made it) for a wrapped signature, else None."""
    if not signature.startswith(_PREFIX):
        return None
    try:
        text = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None
    origin, sep, raw = text[len(_MARK):].decode(errors="replace").partition(":")
    return (origin, raw) if text.startswith(_MARK) and sep and origin in _DIALECTS else None  # type: ignore[return-value]


def for_client(parts: Iterable[ir.Part], origin: ir.Dialect, client: ir.Dialect) -> tuple[ir.Part, ...]:
    """Response parts for a client of another dialect: reasoning signatures wrapped with their origin,
    handed over as the client dialect's own so its renderer shows them."""
    return tuple(replace(p, signature=wrap(p.signature, p.origin or origin), origin=client)
                 if isinstance(p, ir.Reasoning) and p.signature else p for p in parts)


def wrap_deltas(deltas: list[ir.Delta], origin: ir.Dialect) -> list[ir.Delta]:
    if not any(d.kind == "reasoning" and d.signature for d in deltas):
        return deltas
    return [replace(d, signature=wrap(d.signature, origin)) if d.kind == "reasoning" and d.signature else d
            for d in deltas]


def restore(req: ir.Request) -> ir.Request:
    """The request with wrapped signatures unwrapped and their reasoning's origin restored."""
    if not any(isinstance(p, ir.Reasoning) and p.signature and p.signature.startswith(_PREFIX)
               for m in req.messages for p in m.parts):
        return req
    return replace(req, messages=tuple(replace(m, parts=tuple(_restore(p) for p in m.parts))
                                       for m in req.messages))


def _restore(part: ir.Part) -> ir.Part:
    if isinstance(part, ir.Reasoning) and part.signature and (found := unwrap(part.signature)):
        origin, raw = found
        return replace(part, signature=raw, origin=origin)
    return part


def has_foreign(req: ir.Request) -> bool:
    """Whether the request replays reasoning made by another provider (a body to re-render, not pass on)."""
    return any(isinstance(p, ir.Reasoning) and p.origin not in (None, req.dialect)
               for m in req.messages if m.role == "assistant" for p in m.parts)
