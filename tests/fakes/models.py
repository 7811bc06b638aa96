"""Model lists as each upstream answers them: Anthropic ``GET /v1/models`` (with ``anthropic-version``),
OpenAI-compatible ``GET /v1/models``, Gemini ``GET /v1beta/models`` and the Codex backend's ``GET .../models``.
Each lists one model the built-in catalog does not know (``LISTED``), plus a known one."""

from __future__ import annotations

from tests.fakes.reply import Reply

LISTED = {"claude": "claude-fake-listed", "openai": "compat-fake-listed", "gemini": "gemini-fake-listed",
          "codex": "fake-codex-listed"}  # the Codex one has no family prefix: only its listing makes it served


def listing(path: str, headers: dict[str, str]) -> Reply:
    if path.endswith("/v1beta/models"):
        return Reply(json={"models": [
            {"name": f"models/{LISTED['gemini']}", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/gemini-2.5-pro", "supportedGenerationMethods": ["generateContent"]},
            {"name": "models/text-embedding-fake", "supportedGenerationMethods": ["embedContent"]}]})
    if path.endswith("/codex/models"):
        return Reply(json={"models": [{"slug": LISTED["codex"]}, {"slug": "gpt-5-codex"}]})
    if "anthropic-version" in headers:
        ids = [LISTED["claude"], "claude-sonnet-4-6"]
        return Reply(json={"data": [{"type": "model", "id": i, "display_name": i, "created_at": "2026-01-01T00:00:00Z"}
                                    for i in ids], "has_more": False, "first_id": ids[0], "last_id": ids[-1]})
    return Reply(json={"object": "list", "data": [{"id": LISTED["openai"], "object": "model", "owned_by": "fake"}]})
