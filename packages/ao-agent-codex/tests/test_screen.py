"""detect_activity against screens the real Codex TUI drew (recorded by record_codex.py)."""

from __future__ import annotations

import pytest
from ao_agent_codex import create
from ao_core.models import ActivityState
from codex_support import SCREENS, screen

GLYPH = "\u203a"  # the composer's and the dialog choices' glyph

RECORDED = {
    "ready-fresh": ActivityState.READY,
    "ready-after-turn": ActivityState.READY,
    "ready-after-error": ActivityState.READY,
    "ready-after-resume": ActivityState.READY,
    "ready-suggest-after-turn": ActivityState.READY,
    "busy-working": ActivityState.ACTIVE,
    "busy-waiting-for-model": ActivityState.ACTIVE,
    "permission-exec": ActivityState.WAITING_INPUT,
    "dialog-trust": ActivityState.WAITING_INPUT,
    "dialog-trust-worktree": ActivityState.WAITING_INPUT,
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


def test_the_banner_alone_is_not_ready() -> None:
    banner = "\n".join(screen("ready-fresh").splitlines()[:4])
    assert "OpenAI Codex" in banner
    assert create().detect_activity(banner) is ActivityState.ACTIVE


def test_a_typed_but_unsubmitted_prompt_is_still_ready() -> None:
    typed = screen("ready-after-turn").replace(f"{GLYPH} Ask Codex to do anything", f"{GLYPH} also add a test")
    assert f"{GLYPH} also add a test" in typed
    assert create().detect_activity(typed) is ActivityState.READY


def test_escape_codes_do_not_hide_the_state() -> None:
    colored = "\n".join(f"\x1b[2m{line}\x1b[0m" for line in screen("permission-exec").splitlines())
    assert create().detect_activity(colored) is ActivityState.WAITING_INPUT


def test_a_finished_turn_summary_is_not_busy() -> None:
    # "Worked for 3s" is the summary of a finished turn; only "esc to interrupt" means working.
    text = screen("ready-after-turn")
    assert "Worked for" in text
    assert create().detect_activity(text) is ActivityState.READY


def test_a_dialog_choice_is_not_taken_for_the_composer() -> None:
    # The selected choice of a dialog starts with the composer's glyph; even without the dialog's hint line
    # the screen must not read as ready.
    text = screen("permission-exec").replace("Press enter to confirm or esc to cancel", "")
    assert f"{GLYPH} 1. Yes, proceed" in text
    assert create().detect_activity(text) is ActivityState.WAITING_INPUT
