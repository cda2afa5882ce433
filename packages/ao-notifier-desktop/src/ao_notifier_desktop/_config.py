"""The options of the ``desktop`` notifier (its section of agent-orchestrator.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["DesktopNotifierConfig"]


class DesktopNotifierConfig(BaseModel):
    """Options of the ``desktop`` notifier. YAML keys are camelCase (``appName``, ``timeoutMs``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    app_name: str = Field(default="ao", min_length=1)
    """The application name the notification server shows and filters on (D-Bus ``app_name``)."""
    sound: bool = True
    """macOS: play the default sound with urgent notifications."""
    timeout_ms: int = Field(default=-1, ge=-1)
    """D-Bus ``expire_timeout``: -1 lets the server decide, 0 keeps the notification until dismissed."""
    backend: Literal["auto", "dbus", "osascript"] = "auto"
    """``auto``: osascript on macOS, else the D-Bus session bus, else osascript when it is on PATH."""
