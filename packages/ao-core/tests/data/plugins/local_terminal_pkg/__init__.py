"""A local-path terminal plugin (a package directory, with a relative import): records what it opens."""

from __future__ import annotations

from ao_core.interfaces import PluginManifest, Terminal
from ao_core.models import PluginSlot

from ._impl import RecordingTerminal, RecordingTerminalConfig

manifest = PluginManifest(name="recorder", slot=PluginSlot.TERMINAL, description="Records opened sessions")


def create(config: RecordingTerminalConfig | None = None) -> Terminal:
    """Build the terminal."""
    return RecordingTerminal(config or RecordingTerminalConfig())
