"""``data:<media type>;base64,<data>`` URLs: how OpenAI dialects carry inline images and files."""

from __future__ import annotations


def parse(url: str) -> tuple[str | None, str] | None:
    """(media_type, base64 data) of a base64 data URL, or None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    media_type = header[: -len(";base64")]
    return (media_type or None), data


def build(media_type: str | None, data: str) -> str:
    return f"data:{media_type or 'application/octet-stream'};base64,{data}"
