"""A runtime whose sessions are JSON files, so that separate ao processes (CLI, daemon, test) share them.

``<root>/<id>.json`` holds ``{"alive": bool, "screen": str}``; every message sent is appended to
``<root>/<id>.inbox.jsonl`` as ``{"text": ...}``. Tests kill a session by writing ``alive: false``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ao_core.errors import RuntimeFailedError
from ao_core.interfaces import PluginManifest, Runtime
from ao_core.models import PluginSlot, RuntimeCreateConfig, RuntimeHandle
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

manifest = PluginManifest(name="file", slot=PluginSlot.RUNTIME, description="File-backed runtime for tests")


class FileRuntimeConfig(BaseModel):
    """Options of the file runtime."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    root: str
    """The directory holding the session files."""


class FileRuntime:
    """Sessions are files under ``root``; nothing runs."""

    name = "file"

    def __init__(self, config: FileRuntimeConfig) -> None:
        self.root = Path(config.root)

    def _state(self, session_id: str) -> Path:
        return self.root / f"{session_id}.json"

    def _read(self, session_id: str) -> dict[str, object]:
        try:
            data = json.loads(self._state(session_id).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        self.root.mkdir(parents=True, exist_ok=True)
        self._state(config.session_id).write_text(json.dumps({"alive": True, "screen": "> "}))
        return RuntimeHandle(id=config.session_id, runtime_name=self.name)

    async def destroy(self, handle: RuntimeHandle) -> None:
        if self._state(handle.id).exists():
            state = self._read(handle.id)
            state["alive"] = False
            self._state(handle.id).write_text(json.dumps(state))

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        if not self._read(handle.id).get("alive"):
            raise RuntimeFailedError(f"file runtime session '{handle.id}' is not running")
        with (self.root / f"{handle.id}.inbox.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"text": message}) + "\n")

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        screen = self._read(handle.id).get("screen", "")
        return screen if isinstance(screen, str) else ""

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        return bool(self._read(handle.id).get("alive"))


def create(config: FileRuntimeConfig | None = None) -> Runtime:
    """Build the file runtime."""
    if config is None:
        raise RuntimeFailedError("the file runtime needs a 'root' option")
    return FileRuntime(config)
