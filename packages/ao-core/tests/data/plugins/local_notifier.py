"""A local-path notifier plugin (a single .py file): appends each event's message to a text file."""

from __future__ import annotations

from pathlib import Path

from ao_core.interfaces import Notifier, PluginManifest
from ao_core.models import OrchestratorEvent, PluginSlot
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

manifest = PluginManifest(name="local-file", slot=PluginSlot.NOTIFIER, description="Writes messages to a file")


class LocalFileNotifierConfig(BaseModel):
    """Options: the file, and a prefix for each line."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    out_file: Path
    line_prefix: str = Field(default="", max_length=10)


class LocalFileNotifier:
    """Appends ``<prefix><session>: <message>`` lines."""

    def __init__(self, config: LocalFileNotifierConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return manifest.name

    async def notify(self, event: OrchestratorEvent) -> None:
        with self.config.out_file.open("a", encoding="utf-8") as file:
            file.write(f"{self.config.line_prefix}{event.session_id}: {event.message}\n")


def create(config: LocalFileNotifierConfig | None = None) -> Notifier:
    """Build the notifier; ``outFile`` is required."""
    if config is None:
        raise ValueError("outFile is required")
    return LocalFileNotifier(config)
