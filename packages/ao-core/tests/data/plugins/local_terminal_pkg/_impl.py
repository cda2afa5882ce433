"""The implementation, imported relatively by the package's ``__init__``."""

from __future__ import annotations

from collections.abc import Sequence

from ao_core.models import Session
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class RecordingTerminalConfig(BaseModel):
    """Options: a label put before each recorded session id."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    window_label: str = "window"


class RecordingTerminal:
    """Keeps the ids of the sessions it opened, labelled."""

    def __init__(self, config: RecordingTerminalConfig) -> None:
        self.config = config
        self.opened: list[str] = []

    @property
    def name(self) -> str:
        return "recorder"

    async def open_session(self, session: Session) -> None:
        self.opened.append(f"{self.config.window_label}:{session.id}")

    async def open_all(self, sessions: Sequence[Session]) -> None:
        for session in sessions:
            await self.open_session(session)
