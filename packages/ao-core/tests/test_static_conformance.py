"""Conformance is static: mypy rejects a plugin whose ``create() -> Runtime`` returns a non-conforming class."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT_CONFIG = Path(__file__).resolve().parents[3] / "pyproject.toml"

# mypy needs a few seconds (more with a cold cache); the cache lives in tmp_path, so runs never share state.
pytestmark = pytest.mark.timeout(240)

CONFORMING = '''\
"""A runtime plugin whose class implements every method of the Runtime protocol."""

from __future__ import annotations

from pydantic import BaseModel

from ao_core.interfaces import PluginManifest, Runtime
from ao_core.models import PluginSlot, RuntimeCreateConfig, RuntimeHandle

manifest = PluginManifest(name="good", slot=PluginSlot.RUNTIME, description="Conforms")


class GoodRuntimeConfig(BaseModel):
    prefix: str = ""


class GoodRuntime:
    @property
    def name(self) -> str:
        return "good"

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        return RuntimeHandle(id=config.session_id, runtime_name=self.name)

    async def destroy(self, handle: RuntimeHandle) -> None:
        return None

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        return None

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        return ""

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        return False


def create(config: GoodRuntimeConfig | None = None) -> Runtime:
    return GoodRuntime()
'''

MISSING_METHOD = '''\
"""A runtime plugin whose class has no ``is_alive``."""

from __future__ import annotations

from ao_core.interfaces import PluginManifest, Runtime
from ao_core.models import PluginSlot, RuntimeCreateConfig, RuntimeHandle

manifest = PluginManifest(name="broken", slot=PluginSlot.RUNTIME, description="Misses a method")


class Broken:
    @property
    def name(self) -> str:
        return "broken"

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        return RuntimeHandle(id=config.session_id, runtime_name=self.name)

    async def destroy(self, handle: RuntimeHandle) -> None:
        return None

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        return None

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        return ""


def create() -> Runtime:
    return Broken()
'''

WRONG_SIGNATURE = '''\
"""A runtime plugin whose ``send_message`` is synchronous."""

from __future__ import annotations

from ao_core.interfaces import PluginManifest, Runtime
from ao_core.models import PluginSlot, RuntimeCreateConfig, RuntimeHandle

manifest = PluginManifest(name="sync", slot=PluginSlot.RUNTIME, description="Wrong signature")


class SyncSend:
    @property
    def name(self) -> str:
        return "sync"

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        return RuntimeHandle(id=config.session_id, runtime_name=self.name)

    async def destroy(self, handle: RuntimeHandle) -> None:
        return None

    def send_message(self, handle: RuntimeHandle, message: str) -> None:
        return None

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        return ""

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        return False


def create() -> Runtime:
    return SyncSend()
'''

# The Python form of upstream's ``satisfies PluginModule<Runtime>``: a module object checked against the Protocol.
MODULE_CHECK = """\
from __future__ import annotations

import good_plugin

from ao_core.interfaces import PluginModule, Runtime

checked: PluginModule[Runtime] = good_plugin
"""


def test_mypy_rejects_non_conforming_plugins_and_accepts_a_conforming_one(tmp_path: Path) -> None:
    sources = {
        "good_plugin.py": CONFORMING,
        "missing_method_plugin.py": MISSING_METHOD,
        "wrong_signature_plugin.py": WRONG_SIGNATURE,
        "module_check.py": MODULE_CHECK,
    }
    for name, text in sources.items():
        (tmp_path / name).write_text(textwrap.dedent(text))

    mypy = [sys.executable, "-m", "mypy", "--strict", "--config-file", str(ROOT_CONFIG)]
    result = subprocess.run(
        [*mypy, "--cache-dir", str(tmp_path / ".mypy_cache"), "--no-error-summary", *sources],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )

    lines = result.stdout.splitlines()
    errors = [line for line in lines if ": error: " in line]
    assert result.returncode == 1, result.stdout + result.stderr
    assert not [line for line in lines if line.startswith(("good_plugin.py", "module_check.py"))], result.stdout
    assert any(
        line.startswith("missing_method_plugin.py:")
        and 'Incompatible return value type (got "Broken", expected "Runtime")' in line
        for line in errors
    ), result.stdout
    assert any(line.startswith("missing_method_plugin.py:") and "is_alive" in line for line in lines), result.stdout
    assert any(
        line.startswith("wrong_signature_plugin.py:")
        and 'Incompatible return value type (got "SyncSend", expected "Runtime")' in line
        for line in errors
    ), result.stdout
    assert len(errors) == 2, result.stdout
