"""The internal representation shared by every dialect.

Every client dialect parses into these values and every upstream dialect renders from them, so a new
dialect costs one parser and one renderer, not a translator per pair. Values are frozen; a pipeline step
that changes a request uses ``dataclasses.replace``.

Data that one provider needs echoed back byte for byte (Anthropic ``signature``, Gemini
``thoughtSignature``, OpenAI ``encrypted_content``) lives in typed slots, never in ad-hoc keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Dialect = Literal["openai_chat", "openai_responses", "anthropic", "gemini"]
UpstreamKind = Literal["codex", "claude", "gemini", "openai_compat"]
Role = Literal["system", "user", "assistant", "tool"]
StopReason = Literal["end_turn", "max_tokens", "tool_use", "stop_sequence", "content_filter", "error"]
ThinkingLevel = Literal["none", "auto", "minimal", "low", "medium", "high", "xhigh", "max"]

@dataclass(frozen=True, slots=True)
class Text:
    text: str
    cache_control: dict[str, Any] | None = None  # Anthropic prompt-cache marker, kept when rendering to Claude


@dataclass(frozen=True, slots=True)
class Image:
    """An image given either inline (base64 ``data`` + ``media_type``) or by ``url``."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    signature: str | None = None  # Gemini thoughtSignature on an inline part


@dataclass(frozen=True, slots=True)
class File:
    data: str | None = None  # base64
    url: str | None = None
    media_type: str | None = None
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A thinking / reasoning block.

    ``signature`` holds the Anthropic signature, the Gemini thoughtSignature or the OpenAI
    ``encrypted_content``; ``origin`` is the dialect that produced it, so signed reasoning is echoed only
    to the provider that can verify it and unsigned thinking is dropped when crossing providers.
    """

    text: str = ""
    signature: str | None = None
    origin: Dialect | None = None
    redacted: bool = False  # Anthropic redacted_thinking (opaque ``signature`` carries its data)
    item_id: str | None = None  # Responses reasoning item id (rs_...)


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, exactly as produced
    signature: str | None = None  # Gemini thoughtSignature on a functionCall part
    origin: Dialect | None = None


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    content: str | tuple[Part, ...]  # plain text, or text / image parts
    name: str | None = None  # Gemini functionResponse needs the function name
    is_error: bool = False


Part = Text | Image | File | Reasoning | ToolCall | ToolResult


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function tool (``parameters`` is JSON Schema), or a provider built-in kept verbatim in ``raw``."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    raw: dict[str, Any] | None = None  # built-in tool (web_search, googleSearch, ...) passed through as is
    cache_control: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None  # for mode "tool"


@dataclass(frozen=True, slots=True)
class Thinking:
    """What the client asked for as reasoning, in neutral form.

    Exactly what the client said is kept (a level or a budget); ``core.thinking`` converts, validates and
    clamps it against the target model. ``budget`` -1 means dynamic, 0 means off.
    """

    level: ThinkingLevel | None = None
    budget: int | None = None
    include_thoughts: bool | None = None
    summary: str | None = None  # Responses reasoning.summary


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class Request:
    model: str
    messages: tuple[Message, ...]
    dialect: Dialect  # the dialect the request arrived in
    stream: bool = False
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    thinking: Thinking | None = None
    response_format: ResponseFormat | None = None
    include_usage: bool = False  # chat stream_options.include_usage
    user: str | None = None  # a stable end-user id, when the dialect carries one
    metadata_user_id: str | None = None  # Anthropic metadata.user_id (Claude Code puts a JSON session in it)
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    verbosity: str | None = None  # Responses text.verbosity
    original: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # body as received


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts. ``input_tokens`` counts every prompt token, cached ones included (OpenAI convention)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens read from cache
    cache_creation_tokens: int = 0  # Anthropic cache writes (part of input_tokens)
    reasoning_tokens: int = 0  # part of output_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def merge(self, other: Usage) -> Usage:
        """Field-wise max: stream events repeat or refine counts, they never decrease them."""
        return Usage(
            max(self.input_tokens, other.input_tokens),
            max(self.output_tokens, other.output_tokens),
            max(self.cached_tokens, other.cached_tokens),
            max(self.cache_creation_tokens, other.cache_creation_tokens),
            max(self.reasoning_tokens, other.reasoning_tokens),
        )


@dataclass(frozen=True, slots=True)
class Response:
    id: str
    model: str
    parts: tuple[Part, ...]  # Text, Reasoning, ToolCall, Image in output order
    stop_reason: StopReason = "end_turn"
    usage: Usage = field(default_factory=Usage)
    created: int = 0


DeltaKind = Literal["start", "text", "reasoning", "tool_call_start", "tool_args", "usage", "stop", "error"]


@dataclass(frozen=True, slots=True)
class Delta:
    """One stream event in neutral form.

    - ``start``: the message began (``id``, ``model`` when known).
    - ``text`` / ``reasoning``: appended ``text``; a reasoning delta may carry only a ``signature``.
    - ``tool_call_start``: a call with ``index``, ``id``, ``name``; ``tool_args`` appends ``text`` to it.
    - ``usage``: counts so far (merge them); ``stop``: the stop reason; ``error``: an in-stream failure.
    """

    kind: DeltaKind
    text: str = ""
    index: int = 0
    id: str | None = None
    name: str | None = None
    model: str | None = None
    signature: str | None = None
    item_id: str | None = None
    usage: Usage | None = None
    stop_reason: StopReason | None = None
    error: Any = None  # kind "error": the upstream's error event as decoded (the executor classifies it), or a ProxyError
