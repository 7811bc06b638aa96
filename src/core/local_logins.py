"""Local logins a first run can import: the files the coding CLIs (and CLIProxyAPI) keep in the user's home.

``~/.codex/auth.json`` (Codex CLI), ``~/.claude/.credentials.json`` (Claude Code) and ``~/.cli-proxy-api/*.json``
(CLIProxyAPI auth files). ``detect`` reads each with ``authfiles.parse_file`` and keeps what it recognised
together with why the rest cannot be imported; nothing is written and no token is shown.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core import authfiles

if TYPE_CHECKING:
    from core.credentials import Credential

PLACES = ("~/.codex/auth.json", "~/.claude/.credentials.json", "~/.cli-proxy-api/*.json")


@dataclass(frozen=True, slots=True)
class Found:
    path: str  # as the user would write it (``~/...``)
    file: str  # the absolute path
    credential: Credential | None
    problem: str | None = None  # why it cannot be imported (``credential`` is then None)


def detect(home: str | None = None) -> list[Found]:
    """Every login file present under ``home`` (default: the user's), in PLACES order."""
    home = home or os.path.expanduser("~")
    found = []
    for place in PLACES:
        for file in sorted(glob.glob(os.path.join(home, place.removeprefix("~/")))):
            shown = "~/" + os.path.relpath(file, home)
            try:
                found.append(Found(shown, file, authfiles.parse_file(file)))
            except authfiles.AuthFileError as exc:
                found.append(Found(shown, file, None, str(exc).removeprefix(f"{file}: ")))
    return found


def describe(found: Found) -> str:
    """One line for a listing: the file and whose login it is, or why it is left out."""
    cred = found.credential
    if cred is None:
        return f"{found.path}: cannot be imported ({found.problem})"
    return f"{found.path}: {cred.kind} login of {cred.email or cred.account_id or 'an unnamed account'}"
