"""The fake terminal as a plugin module."""

from ao_core.interfaces import PluginManifest, Terminal
from ao_core.models import PluginSlot
from ao_core.testing._fakes_terminal import FakeTerminal
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["FakeTerminalConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake", slot=PluginSlot.TERMINAL, description="Terminal that records opened sessions, for tests"
)


class FakeTerminalConfig(FakeConfigBase):
    """Options of the fake terminal (none yet)."""


def create(config: FakeTerminalConfig | None = None) -> Terminal:
    """Build a :class:`~ao_core.testing.FakeTerminal`."""
    return FakeTerminal(manifest.name)
