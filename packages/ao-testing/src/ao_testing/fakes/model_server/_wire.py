"""The three wire formats: Anthropic Messages, OpenAI Chat Completions and OpenAI Responses (JSON and SSE)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ao_testing.fakes.model_server._script import ApiError, Usage
from ao_testing.fakes.model_server._tools import ResolvedCall

__all__ = [
    "Answer",
    "Event",
    "anthropic_events",
    "anthropic_json",
    "chat_chunks",
    "chat_json",
    "error_json",
    "last_user_text",
    "responses_events",
    "responses_json",
    "side_text",
]

Event = tuple[str | None, dict[str, Any]]
"""An SSE event: its ``event:`` name (``None`` for none) and its JSON data."""

_DELTA_CHARS = 24


@dataclass(frozen=True)
class Answer:
    """A model answer in neutral terms, rendered by one of the wire formats."""

    text: str | None
    calls: Sequence[ResolvedCall] = ()
    usage: Usage = field(default_factory=Usage)

    @property
    def uses_tools(self) -> bool:
        """Whether the answer calls tools (the client must run them and ask again)."""
        return bool(self.calls)


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _pieces(text: str, size: int = _DELTA_CHARS) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _arguments_json(call: ResolvedCall) -> str:
    return json.dumps(call.arguments, ensure_ascii=False)


# --------------------------------------------------------------------------- requests


def last_user_text(api: str, body: Mapping[str, Any]) -> str:
    """The text of the request's final message when it is a user's message (``""`` for tool results)."""
    items = body.get("input" if api == "responses" else "messages")
    if isinstance(items, str):
        return items
    if not isinstance(items, list):
        return ""
    # Skip trailing system/developer messages: Claude Code appends one (the agent listing) after the prompt.
    for item in reversed(items):
        if not isinstance(item, Mapping) or item.get("role") in ("system", "developer"):
            continue
        if item.get("role") == "user" and item.get("type", "message") == "message":
            return _text_of(item.get("content"))
        return ""
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = []
    for block in content:
        if (
            isinstance(block, Mapping)
            and block.get("type") in ("text", "input_text")
            and isinstance(block.get("text"), str)
        ):
            parts.append(block["text"])
    return "\n".join(parts)


def side_text(api: str, body: Mapping[str, Any], text: str) -> str:
    """``text``, or a JSON object holding it when the request asks for structured output (title requests)."""
    schema: Any = None
    if api == "anthropic":
        fmt = (body.get("output_config") or {}).get("format")
        schema = fmt.get("schema") if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" else None
    elif api == "chat":
        fmt = body.get("response_format")
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
        elif isinstance(fmt, Mapping) and fmt.get("type") == "json_object":
            schema = {"properties": {"title": {"type": "string"}}}
    else:
        fmt = (body.get("text") or {}).get("format")
        schema = fmt.get("schema") if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" else None
    if not isinstance(schema, Mapping) or not isinstance(schema.get("properties"), Mapping):
        return text
    defaults: dict[str, Any] = {"integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}
    filled = {}
    for key, prop in schema["properties"].items():
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        filled[key] = defaults.get(kind, text) if isinstance(kind, str) else text
    return json.dumps(filled)


# --------------------------------------------------------------------------- Anthropic Messages


def _anthropic_usage(usage: Usage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "output_tokens": output_tokens,
    }


def _anthropic_blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.text:
        blocks.append({"type": "text", "text": answer.text})
    for call in answer.calls:
        blocks.append({"type": "tool_use", "id": _id("toolu_"), "name": call.name, "input": call.arguments})
    return blocks


def anthropic_json(answer: Answer, model: str) -> dict[str, Any]:
    """A non-streaming ``/v1/messages`` response."""
    return {
        "id": _id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _anthropic_blocks(answer),
        "stop_reason": "tool_use" if answer.uses_tools else "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(answer.usage, answer.usage.output_tokens),
    }


def anthropic_events(answer: Answer, model: str) -> list[Event]:
    """The SSE events of a streaming ``/v1/messages`` response."""
    message = anthropic_json(answer, model)
    events: list[Event] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {**message, "content": [], "stop_reason": None, "usage": _anthropic_usage(answer.usage, 1)},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                )
            )
            for piece in _pieces(block["text"]):
                events.append(
                    (
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
                    )
                )
        else:
            start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            events.append(
                ("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            )
            for piece in _pieces(json.dumps(block["input"], ensure_ascii=False)):
                delta = {"type": "input_json_delta", "partial_json": piece}
                events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": message["usage"],
            },
        )
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def error_json(api: str, error: ApiError) -> dict[str, Any]:
    """The error body of an API."""
    if api == "anthropic":
        return {"type": "error", "error": {"type": error.type, "message": error.message}}
    return {"error": {"message": error.message, "type": error.type, "param": None, "code": None}}


# --------------------------------------------------------------------------- OpenAI Chat Completions


def _chat_usage(usage: Usage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_read_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


def chat_json(answer: Answer, model: str) -> dict[str, Any]:
    """A non-streaming ``/v1/chat/completions`` response."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.calls:
        message["tool_calls"] = [
            {
                "id": _id("call_"),
                "type": "function",
                "function": {"name": call.name, "arguments": _arguments_json(call)},
            }
            for call in answer.calls
        ]
    return {
        "id": _id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if answer.uses_tools else "stop"}],
        "usage": _chat_usage(answer.usage),
    }


