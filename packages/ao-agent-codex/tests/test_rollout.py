"""Rollout parsing against rollouts the real Codex CLI wrote (recorded by record_codex.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ao_agent_codex._config import ModelPrice
from ao_agent_codex._pricing import DEFAULT_PRICE, estimate, price_for
from ao_agent_codex._rollout import (
    TokenTotals,
    classify_tail,
    find_thread,
    first_prompt,
    latest_model,
    latest_tokens,
    read_meta,
    read_tail,
    rollout_for_thread,
    thread_name,
)
from codex_support import (
    CODEX_VERSION,
    DATA,
    MAIN_THREAD,
    MAIN_WORKSPACE,
    ROLLOUTS,
    declared_usage,
    install_rollout,
    rollout_entries,
)

RECORDED = {
    "turn-in-progress": "working",
    "turn-complete": "ready",
    "api-error": "blocked",
    "killed-mid-turn": "working",
    "resumed": "ready",
    "tool-pending": "tool",
}


def test_every_recorded_rollout_is_in_the_table() -> None:
    assert {path.stem for path in ROLLOUTS.glob("*.jsonl")} == set(RECORDED)


@pytest.mark.parametrize(("name", "kind"), sorted(RECORDED.items()))
def test_recorded_rollout_tail(name: str, kind: str) -> None:
    state = classify_tail(read_tail(ROLLOUTS / f"{name}.jsonl"))
    assert state is not None
    assert state.kind == kind


def test_the_error_names_the_api_message() -> None:
    state = classify_tail(rollout_entries("api-error"))
    assert state is not None
    assert "scripted failure" in state.what


def test_the_ready_time_is_the_end_of_the_turn() -> None:
    entries = rollout_entries("turn-complete")
    state = classify_tail(entries)
    assert state is not None
    (end,) = [e for e in entries if e["type"] == "event_msg" and e["payload"]["type"] == "task_complete"]
    assert state.at == datetime.fromisoformat(end["timestamp"].replace("Z", "+00:00"))


def test_entries_before_a_restore_are_ignored() -> None:
    entries = rollout_entries("killed-mid-turn")
    newest = max(datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in entries)
    assert classify_tail(entries, newest + timedelta(milliseconds=1)) is None
    assert classify_tail(entries, newest) is not None


def test_the_resumed_turn_ends_the_killed_one() -> None:
    # The killed turn never ended; after the resume a new turn started and completed in the same file.
    entries = rollout_entries("resumed")
    starts = [e for e in entries if e["type"] == "event_msg" and e["payload"]["type"] == "task_started"]
    assert len(starts) == 4  # first task, the failing one, the killed one, the resumed one


def test_tokens_equal_the_declared_usage() -> None:
    totals = latest_tokens(rollout_entries("turn-complete"))
    turns = declared_usage()
    cached = sum(t["cache_read_tokens"] for t in turns)
    assert totals == TokenTotals(
        input_tokens=sum(t["input_tokens"] for t in turns) + cached,
        cached_input_tokens=cached,
        output_tokens=sum(t["output_tokens"] for t in turns),
        reasoning_output_tokens=0,
        total_tokens=sum(t["input_tokens"] + t["cache_read_tokens"] + t["output_tokens"] for t in turns),
    )


def test_tokens_keep_counting_across_a_resume() -> None:
    before = latest_tokens(rollout_entries("turn-complete"))
    after = latest_tokens(rollout_entries("resumed"))
    assert before is not None
    assert after is not None
    # The resumed turn declared Usage(2000, 20, 1500); the failed and the killed turns reported nothing.
    assert after.input_tokens - before.input_tokens == 3500
    assert after.cached_input_tokens - before.cached_input_tokens == 1500
    assert after.output_tokens - before.output_tokens == 20


def test_no_tokens_before_the_first_response() -> None:
    assert latest_tokens(rollout_entries("tool-pending")) is None


def test_cost_of_the_recorded_thread() -> None:
    entries = rollout_entries("turn-complete")
    totals = latest_tokens(entries)
    assert totals is not None
    assert latest_model(entries) == "fake-model"
    cost = estimate(totals, latest_model(entries))
    turns = declared_usage()
    uncached = sum(t["input_tokens"] for t in turns)
    cached = sum(t["cache_read_tokens"] for t in turns)
    output = sum(t["output_tokens"] for t in turns)
    assert (cost.input_tokens, cost.cache_read_tokens, cost.output_tokens) == (uncached, cached, output)
    assert cost.estimated_cost_usd == pytest.approx((uncached * 2.50 + cached * 0.625 + output * 10.0) / 1e6)


def test_prices_match_exactly_then_by_longest_prefix() -> None:
    cheap = ModelPrice(input=1, cached_input=0.1, output=2)
    cheaper = ModelPrice(input=0.5, cached_input=0.05, output=1)
    table = {"gpt-5": cheap, "gpt-5-mini": cheaper, "o3": cheap}
    assert price_for("gpt-5-mini-2025", table) is cheaper
    assert price_for("GPT-5", table) is cheap
    assert price_for("gpt-4.1", table) is DEFAULT_PRICE
    assert price_for(None, table) is DEFAULT_PRICE


def test_meta_of_a_recorded_rollout() -> None:
    meta = read_meta(ROLLOUTS / "turn-complete.jsonl")
    assert meta is not None
    assert (meta.thread_id, meta.cwd, meta.thread_source) == (MAIN_THREAD, MAIN_WORKSPACE, "user")
    assert meta.cli_version == CODEX_VERSION


def test_first_prompt_and_thread_name() -> None:
    assert first_prompt(ROLLOUTS / "turn-complete.jsonl") == "Create hello.txt and commit it"
    assert thread_name(DATA, MAIN_THREAD) == "Scripted session"
    assert thread_name(DATA, "00000000-0000-0000-0000-000000000000") is None


def test_tail_reads_only_the_end_of_a_large_rollout(tmp_path: Path) -> None:
    # A long thread: the recorded rollout with 20 MB of earlier turns in front of it. The tail read must
    # not read them (its cost per poll does not grow with the thread).
    lines = (ROLLOUTS / "turn-complete.jsonl").read_text(encoding="utf-8").splitlines()
    old = {"timestamp": "2020-01-01T00:00:00.000Z", "type": "response_item", "payload": {"x": "y" * 1000}}
    filler = json.dumps(old)
    path = tmp_path / "rollout.jsonl"
    path.write_text("\n".join([lines[0], *([filler] * 20_000), *lines[1:]]) + "\n", encoding="utf-8")
    assert path.stat().st_size > 20_000_000
    entries = read_tail(path, ("event_msg/token_count", "turn_context"))
    assert sum(len(json.dumps(e)) for e in entries) < 200_000
    state = classify_tail(entries)
    assert state is not None
    assert state.kind == "ready"
    assert latest_tokens(entries) == latest_tokens(rollout_entries("turn-complete"))


def test_tail_grows_until_it_finds_what_it_wants(tmp_path: Path) -> None:
    lines = (ROLLOUTS / "turn-complete.jsonl").read_text(encoding="utf-8").splitlines()
    noise = {"timestamp": "2026-01-01T00:00:00.000Z", "type": "event_msg", "payload": {"type": "x", "t": "z" * 1000}}
    filler = json.dumps(noise)
    path = tmp_path / "rollout.jsonl"
    path.write_text("\n".join([*lines, *([filler] * 200)]) + "\n", encoding="utf-8")
    assert latest_tokens(read_tail(path)) is None  # the last 64 KiB hold only filler
    assert latest_tokens(read_tail(path, ("event_msg/token_count",))) is not None


def test_a_partial_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rollout.jsonl"
    text = (ROLLOUTS / "turn-complete.jsonl").read_text(encoding="utf-8")
    path.write_text(text + '{"timestamp": "2026-11-30T00:59:00.000Z", "type": "event_msg", "payl', encoding="utf-8")
    state = classify_tail(read_tail(path))
    assert state is not None
    assert state.kind == "ready"


def test_find_thread_picks_the_workspace_and_the_time(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    workspace = tmp_path / "w" / "worktrees" / "app-1"
    other = tmp_path / "w" / "worktrees" / "app-2"
    now = datetime.now(UTC)
    old = install_rollout(home, workspace, "turn-complete", newest=now - timedelta(days=3), thread_id=_uuid(1))
    mine = install_rollout(home, workspace, "turn-complete", newest=now - timedelta(minutes=5), thread_id=_uuid(2))
    later = install_rollout(home, workspace, "resumed", newest=now, thread_id=_uuid(3))
    install_rollout(home, other, "resumed", newest=now - timedelta(minutes=6), thread_id=_uuid(4))
    assert old.exists()
    assert later.exists()
    session_start = now - timedelta(minutes=30)
    found = find_thread(home, str(workspace), session_start)
    assert found is not None
    assert (found.thread_id, found.path) == (_uuid(2), mine)  # the earliest since the session started
    assert find_thread(home, str(workspace), now + timedelta(minutes=1)) is None
    assert find_thread(home, str(tmp_path / "nowhere"), session_start) is None
    assert rollout_for_thread(home, _uuid(3)) == later
    assert rollout_for_thread(home, "not-a-uuid") is None


def test_find_thread_skips_sub_agent_threads(tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    workspace = tmp_path / "w"
    path = install_rollout(home, workspace, "turn-complete", thread_id=_uuid(5))
    lines = path.read_text(encoding="utf-8").splitlines()
    meta = json.loads(lines[0])
    meta["payload"]["thread_source"] = "subagent"
    path.write_text("\n".join([json.dumps(meta), *lines[1:]]) + "\n", encoding="utf-8")
    assert find_thread(home, str(workspace), datetime.now(UTC) - timedelta(hours=1)) is None


def _uuid(n: int) -> str:
    return f"01a229f4-0000-7000-8000-{n:012d}"
