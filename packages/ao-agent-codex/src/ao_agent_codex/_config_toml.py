"""Editing Codex's ``config.toml`` in place: a few tables set, everything else kept byte for byte.

Codex keeps the user's settings and its own (folder trust, dismissed notices) in ``<CODEX_HOME>/config.toml``
and rewrites it itself. ao needs two kinds of table there before a launch:

- ``[projects."<workspace>"]`` with ``trust_level = "trusted"``: without it the TUI stops at "Trust this
  folder?" (verified with Codex 0.171.0; trusting the worktree itself is enough, Codex's own dialog would
  trust the whole repository);
- ``[model_providers.<id>]`` when the plugin is configured with a custom provider.

The edit is textual, so comments and formatting survive: a table that exists gets the managed keys replaced
or added in its own section; a missing one is appended. The result is parsed again and must equal the old
document plus exactly the requested values, or nothing is written. Writers are serialized with a lock file
next to the config (``.ao-config.lock``, ``flock``), and the file is replaced atomically (temporary file in
the same directory, fsync, rename), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import tempfile
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ao_core.errors import WorkspaceError

__all__ = ["set_tables", "table_header", "toml_string"]

_LOCK_NAME = ".ao-config.lock"
_LOCK_WAIT_S = 15.0
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*\[(?!\[)")
_ANY_HEADER = re.compile(r"^\s*\[")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}

TablePath = tuple[str, ...]


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (``"..."``), escaping what TOML requires."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(part: str) -> str:
    return part if _BARE_KEY.fullmatch(part) else toml_string(part)


def table_header(path: TablePath) -> str:
    """The header line of a table: ``[projects."/srv/app"]``."""
    return "[" + ".".join(_key(part) for part in path) + "]"


def _header_path(line: str) -> TablePath | None:
    """The key path of a ``[table]`` header line, or ``None`` when the line is not one."""
    if not _HEADER.match(line):
        return None
    try:
        parsed = tomllib.loads(line.strip() + "\n")
    except tomllib.TOMLDecodeError:
        return None
    path: list[str] = []
    node: Any = parsed
    while isinstance(node, dict) and len(node) == 1:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return tuple(path) if path and node == {} else None


def _lookup(doc: Mapping[str, Any], path: TablePath) -> Any:
    node: Any = doc
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _with_values(doc: dict[str, Any], path: TablePath, values: Mapping[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(doc)
    node = result
    for part in path:
        node = node.setdefault(part, {})
    node.update(values)
    return result


def _edit(text: str, path: TablePath, values: Mapping[str, str]) -> str:
    """``text`` with ``values`` set in the table at ``path`` (textually)."""
    lines = text.splitlines(keepends=True)
    start = next((index for index, line in enumerate(lines) if _header_path(line) == path), None)
    if start is None:
        block = [table_header(path) + "\n", *(f"{_key(k)} = {toml_string(v)}\n" for k, v in values.items())]
        prefix = text if not text or text.endswith("\n") else text + "\n"
        separator = "\n" if prefix.strip() else ""
        return prefix + separator + "".join(block)
    end = next((index for index in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[index])), len(lines))
    body = lines[start + 1 : end]
    missing = dict(values)
    for offset, line in enumerate(body):
        for key in list(missing):
            pattern = rf"^(\s*)(?:{re.escape(key)}|{re.escape(toml_string(key))})\s*="
            match = re.match(pattern, line)
            if match:
                newline = "\n" if line.endswith("\n") else ""
                body[offset] = f"{match.group(1)}{_key(key)} = {toml_string(missing.pop(key))}{newline}"
                break
    if missing:
        last = max((i for i, line in enumerate(body) if line.strip() and not line.lstrip().startswith("#")), default=-1)
        if last >= 0 and not body[last].endswith("\n"):
            body[last] += "\n"
        insert = [f"{_key(k)} = {toml_string(v)}\n" for k, v in missing.items()]
        body[last + 1 : last + 1] = insert
    return "".join(lines[: start + 1] + body + lines[end:])


def _load(config: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = config.read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", {}
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkspaceError(f"cannot read Codex's config {config}: {exc}") from exc
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(
            f"Codex's config {config} is not valid TOML ({exc}); fix it so that ao can mark workspaces as trusted"
        ) from exc


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    import fcntl

    lock_path = directory / _LOCK_NAME
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + _LOCK_WAIT_S
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WorkspaceError(
                        f"cannot lock {lock_path}: another ao process has held it for {_LOCK_WAIT_S:.0f}s"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _write_atomically(config: Path, text: str) -> None:
    mode = 0o600
    with contextlib.suppress(FileNotFoundError):
        mode = config.stat().st_mode & 0o777
    fd, temp = tempfile.mkstemp(prefix=f".{config.name}.", suffix=".ao-tmp", dir=config.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).chmod(mode)
        Path(temp).replace(config)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp).unlink()
        raise


def set_tables(config: Path, tables: Sequence[tuple[TablePath, Mapping[str, str]]]) -> bool:
    """Set string values in tables of a TOML file, keeping the rest of it; return whether it changed.

    Args:
        config: The file (created, with its directory, when missing).
        tables: ``(table path, {key: value})`` pairs, e.g. ``(("projects", "/srv/w"), {"trust_level": "trusted"})``.

    Raises:
        WorkspaceError: the file is not valid TOML, cannot be read, locked or written, or a table is defined
            in a way a textual edit cannot change safely (an inline table or dotted keys); the message says
            what to add by hand.
    """
    _, before = _load(config)
    if all(_matches(before, path, values) for path, values in tables):
        return False
    try:
        config.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkspaceError(f"cannot create Codex's home {config.parent}: {exc.strerror}") from exc
    with _locked(config.parent):
        text, doc = _load(config)
        expected = doc
        for path, values in tables:
            if _matches(expected, path, values):
                continue
            existing = _lookup(expected, path)
            if existing is not None and not any(_header_path(line) == path for line in text.splitlines()):
                why = "it is defined without a [table] header"
                raise WorkspaceError(_manual_edit_message(config, path, values, why))
            text = _edit(text, path, values)
            expected = _with_values(expected, path, values)
        try:
            after = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(
                _manual_edit_message(config, tables[0][0], tables[0][1], f"the edit broke it: {exc}")
            ) from exc
        if after != expected:
            raise WorkspaceError(_manual_edit_message(config, tables[0][0], tables[0][1], "the edit would change more"))
        try:
            _write_atomically(config, text)
        except OSError as exc:
            raise WorkspaceError(f"cannot write Codex's config {config}: {exc.strerror}") from exc
    return True


def _matches(doc: Mapping[str, Any], path: TablePath, values: Mapping[str, str]) -> bool:
    table = _lookup(doc, path)
    return isinstance(table, Mapping) and all(table.get(key) == value for key, value in values.items())


def _manual_edit_message(config: Path, path: TablePath, values: Mapping[str, str], why: str) -> str:
    lines = "; ".join(f"{_key(k)} = {toml_string(v)}" for k, v in values.items())
    header = table_header(path)
    return f"cannot update {header} in Codex's config {config} safely ({why}); set it there by hand: {lines}"
