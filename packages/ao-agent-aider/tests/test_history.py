"""Reading the chat histories the real Aider wrote (recorded by record_aider.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aider_support import HISTORIES
from ao_agent_aider._history import UsageReader, first_user_line, parse_tokens, read_tail, read_usage

LAST_ENTRY = {
    "started": "tool",
    "message-pending": "user",
    "question-pending": "tool",
    "turn-complete": "tool",
    "api-error": "tool",
}


def test_every_recorded_history_is_in_the_table() -> None:
    assert {path.stem for path in HISTORIES.glob("*.md")} == set(LAST_ENTRY)


@pytest.mark.parametrize(("name", "kind"), sorted(LAST_ENTRY.items()))
def test_last_entry_of_recorded_history(name: str, kind: str) -> None:
    tail = read_tail(HISTORIES / f"{name}.md")
    assert tail is not None
    assert tail.last_kind == kind


def test_a_pending_message_shows_its_last_line() -> None:
    tail = read_tail(HISTORIES / "message-pending.md")
    assert tail is not None
    assert tail.last_line == "and commit it"


def test_the_tail_is_read_from_the_end_only(tmp_path: Path) -> None:
    big = tmp_path / "history.md"
    big.write_text("# aider chat started at 2026-01-01 00:00:00\n\n" + "an answer line\n" * 20_000 + "#### do it  \n")
    tail = read_tail(big, max_bytes=4096)
    assert tail is not None
    assert (tail.last_kind, tail.last_line) == ("user", "do it")


def test_a_missing_or_empty_history(tmp_path: Path) -> None:
    assert read_tail(tmp_path / "absent.md") is None
    (tmp_path / "empty.md").write_text("")
    empty = read_tail(tmp_path / "empty.md")
    assert empty is not None
    assert empty.last_kind is None
    assert first_user_line(tmp_path / "empty.md") is None


def test_a_header_alone_means_aider_just_started(tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_text("\n# aider chat started at 2026-11-30 00:57:03\n\n")
    tail = read_tail(path)
    assert tail is not None
    assert tail.last_kind == "header"


def test_first_user_line_is_the_first_line_of_the_first_message() -> None:
    assert first_user_line(HISTORIES / "api-error.md") == "please create hello.txt"
    assert first_user_line(HISTORIES / "started.md") is None


def test_usage_sums_every_report_of_the_recorded_history() -> None:
    text = (HISTORIES / "api-error.md").read_text()
    reports = re.findall(r"Tokens: (\d+) sent, (\d+) received\. Cost: \$([\d.]+) message", text)
    assert reports, "the recording has no usage report"
    usage = read_usage(HISTORIES / "api-error.md")
    assert usage is not None
    assert usage.reports == len(reports)
    assert usage.sent == sum(int(sent) for sent, _, _ in reports)
    assert usage.received == sum(int(received) for _, received, _ in reports)
    assert usage.cost_usd == pytest.approx(sum(float(cost) for _, _, cost in reports))


def test_usage_with_cache_figures_and_cost_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_text(
        "#### go  \n\nanswer\n\n"
        "> Tokens: 2.3k sent, 1.2k cache write, 12k cache hit, 150 received.  \n"
        "> Cost: $0.0040 message, $0.0040 session.  \n"
        "#### again  \n\nanswer\n\n"
        "> Tokens: 1.5M sent, 1.0k received. Cost: $1.23 message, $1.23 session.  \n"
        "## A heading in an answer: Tokens: 9 sent, 9 received. Cost: $9.00 message, $9.00 session.\n"
    )
    usage = read_usage(path)
    assert usage is not None
    assert (usage.reports, usage.sent, usage.received) == (2, 2_300 + 1_500_000, 150 + 1_000)
    assert (usage.cache_write, usage.cache_hit) == (1_200, 12_000)
    assert usage.cost_usd == pytest.approx(1.234)


def test_usage_without_prices_has_no_cost(tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_text("#### go  \n\nok\n\n> Tokens: 594 sent, 3 received.  \n")
    usage = read_usage(path)
    assert usage is not None
    assert (usage.reports, usage.sent, usage.received, usage.cost_usd) == (1, 594, 3, None)


@pytest.mark.parametrize(
    ("text", "count"), [("0", 0), ("594", 594), ("2.3k", 2300), ("41k", 41_000), ("1.2M", 1_200_000)]
)
def test_parse_tokens(text: str, count: int) -> None:
    assert parse_tokens(text) == count


def test_usage_reader_reads_again_only_after_a_change(tmp_path: Path) -> None:
    path = tmp_path / "history.md"
    path.write_text("> Tokens: 10 sent, 1 received. Cost: $0.01 message, $0.01 session.  \n")
    reader = UsageReader()
    first = reader.read(path)
    assert first is not None
    assert reader.read(path) is first
    with path.open("a") as handle:
        handle.write("> Tokens: 20 sent, 2 received. Cost: $0.02 message, $0.03 session.  \n")
    second = reader.read(path)
    assert second is not None
    assert (second.reports, second.sent) == (2, 30)
    path.unlink()
    assert reader.read(path) is None
