from __future__ import annotations

from pathlib import Path

import pytest
from ao_agent_claude_code._paths import config_dir, encode_project_path, global_config_path, transcript_path
from claude_support import HOOKS, hook_payload


@pytest.mark.parametrize("event", sorted(path.stem for path in HOOKS.glob("*.json")))
def test_encoding_matches_the_transcript_paths_claude_code_reported(event: str) -> None:
    payload = hook_payload(event)
    reported = Path(payload["transcript_path"])
    assert reported.parent.name == encode_project_path(payload["cwd"])
    assert reported.name == f"{payload['session_id']}.jsonl"


@pytest.mark.parametrize(
    ("path", "encoded"),
    [
        ("/home/dev/.worktrees/ao", "-home-dev--worktrees-ao"),
        ("/tmp/ao-record-3h3_x95v/bypass/work.repo", "-tmp-ao-record-3h3-x95v-bypass-work-repo"),
        ("/srv/my project/ünï", "-srv-my-project--n-"),
        ("/srv/emoji-\U0001f600", "-srv-emoji---"),  # one character, two UTF-16 code units, as in JavaScript
    ],
)
def test_every_non_alphanumeric_becomes_a_dash(path: str, encoded: str) -> None:
    assert encode_project_path(path) == encoded


def test_long_paths_are_cut_and_hashed() -> None:
    path = "/x" * 150
    encoded = encode_project_path(path)
    assert encoded.startswith("-x" * 100 + "-")
    assert len(encoded) > 200
    # JavaScript: Math.abs(hash).toString(36), hash = (h << 5) - h + charCode, 32-bit.
    value = 0
    for char in path:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    signed = value - (1 << 32) if value >= 1 << 31 else value
    suffix = encoded.rsplit("-", 1)[1]
    assert int(suffix, 36) == abs(signed)
    assert encode_project_path(path + "y") != encoded


def test_config_dir_sources(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_dir() == tmp_path / "home" / ".claude"
    assert global_config_path() == tmp_path / "home" / ".claude.json"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg"
    assert global_config_path() == tmp_path / "cfg" / ".claude.json"
    assert config_dir(str(tmp_path / "opt")) == tmp_path / "opt"
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / ".config.json").write_text("{}")
    assert global_config_path() == tmp_path / "cfg" / ".config.json"


def test_transcript_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert transcript_path("/w/app.1", "abc") == tmp_path / ".claude" / "projects" / "-w-app-1" / "abc.jsonl"
