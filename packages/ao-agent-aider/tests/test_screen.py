"""detect_activity against screens the real Aider drew (recorded by record_aider.py)."""

from __future__ import annotations

import pytest
from aider_support import SCREENS, screen
from ao_agent_aider import create
from ao_core.models import ActivityState

RECORDED = {
    "ready-fresh": ActivityState.READY,
    "ready-after-turn": ActivityState.READY,
    "ready-after-api-error": ActivityState.READY,
    "ready-after-question": ActivityState.READY,
    "busy-waiting-for-model": ActivityState.ACTIVE,
    "question-create-file": ActivityState.WAITING_INPUT,
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
    banner = "\n".join(line for line in screen("ready-fresh").splitlines() if line.strip() != ">")
    assert create().detect_activity(banner) is ActivityState.ACTIVE


@pytest.mark.parametrize("prompt", ["diff>", "whole>", "ask>", "architect>", "multi>", "diff multi>", "> "])
def test_the_prompt_of_every_chat_mode_is_ready(prompt: str) -> None:
    lines = screen("ready-after-turn").splitlines()
    text = "\n".join([*lines[:-1], prompt])
    assert create().detect_activity(text) is ActivityState.READY


def test_an_answered_question_is_not_waiting() -> None:
    lines = screen("question-create-file").splitlines()
    answered = "\n".join([*lines[:-1], lines[-1] + " y", "Applied edit to hello.txt"])
    assert create().detect_activity(answered) is ActivityState.ACTIVE


@pytest.mark.parametrize(
    "question",
    [
        "Add file to the chat? (Y)es/(N)o/(A)ll/(S)kip all/(D)on't ask again [Yes]:",
        "Run shell command? (Y)es/(N)o/(D)on't ask again [Yes]:",
        "Add URL to the chat? (Y)es/(N)o/(D)on't ask again [Yes]:",
        "Allow edits to file that has not been added to the chat? (Y)es/(N)o [Yes]: ",
    ],
)
def test_other_questions_are_waiting_for_input(question: str) -> None:
    assert create().detect_activity(f"I will edit it.\n{question}") is ActivityState.WAITING_INPUT


def test_a_typed_but_unsubmitted_message_reads_as_active() -> None:
    # Aider echoes a submitted message exactly like text typed at the prompt: without the cursor the two
    # cannot be told apart, so neither is taken for an idle prompt.
    lines = screen("ready-after-turn").splitlines()
    typed = "\n".join([*lines[:-1], "> also add tests"])
    assert create().detect_activity(typed) is ActivityState.ACTIVE


def test_escape_codes_do_not_hide_the_state() -> None:
    colored = "\n".join(f"\x1b[38;5;40m{line}\x1b[0m" for line in screen("question-create-file").splitlines())
    assert create().detect_activity(colored) is ActivityState.WAITING_INPUT
