"""Through the kernel: a config naming the linear tracker, ``SessionManager.spawn`` with the ao_core.testing fakes.

The runtime, agent and workspace are the ``ao_core.testing`` fakes loaded as local-path plugins, exactly as a
user's config would load them; the tracker is this plugin, found by name, talking HTTP to the fake Linear.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ao_core.config import load_config
from ao_core.errors import IssueNotFoundError
from ao_core.registry import Registry
from ao_core.sessions import SessionManager
from ao_core.store import Store
from ao_core.testing.plugins import PLUGIN_FILES
from ao_testing.fakes.linear import FakeLinear

pytestmark = pytest.mark.anyio


@pytest.fixture
def manager(tmp_path: Path, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionManager]:
    monkeypatch.setenv("LINEAR_API_KEY", linear.default_api_key)
    repo = tmp_path / "app"
    repo.mkdir()
    state = tmp_path / "state"
    config_file = tmp_path / "agent-orchestrator.yaml"
    config_file.write_text(
        f"""\
plugins:
  - path: {PLUGIN_FILES["runtime"]}
  - path: {PLUGIN_FILES["agent"]}
  - path: {PLUGIN_FILES["workspace"]}
defaults:
  runtime: fake
  agent: fake
  workspace: {{plugin: fake, baseDir: {tmp_path / "workspaces"}}}
projects:
  app:
    path: {repo}
    sessionPrefix: app
    tracker: {{plugin: linear, teamId: INT, workspaceSlug: acme, baseUrl: "{linear.url}"}}
""",
        encoding="utf-8",
    )
    config = load_config(config_file)
    registry = Registry.from_config(config)
    registry.validate(config)
    with Store.open(state) as store:
        yield SessionManager(config, registry, store, state_dir=state)


async def test_spawn_from_a_linear_issue(manager: SessionManager, linear: FakeLinear) -> None:
    session = await manager.spawn("app", issue_id="INT-100")
    assert session.id == "app-1"
    assert session.issue_id == "INT-100"
    assert session.branch == "alice/int-100-fix-login-timeout"  # Linear's own branch name
    assert session.metadata["issueUrl"] == "https://linear.app/acme/issue/INT-100/fix-login-timeout"
    assert session.metadata["displayName"] == "Fix login timeout"
    system_prompt = Path(str(session.metadata["systemPromptFile"])).read_text(encoding="utf-8")
    assert "Fix login timeout" in system_prompt
    assert "Priority: High" in system_prompt
    assert "Labels: bug, backend" in system_prompt
    assert "Users are logged out after 5 minutes." in system_prompt
    assert "on branch `alice/int-100-fix-login-timeout`" in system_prompt
    # get_issue once for the branch and title; generate_prompt is served from the tracker's cache
    assert len(linear.requests_for("issue")) == 1
    stored = manager.store.get_session("app-1")
    assert stored is not None
    assert stored.branch == "alice/int-100-fix-login-timeout"


async def test_spawn_normalizes_a_lower_case_identifier(manager: SessionManager) -> None:
    session = await manager.spawn("app", issue_id="int-101")
    assert session.issue_id == "INT-101"
    assert session.branch == "alice/int-101-add-dark-mode"
    system_prompt = Path(str(session.metadata["systemPromptFile"])).read_text(encoding="utf-8")
    assert "Priority: Normal" in system_prompt


async def test_spawn_for_a_missing_issue_creates_nothing(manager: SessionManager, tmp_path: Path) -> None:
    with pytest.raises(IssueNotFoundError, match="INT-9999"):
        await manager.spawn("app", issue_id="INT-9999")
    assert manager.store.list_sessions() == []
    assert not (tmp_path / "workspaces").exists() or not any((tmp_path / "workspaces").iterdir())
