"""setup_workspace_hooks: trust, the merged .claude/settings.json, and git never seeing it."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from ao_agent_claude_code import ClaudeCodeAgentConfig
from ao_agent_claude_code._agent import ClaudeCodeAgent
from ao_agent_claude_code._hooks import HOOK_EVENTS, is_ao_hook
from ao_core.errors import WorkspaceError
from ao_core.models import WorkspaceHooksConfig
from ao_core.testing import init_git_repo, run_git

pytestmark = [pytest.mark.anyio, pytest.mark.integration]

AO = [sys.executable, "-m", "ao_core"]


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    repo = init_git_repo(tmp_path)
    path = tmp_path / "worktrees" / "app-1"
    run_git(repo, "worktree", "add", "-q", "-b", "feat/one", str(path))
    return path


def hooks_config(tmp_path: Path, command: list[str] | None = None) -> WorkspaceHooksConfig:
    return WorkspaceHooksConfig(session_id="app-1", data_dir=str(tmp_path / "state"), ao_command=command or AO)


def settings_of(workspace: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((workspace / ".claude" / "settings.json").read_text())
    return data


async def test_fresh_worktree(isolated_home: Path, worktree: Path, tmp_path: Path) -> None:
    await ClaudeCodeAgent().setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    hooks = settings_of(worktree)["hooks"]
    assert isinstance(hooks, dict)
    assert set(hooks) == set(HOOK_EVENTS)
    for event, matcher in HOOK_EVENTS.items():
        (group,) = hooks[event]
        assert group.get("matcher") == matcher
        (hook,) = group["hooks"]
        assert hook == {"type": "command", "command": shlex.join([*AO, "hook", "claude", event]), "timeout": 10}
    state = json.loads((isolated_home / ".claude.json").read_text())
    assert state["projects"][str(worktree)]["hasTrustDialogAccepted"] is True
    assert run_git(worktree, "status", "--porcelain", "--untracked-files=all") == ""
    exclude = Path(run_git(worktree, "rev-parse", "--git-path", "info/exclude"))
    assert "/.claude/settings.json" in exclude.read_text().splitlines()


async def test_idempotent(isolated_home: Path, worktree: Path, tmp_path: Path) -> None:
    agent = ClaudeCodeAgent()
    await agent.setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    first = (worktree / ".claude" / "settings.json").read_text()
    exclude = Path(run_git(worktree, "rev-parse", "--git-path", "info/exclude"))
    excluded = exclude.read_text()
    await agent.setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    assert (worktree / ".claude" / "settings.json").read_text() == first
    assert exclude.read_text() == excluded


async def test_user_settings_and_hooks_are_kept_and_old_ao_hooks_replaced(
    isolated_home: Path, worktree: Path, tmp_path: Path
) -> None:
    (worktree / ".claude").mkdir()
    user_hook = {"type": "command", "command": "./scripts/lint.sh"}
    (worktree / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "permissions": {"allow": ["Bash(npm test)"]},
                "env": {"FOO": "bar"},
                "hooks": {
                    "PostToolUse": [
                        {"matcher": "Edit", "hooks": [user_hook]},
                        {
                            "matcher": "Bash",
                            "hooks": [{"type": "command", "command": "/old/ao hook claude PostToolUse"}],
                        },
                    ],
                    "SessionStart": [{"hooks": [user_hook]}],
                },
            }
        )
    )
    await ClaudeCodeAgent().setup_workspace_hooks(str(worktree), hooks_config(tmp_path, ["/new/ao"]))
    settings = settings_of(worktree)
    assert settings["permissions"] == {"allow": ["Bash(npm test)"]}
    assert settings["env"] == {"FOO": "bar"}
    hooks = settings["hooks"]
    assert isinstance(hooks, dict)
    assert hooks["SessionStart"] == [{"hooks": [user_hook]}]
    assert hooks["PostToolUse"][0] == {"matcher": "Edit", "hooks": [user_hook]}
    commands = [
        hook["command"] for group in hooks["PostToolUse"] for hook in group["hooks"] if is_ao_hook(hook["command"])
    ]
    assert commands == ["/new/ao hook claude PostToolUse"]


async def test_a_tracked_settings_file_is_hidden_from_git_status(
    isolated_home: Path, worktree: Path, tmp_path: Path
) -> None:
    (worktree / ".claude").mkdir()
    (worktree / ".claude" / "settings.json").write_text('{"model": "sonnet"}\n')
    run_git(worktree, "add", ".claude/settings.json")
    run_git(worktree, "commit", "-q", "-m", "project settings")
    await ClaudeCodeAgent().setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    assert settings_of(worktree)["model"] == "sonnet"
    assert run_git(worktree, "status", "--porcelain") == ""
    run_git(worktree, "commit", "-q", "-a", "--allow-empty", "-m", "agent work")
    assert run_git(worktree, "show", "HEAD:.claude/settings.json").strip() == '{"model": "sonnet"}'


@pytest.mark.parametrize("content", ["{broken", '["a"]', '{"hooks": []}', '{"hooks": {"Stop": {}}}'])
async def test_a_settings_file_ao_cannot_merge_into_is_reported(
    isolated_home: Path, worktree: Path, tmp_path: Path, content: str
) -> None:
    (worktree / ".claude").mkdir()
    (worktree / ".claude" / "settings.json").write_text(content)
    with pytest.raises(WorkspaceError, match=r"settings\.json"):
        await ClaudeCodeAgent().setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    assert (worktree / ".claude" / "settings.json").read_text() == content


async def test_outside_git_only_the_settings_are_written(isolated_home: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    await ClaudeCodeAgent().setup_workspace_hooks(str(plain), hooks_config(tmp_path))
    hooks = settings_of(plain)["hooks"]
    assert isinstance(hooks, dict)
    assert set(hooks) == set(HOOK_EVENTS)


async def test_options_switch_trust_and_hooks_off(isolated_home: Path, worktree: Path, tmp_path: Path) -> None:
    agent = ClaudeCodeAgent(ClaudeCodeAgentConfig(trust_workspace=False, workspace_hooks=False))
    await agent.setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    assert not (worktree / ".claude").exists()
    assert not (isolated_home / ".claude.json").exists()


async def test_the_configured_config_dir_gets_the_trust(tmp_path: Path, worktree: Path, isolated_home: Path) -> None:
    custom = tmp_path / "claude-config"
    agent = ClaudeCodeAgent(ClaudeCodeAgentConfig(config_dir=str(custom), workspace_hooks=False))
    await agent.setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    state = json.loads((custom / ".claude.json").read_text())
    assert state["projects"][str(worktree)]["hasTrustDialogAccepted"] is True
    assert not (isolated_home / ".claude.json").exists()


async def test_a_claude_folder_linked_out_of_the_workspace_is_not_written_through(
    isolated_home: Path, worktree: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "project-claude"
    shared.mkdir()
    (shared / "settings.json").write_text('{"model": "opus"}')
    (worktree / ".claude").symlink_to(shared)
    await ClaudeCodeAgent().setup_workspace_hooks(str(worktree), hooks_config(tmp_path))
    assert (shared / "settings.json").read_text() == '{"model": "opus"}'
    state = json.loads((isolated_home / ".claude.json").read_text())
    assert state["projects"][str(worktree)]["hasTrustDialogAccepted"] is True  # trust still done
