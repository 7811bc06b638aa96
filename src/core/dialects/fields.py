"""Typed reads of request fields; a wrong type is a ``BadRequestError`` naming the field."""

from __future__ import annotations

from typing import Any

from core.errors import BadRequestError


def body_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequestError("request body must be a JSON object")
    return body


def model(body: dict[str, Any], override: str | None) -> str:
    """The path model when given (it wins), else a non-empty string ``model`` from the body."""
    if override is not None:
        return override
    value = body.get("model")
    if not isinstance(value, str) or not value:
        raise BadRequestError("model: must be a non-empty string", param="model")
    return value


def string(obj: dict[str, Any], key: str, where: str) -> str:
    """A required string inside a nested object; ``where`` is the object's path (``messages[0].content[1]``)."""
    value = obj.get(key)
    if not isinstance(value, str):
        raise BadRequestError(f"{where}.{key}: must be a string")
    return value


def opt_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise BadRequestError(f"{key}: must be a boolean", param=key)


def opt_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequestError(f"{key}: must be a non-negative integer", param=key)
    return value


def opt_number(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequestError(f"{key}: must be a number", param=key)
    return float(value)


def opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise BadRequestError(f"{key}: must be a string", param=key)


def opt_list(body: dict[str, Any], key: str) -> list[Any] | None:
    value = body.get(key)
    if value is None or isinstance(value, list):
        return value
    raise BadRequestError(f"{key}: must be an array", param=key)


def opt_object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise BadRequestError(f"{key}: must be an object", param=key)
