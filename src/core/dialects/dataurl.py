"""``data:<media type>;base64,<data>`` URLs: how OpenAI dialects carry inline images and files (the Claude
and Gemini renderers unpack them into their own inline forms)."""

from __future__ import annotations

UNTYPED = "application/octet-stream"  # what a data URL with no media type carries


def parse(url: str, *, default_type: str | None = None) -> tuple[str | None, str] | None:
    """(media_type, base64 data) of a base64 data URL, or None for any other URL. A URL with no media
    type gives ``default_type``: Claude and Gemini need one, the OpenAI dialects keep it absent."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    media_type = header[: -len(";base64")]
    return (media_type or default_type), data


def build(media_type: str | None, data: str) -> str:
    return f"data:{media_type or UNTYPED};base64,{data}"
