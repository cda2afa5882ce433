"""Transcript parsing against transcripts the real Claude Code wrote (recorded by record_claude_code.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ao_agent_claude_code import ClaudeCodeAgentConfig, ModelPrice
from ao_agent_claude_code._agent import ClaudeCodeAgent
from ao_agent_claude_code._pricing import DEFAULT_PRICE, price_for
from ao_agent_claude_code._transcript import StatsReader, classify, read_tail, summary_of
from ao_core.models import ActivityState
from claude_support import TRANSCRIPTS, newest_timestamp, transcript_lines

RECORDED = {
    # transcript: (state of its newest entry, in the middle of a turn?, evidence)
    "user-prompt-pending": (ActivityState.ACTIVE, True, "user prompt"),
    "tool-running": (ActivityState.ACTIVE, True, "assistant tool_use (Bash)"),
    "permission-pending": (ActivityState.ACTIVE, True, "assistant tool_use (Write)"),
    "turn-complete": (ActivityState.READY, False, "system turn_duration"),
    "api-error": (ActivityState.READY, False, "system turn_duration"),
    "after-kill-resumed": (ActivityState.ACTIVE, True, "assistant tool_use (Bash)"),
}


def test_every_recorded_transcript_is_in_the_table() -> None:
    assert {path.stem for path in TRANSCRIPTS.glob("*.jsonl")} == set(RECORDED)


@pytest.mark.parametrize(("name", "expected"), sorted(RECORDED.items()))
def test_newest_entry_of_recorded_transcript(name: str, expected: tuple[ActivityState, bool, str]) -> None:
    tail = read_tail(TRANSCRIPTS / f"{name}.jsonl")
    assert tail is not None
    assert tail.entry is not None
    assert tail.timestamp == newest_timestamp(name)
    classified = classify(tail.entry)
    assert classified is not None
    assert (classified.state, classified.working, classified.what) == expected


def test_lines_out_of_time_order_the_newest_timestamp_wins(tmp_path: Path) -> None:
    # Claude Code 2.1 does not always write in time order: with a fast answer, the prompt's lines (and the
    # bookkeeping) land after the answer's (seen on this machine). Rearrange a recorded transcript that way.
    lines = (TRANSCRIPTS / "turn-complete.jsonl").read_text(encoding="utf-8").splitlines()
    stamps = [json.loads(line).get("timestamp") for line in lines]
    first_at = min(stamp for stamp in stamps if isinstance(stamp, str))
    early = [line for line, stamp in zip(lines, stamps, strict=True) if stamp == first_at]
    rest = [line for line in lines if line not in early]
    path = tmp_path / "reordered.jsonl"
    path.write_text("\n".join([*rest, *early, '{"type":"last-prompt"}']) + "\n", encoding="utf-8")
    tail = read_tail(path)
    assert tail is not None
    assert tail.entry is not None
    assert (tail.entry["type"], tail.entry.get("subtype")) == ("system", "turn_duration")
    assert tail.timestamp == newest_timestamp("turn-complete")


def test_api_error_entry_is_blocked() -> None:
    (error,) = [entry for entry in transcript_lines("api-error") if entry.get("isApiErrorMessage")]
    classified = classify(error)
    assert classified is not None
    assert (classified.state, classified.what) == (ActivityState.BLOCKED, "API error 400")


def test_a_missing_transcript_reads_as_none(tmp_path: Path) -> None:
    assert read_tail(tmp_path / "nope.jsonl") is None
    assert StatsReader().read(tmp_path / "nope.jsonl") is None


def _write(path: Path, entries: list[dict[str, Any]], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(entry) + "\n" for entry in entries) + tail, encoding="utf-8")
    return path


def _user(at: str, text: str = "hi") -> dict[str, Any]:
    return {"type": "user", "timestamp": at, "message": {"role": "user", "content": text}}


def _assistant(at: str, stop: str | None, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"id": "msg_1", "role": "assistant", "model": "claude-sonnet-4-5", "stop_reason": stop}
    message["content"] = []
    return {"type": "assistant", "timestamp": at, "message": message, **extra}


def test_tail_skips_a_half_written_last_line_and_bookkeeping(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.jsonl",
        [_user("2026-01-01T00:00:00Z"), _assistant("2026-01-01T00:00:05Z", "end_turn"), {"type": "last-prompt"}],
        tail='{"type":"user","timestamp":"2026-01-01T00:09:',
    )
    tail = read_tail(path)
    assert tail is not None
    assert tail.entry is not None
    assert tail.entry["type"] == "assistant"


def test_tail_reads_back_past_large_lines_until_it_has_enough_entries(tmp_path: Path) -> None:
    entries = [_assistant("2026-01-01T00:00:09Z", "end_turn")]
    entries += [{**_user("2026-01-01T00:00:01Z"), "attachment": "x" * 20_000} for _ in range(3)]
    tail = read_tail(_write(tmp_path / "t.jsonl", entries))
    assert tail is not None
    assert tail.entry is not None
    assert tail.entry["type"] == "assistant"


def test_tail_reads_at_most_a_mebibyte(tmp_path: Path) -> None:
    entries = [_assistant("2026-01-01T00:00:09Z", "end_turn"), {"type": "mode", "pad": "x" * 2_000_000}]
    tail = read_tail(_write(tmp_path / "t.jsonl", entries))
    assert tail is not None
    assert tail.entry is None


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (_user("2026-01-01T00:00:00Z"), (ActivityState.ACTIVE, True)),
        (_user("2026-01-01T00:00:00Z", "[Request interrupted by user]"), (ActivityState.READY, False)),
        (_assistant("2026-01-01T00:00:00Z", "max_tokens"), (ActivityState.READY, False)),
        (_assistant("2026-01-01T00:00:00Z", None), (ActivityState.ACTIVE, True)),
        ({"type": "system", "subtype": "api_error", "timestamp": "t"}, (ActivityState.BLOCKED, False)),
        ({"type": "system", "subtype": "stop_hook_summary", "timestamp": "t"}, (ActivityState.READY, False)),
        ({"type": "result", "timestamp": "t"}, (ActivityState.READY, False)),
        ({"type": "result", "is_error": True, "timestamp": "t"}, (ActivityState.BLOCKED, False)),
        ({"type": "permission_request", "timestamp": "t"}, (ActivityState.WAITING_INPUT, False)),
        ({"type": "progress", "timestamp": "t"}, (ActivityState.ACTIVE, True)),
        ({"type": "something-new", "timestamp": "t"}, (ActivityState.ACTIVE, True)),
    ],
)
def test_classify_entry_kinds(entry: dict[str, Any], expected: tuple[ActivityState, bool]) -> None:
    classified = classify(entry)
    assert classified is not None
    assert (classified.state, classified.working) == expected


def test_unknown_system_entries_say_nothing() -> None:
    assert classify({"type": "system", "subtype": "informational", "timestamp": "t"}) is None


# --------------------------------------------------------------------------- usage and cost


def test_recorded_usage_counts_each_message_once() -> None:
    expected = json.loads((TRANSCRIPTS / "usage.json").read_text())
    lines = transcript_lines("turn-complete")
    assistant_lines = [entry for entry in lines if entry["type"] == "assistant"]
    assert len(assistant_lines) > expected["messages"]  # one line per content block: naive sums double count
    stats = StatsReader().read(TRANSCRIPTS / "turn-complete.jsonl")
    assert stats is not None
    assert len(stats.usage) == expected["messages"]
    cost = ClaudeCodeAgent().estimate_cost(stats)
    assert cost is not None
    assert (cost.input_tokens, cost.output_tokens, cost.cache_read_tokens, cost.cache_creation_tokens) == (
        expected["input_tokens"],
        expected["output_tokens"],
        expected["cache_read_tokens"],
        expected["cache_creation_tokens"],
    )
    model = {entry["message"]["model"] for entry in assistant_lines}
    assert model == {"claude-opus-4-8"}
    price = price_for("claude-opus-4-8")
    dollars = (
        expected["input_tokens"] * price.input
        + expected["output_tokens"] * price.output
        + expected["cache_read_tokens"] * price.cache_read
        + expected["cache_creation_tokens"] * price.cache_write
    ) / 1_000_000
    assert cost.estimated_cost_usd == pytest.approx(dollars)


def test_cost_uses_the_configured_price() -> None:
    stats = StatsReader().read(TRANSCRIPTS / "turn-complete.jsonl")
    assert stats is not None
    free = ClaudeCodeAgentConfig(pricing={"claude-opus-4": ModelPrice(input=0, output=1, cache_read=0, cache_write=0)})
    cost = ClaudeCodeAgent(free).estimate_cost(stats)
    assert cost is not None
    assert cost.estimated_cost_usd == pytest.approx(cost.output_tokens / 1_000_000)


def test_cost_prefers_recorded_dollars(tmp_path: Path) -> None:
    usage = {"input_tokens": 1000, "output_tokens": 100}
    entries = [
        {**_assistant("2026-01-01T00:00:01Z", "tool_use"), "costUSD": 0.25}
        | {"message": {"id": "a", "model": "x", "usage": usage}},
        {**_assistant("2026-01-01T00:00:02Z", "tool_use"), "costUSD": 0.25}
        | {"message": {"id": "a", "model": "x", "usage": usage}},
        {"type": "assistant", "costUSD": 0.5, "message": {"id": "b", "model": "x"}},
    ]
    stats = StatsReader().read(_write(tmp_path / "t.jsonl", entries))
    assert stats is not None
    cost = ClaudeCodeAgent().estimate_cost(stats)
    assert cost is not None
    assert cost.estimated_cost_usd == pytest.approx(0.75)
    assert (cost.input_tokens, cost.output_tokens) == (1000, 100)


def test_no_assistant_message_means_no_cost(tmp_path: Path) -> None:
    stats = StatsReader().read(_write(tmp_path / "t.jsonl", [_user("2026-01-01T00:00:00Z")]))
    assert stats is not None
    assert ClaudeCodeAgent().estimate_cost(stats) is None


@pytest.mark.parametrize(
    ("model", "input_price", "output_price"),
    [
        ("claude-sonnet-4-5-20250929", 3.0, 15.0),
        ("claude-opus-4-5-20251101", 5.0, 25.0),
        ("claude-opus-4-1-20250805", 15.0, 75.0),
        ("claude-opus-4-20250514", 15.0, 75.0),
        ("claude-opus-4-8[1m]", 5.0, 25.0),
        ("claude-haiku-4-5-20251001", 1.0, 5.0),
        ("claude-3-5-haiku-20241022", 0.8, 4.0),
        ("us.anthropic.claude-sonnet-4-5-v1:0", 3.0, 15.0),
        ("some-other-model", DEFAULT_PRICE.input, DEFAULT_PRICE.output),
        (None, 3.0, 15.0),
    ],
)
def test_price_table(model: str | None, input_price: float, output_price: float) -> None:
    price = price_for(model)
    assert (price.input, price.output) == (input_price, output_price)


def test_default_price_is_sonnet_class() -> None:
    assert ModelPrice(input=3.0, output=15.0, cache_read=0.30, cache_write=3.75) == DEFAULT_PRICE


# --------------------------------------------------------------------------- summary and incremental parsing


def test_summary_from_the_recorded_title() -> None:
    stats = StatsReader().read(TRANSCRIPTS / "turn-complete.jsonl")
    assert stats is not None
    assert stats.first_prompt == "please write hello.txt and commit it"
    assert summary_of(stats) == ("Scripted session", False)  # the ai-title the model server's side reply made


def test_summary_prefers_a_summary_entry_then_falls_back_to_the_first_prompt(tmp_path: Path) -> None:
    long_prompt = "Fix the parser " * 20
    path = _write(tmp_path / "t.jsonl", [_user("2026-01-01T00:00:00Z", long_prompt)])
    reader = StatsReader()
    stats = reader.read(path)
    assert stats is not None
    summary, fallback = summary_of(stats)
    assert fallback
    assert summary is not None
    assert len(summary) == 120
    assert summary.endswith("…")
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"type": "summary", "summary": "Parser fixed"}) + "\n")
    stats = reader.read(path)
    assert stats is not None
    assert summary_of(stats) == ("Parser fixed", False)


def test_stats_are_read_incrementally_and_reparsed_when_replaced(tmp_path: Path) -> None:
    usage = {"input_tokens": 10, "output_tokens": 1}
    first = {"type": "assistant", "message": {"id": "a", "model": "m", "usage": usage}}
    path = _write(tmp_path / "t.jsonl", [first], tail='{"type": "assistant", "message": {"id": "b", "mod')
    reader = StatsReader()
    stats = reader.read(path)
    assert stats is not None
    assert set(stats.usage) == {"a"}
    with path.open("a", encoding="utf-8") as handle:
        handle.write('el": "m", "usage": {"input_tokens": 5, "output_tokens": 2}}}\n')
    stats = reader.read(path)
    assert stats is not None
    assert set(stats.usage) == {"a", "b"}
    replacement = tmp_path / "new.jsonl"
    _write(replacement, [{"type": "assistant", "message": {"id": "c", "model": "m", "usage": usage}}])
    replacement.replace(path)
    stats = reader.read(path)
    assert stats is not None
    assert set(stats.usage) == {"c"}
