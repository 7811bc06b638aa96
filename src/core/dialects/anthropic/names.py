"""Claude tool names: the form the API accepts, and the way back to the names the client declared.

Claude wants ``^[a-zA-Z0-9_-]{1,128}$``; MCP-style names from other dialects (``github.create_issue``,
``server:tool``, names with spaces) do not fit and Claude answers 400. Names that already fit are sent as they
are. The others get ``_`` for each bad character and are cut to 128; one that would then clash with another
name in the request gets a suffix hashed from its original name, so the same name always maps the same way.
Both directions are rebuilt from the request itself, so no state is kept between request and response.
"""

from __future__ import annotations

import hashlib
import re

from core import ir

MAX_LEN = 128
_VALID = re.compile(r"[a-zA-Z0-9_-]{1,128}")
_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_WEB_SEARCH = "web_search"  # the name other providers' search tools take on the way to Claude


def wire_map(req: ir.Request) -> dict[str, str]:
    """Declared -> wire name for each name in the request that Claude would refuse.

    Names Claude accepts (and the names of server tools) are reserved first, so they never change and
    never clash with a sanitised one.
    """
    names = _request_names(req)
    taken = {n for n in names if _VALID.fullmatch(n)} | _server_names(req)
    out: dict[str, str] = {}
    for name in names:
        if name in taken or name in out:
            continue
        clean = _unique(name, taken)
        taken.add(clean)
        out[name] = clean
    return out


def restore_map(req: ir.Request | None) -> dict[str, str]:
    """Wire -> declared name, for each name that had to change."""
    if req is None:
        return {}
    return {clean: name for name, clean in wire_map(req).items()}


def sanitize(name: str) -> str:
    return (_BAD_CHARS.sub("_", name) or "_")[:MAX_LEN]


def _unique(name: str, taken: set[str]) -> str:
    clean = sanitize(name)
    attempt = 0
    while clean in taken:  # a second round only on a hash clash, which in practice never comes
        digest = hashlib.sha256(f"{attempt}:{name}".encode()).hexdigest()[:8]
        clean = sanitize(name)[: MAX_LEN - 9] + "_" + digest
        attempt += 1
    return clean


def _request_names(req: ir.Request) -> list[str]:
    """Every function name the request carries, in a fixed order: declarations, history calls, tool_choice."""
    names = [t.name for t in req.tools if t.raw is None]
    names.extend(p.name for m in req.messages for p in m.parts if isinstance(p, ir.ToolCall))
    if req.tool_choice is not None and req.tool_choice.name is not None:
        names.append(req.tool_choice.name)
    return names


def _server_names(req: ir.Request) -> set[str]:
    raws = [t.raw for t in req.tools if t.raw is not None]
    names = {r["name"] for r in raws if isinstance(r.get("name"), str)}
    return names | {_WEB_SEARCH} if raws else names
