"""Mapping generic tool calls (``write_file``, ``run_shell``) onto the tools a request actually offers."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ao_testing.fakes.model_server._script import ToolCall

__all__ = ["OfferedTool", "ResolvedCall", "find_cwd", "offered_tools", "resolve_call"]


@dataclass(frozen=True)
class OfferedTool:
    """A tool the request offers: its name and the properties of its input schema."""

    name: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class ResolvedCall:
    """A tool call in the API's own terms."""

    name: str
    arguments: dict[str, Any]


_GENERIC_NAMES: dict[str, tuple[str, ...]] = {
    "write_file": ("write", "write_file", "create_file"),
    "read_file": ("read", "read_file", "view"),
    "run_shell": ("bash", "exec_command", "shell", "run_shell", "local_shell", "run_command"),
}
_PATH_ARGS = ("file_path", "filePath", "path", "filename")
_CONTENT_ARGS = ("content", "contents", "file_text", "text")
_COMMAND_ARGS = ("command", "cmd")

_CWD_PATTERNS = (
    re.compile(r"Primary working directory: *(/[^\n\r]*)"),  # Claude Code
    re.compile(r"<cwd>(/[^<]*)</cwd>"),  # Codex
    re.compile(r"Working directory: *(/[^\n\r]*)"),  # OpenCode
    re.compile(r"(?:^|\n)\s*(?:- )?(?:cwd|Current working directory): *(/[^\n\r]*)"),
)


def offered_tools(api: str, body: Mapping[str, Any]) -> list[OfferedTool]:
    """The function tools a request body offers (``api``: ``anthropic``, ``chat`` or ``responses``)."""
    found: list[OfferedTool] = []
    for entry in body.get("tools") or []:
        if not isinstance(entry, Mapping):
            continue
        if api == "chat":
            function = entry.get("function")
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                found.append(OfferedTool(function["name"], _properties(function.get("parameters"))))
        elif api == "responses":
            if entry.get("type") in ("function", None) and isinstance(entry.get("name"), str):
                found.append(OfferedTool(entry["name"], _properties(entry.get("parameters"))))
        elif isinstance(entry.get("name"), str):
            found.append(OfferedTool(entry["name"], _properties(entry.get("input_schema"))))
    return found


def _properties(schema: Any) -> Mapping[str, Any]:
    if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping):
        return dict(schema["properties"])
    return {}


def find_cwd(body: Mapping[str, Any]) -> str | None:
    """The agent's working directory as its request states it (system prompt, environment context)."""
    for text in _strings(body):
        for pattern in _CWD_PATTERNS:
            match = pattern.search(text)
            if match:
                return match.group(1).strip()
    return None


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def resolve_call(call: ToolCall, tools: Sequence[OfferedTool], cwd: str | None) -> ResolvedCall:
    """Translate ``call`` into one of ``tools`` (see :class:`~ao_testing.fakes.model_server.ToolCall`)."""
    generic = _GENERIC_NAMES.get(call.name)
    if generic is None:
        offered = _by_name(tools, (call.name,))
        return ResolvedCall(offered.name if offered else call.name, dict(call.arguments))
    arguments = dict(call.arguments)
    if "path" in arguments and cwd and not posixpath.isabs(str(arguments["path"])):
        arguments["path"] = posixpath.join(cwd, str(arguments["path"]))
    target = _by_name(tools, generic)
    if target is None:
        if call.name == "run_shell":
            return ResolvedCall("bash", {"command": arguments.get("command", "")})
        return _as_shell(call.name, arguments, tools, cwd)
    out: dict[str, Any] = {}
    for key, value in arguments.items():
        if key == "path":
            out[_pick(target, _PATH_ARGS)] = value
        elif key == "content":
            out[_pick(target, _CONTENT_ARGS)] = value
        elif key == "command":
            name = _pick(target, _COMMAND_ARGS)
            schema = target.properties.get(name)
            wants_list = isinstance(schema, Mapping) and schema.get("type") == "array"
            out[name] = ["bash", "-lc", value] if wants_list else value
        else:
            out[key] = value
    return ResolvedCall(target.name, out)


def _as_shell(name: str, arguments: Mapping[str, Any], tools: Sequence[OfferedTool], cwd: str | None) -> ResolvedCall:
    """A file tool the request lacks, done through its shell tool (Codex has no write tool)."""
    path = shlex.quote(str(arguments.get("path", "")))
    if name == "write_file":
        command = (
            f"mkdir -p \"$(dirname {path})\" && printf '%s' {shlex.quote(str(arguments.get('content', '')))} > {path}"
        )
    else:
        command = f"cat {path}"
    return resolve_call(ToolCall("run_shell", {"command": command}), tools, cwd)


def _by_name(tools: Sequence[OfferedTool], names: Sequence[str]) -> OfferedTool | None:
    for wanted in names:
        for offered in tools:
            if offered.name.lower() == wanted.lower():
                return offered
    return None


def _pick(tool: OfferedTool, candidates: Sequence[str]) -> str:
    for candidate in candidates:
        if candidate in tool.properties:
            return candidate
    return candidates[0]
