"""detect_activity against screens the real Claude Code drew (recorded by record_claude_code.py)."""

from __future__ import annotations

import pytest
from ao_agent_claude_code import create
from ao_core.models import ActivityState
from claude_support import SCREENS, screen

RECORDED = {
    "ready-bypass-fresh": ActivityState.READY,
    "ready-default-mode": ActivityState.READY,
    "ready-after-turn": ActivityState.READY,
    "ready-default-after-turn": ActivityState.READY,
    "ready-after-api-error": ActivityState.READY,
    "ready-after-resume": ActivityState.READY,
    "busy-thinking": ActivityState.ACTIVE,
    "busy-tool-running": ActivityState.ACTIVE,
    "permission-create-file": ActivityState.WAITING_INPUT,
    "permission-bash": ActivityState.WAITING_INPUT,
    "dialog-trust": ActivityState.WAITING_INPUT,
    "dialog-api-key": ActivityState.WAITING_INPUT,
    "dialog-bypass-warning": ActivityState.WAITING_INPUT,
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


def test_the_banner_before_the_prompt_is_not_ready() -> None:
    banner = "\n".join(line for line in screen("ready-bypass-fresh").splitlines() if "│" in line or "╭" in line)
    assert create().detect_activity(banner) is ActivityState.ACTIVE


def test_a_typed_but_unsubmitted_prompt_is_still_ready() -> None:
    lines = screen("ready-after-turn").splitlines()
    prompt = "\u276f"  # the prompt glyph
    typed = [(f"{prompt} also add tests" if line.rstrip() == prompt else line) for line in lines]
    assert create().detect_activity("\n".join(typed)) is ActivityState.READY


def test_escape_codes_do_not_hide_the_state() -> None:
    colored = "\n".join(f"\x1b[2m{line}\x1b[0m" for line in screen("permission-bash").splitlines())
    assert create().detect_activity(colored) is ActivityState.WAITING_INPUT


def test_a_finished_spinner_line_is_not_busy() -> None:
    # "✻ Churned for 0s" is the summary of a finished turn; only "<verb>…" means working.
    text = screen("ready-after-turn")
    assert any(line.startswith("✻") and "…" not in line for line in text.splitlines())
    assert create().detect_activity(text) is ActivityState.READY
