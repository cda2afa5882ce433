"""detect_activity against screens the real OpenCode drew (recorded by record_opencode.py)."""

from __future__ import annotations

import pytest
from ao_agent_opencode import create
from ao_core.models import ActivityState
from opencode_support import SCREENS, screen

RECORDED = {
    "ready-fresh": ActivityState.READY,
    "ready-after-turn": ActivityState.READY,
    "ready-after-api-error": ActivityState.READY,
    "ready-after-resume": ActivityState.READY,
    "busy-thinking": ActivityState.ACTIVE,
    "busy-tool-running": ActivityState.ACTIVE,
    "permission-edit": ActivityState.WAITING_INPUT,
    "permission-bash": ActivityState.WAITING_INPUT,
}


def test_every_recorded_screen_is_in_the_table() -> None:
    assert {path.stem for path in SCREENS.glob("*.txt")} == set(RECORDED)


@pytest.mark.parametrize(("name", "expected"), sorted(RECORDED.items()))
def test_recorded_screen(name: str, expected: ActivityState) -> None:
    assert create().detect_activity(screen(name)) is expected


@pytest.mark.parametrize(("name", "expected"), sorted(RECORDED.items()))
def test_recorded_screen_through_the_runtime_window(name: str, expected: ActivityState) -> None:
    # The kernel hands over the last 30 lines of the pane, not the whole screen.
    assert create().detect_activity("\n".join(screen(name).splitlines()[-30:])) is expected


@pytest.mark.parametrize("text", ["", "   \n\n", "\n" * 40])
def test_an_empty_screen_is_never_ready(text: str) -> None:
    assert create().detect_activity(text) is ActivityState.ACTIVE


def test_the_logo_alone_is_not_ready() -> None:
    logo = "\n".join(line for line in screen("ready-fresh").splitlines() if "█" in line or "▀▀▀▀ " in line)
    assert logo.strip()
    assert create().detect_activity(logo) is ActivityState.ACTIVE


def test_escape_codes_do_not_hide_the_state() -> None:
    colored = "\n".join(f"\x1b[38;2;250;178;131m{line}\x1b[0m" for line in screen("permission-bash").splitlines())
    assert create().detect_activity(colored) is ActivityState.WAITING_INPUT
