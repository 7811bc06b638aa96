"""Gemini function names: the form the API accepts, and the way back to the names the client declared.

Gemini wants ``[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}``; MCP-style names such as ``github/create issue`` do not fit.
The map back is rebuilt from the request's own tools, so no state is kept between request and response.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core import ir

MAX_LEN = 64
_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_.:-]")


def sanitize(name: str) -> str:
    clean = _BAD_CHARS.sub("_", name)
    if not clean or not (clean[0].isalpha() or clean[0] == "_"):
        clean = "_" + clean
    return clean[:MAX_LEN]


def restore_map(req: ir.Request | None) -> dict[str, str]:
    """Sanitised -> declared name, for each function tool whose name had to change (the first one wins)."""
    if req is None:
        return {}
    back: dict[str, str] = {}
    for tool in req.tools:
        if tool.raw is None:
            clean = sanitize(tool.name)
            if clean != tool.name:
                back.setdefault(clean, tool.name)
    return back