def chat_chunks(answer: Answer, model: str, *, include_usage: bool) -> list[dict[str, Any]]:
    """The ``data:`` chunks of a streaming ``/v1/chat/completions`` response (``[DONE]`` not included)."""
    base = {"id": _id("chatcmpl-"), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    for piece in _pieces(answer.text or ""):
        chunks.append(chunk({"content": piece}))
    for index, call in enumerate(answer.calls):
        head = {
            "index": index,
            "id": _id("call_"),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [head]}))
        for piece in _pieces(_arguments_json(call)):
            chunks.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(chunk({}, "tool_calls" if answer.uses_tools else "stop"))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": _chat_usage(answer.usage)})
    return chunks


# --------------------------------------------------------------------------- OpenAI Responses


def _responses_usage(usage: Usage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_read_tokens
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + usage.output_tokens,
    }


def _responses_items(answer: Answer) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if answer.text:
        items.append(
            {
                "id": _id("msg_"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer.text, "annotations": []}],
            }
        )
    for call in answer.calls:
        items.append(
            {
                "id": _id("fc_"),
                "type": "function_call",
                "status": "completed",
                "call_id": _id("call_"),
                "name": call.name,
                "arguments": _arguments_json(call),
            }
        )
    return items


def responses_json(answer: Answer, model: str) -> dict[str, Any]:
    """A non-streaming ``/v1/responses`` response."""
    return {
        "id": _id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "completed",
        "model": model,
        "output": _responses_items(answer),
        "usage": _responses_usage(answer.usage),
        "error": None,
        "incomplete_details": None,
    }


def responses_events(answer: Answer, model: str) -> list[Event]:
    """The SSE events of a streaming ``/v1/responses`` response."""
    final = responses_json(answer, model)
    events: list[Event] = []

    def emit(kind: str, **data: Any) -> None:
        events.append((kind, {"type": kind, "sequence_number": len(events), **data}))

    emit("response.created", response={**final, "status": "in_progress", "output": [], "usage": None})
    emit("response.in_progress", response={**final, "status": "in_progress", "output": [], "usage": None})
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            emit(
                "response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []}
            )
            part = {"type": "output_text", "text": "", "annotations": []}
            emit("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part)
            for piece in _pieces(text):
                emit("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0, delta=piece)
            emit("response.output_text.done", item_id=item["id"], output_index=index, content_index=0, text=text)
            emit(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part={**part, "text": text},
            )
        else:
            emit(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "arguments": ""},
            )
            for piece in _pieces(item["arguments"]):
                emit("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece)
            emit(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                arguments=item["arguments"],
            )
        emit("response.output_item.done", output_index=index, item=item)
    emit("response.completed", response=final)
    return events
