"""From agent-orchestrator.yaml to an executed tool: ao's loader and registry build the plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.config import load_config
from ao_core.registry import Registry
from ao_core.testing import make_event
from ao_testing.fakes.composio import FakeComposio

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]


async def test_a_configured_notifier_executes_its_tool(fake_composio: FakeComposio, tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text(
        "projects:\n  app:\n    path: ./repo\n"
        "notifiers:\n  team:\n    plugin: composio\n    apiKey: ${COMPOSIO_API_KEY}\n"
        f"    defaultApp: discord\n    channelId: '42'\n    entityId: alice\n    baseUrl: {fake_composio.url}\n",
        encoding="utf-8",
    )
    fake_composio.connect("discordbot", user_id="alice")
    config = load_config(path, env={"COMPOSIO_API_KEY": fake_composio.api_key})

    notifier = Registry.from_config(config).notifier(config.notifiers["team"], key_path="notifiers.team", config=config)
    await notifier.notify(make_event(message="configured from YAML"))

    [execution] = fake_composio.executions
    assert (execution.slug, execution.user_id, execution.arguments["channel_id"]) == (
        "DISCORDBOT_CREATE_MESSAGE",
        "alice",
        "42",
    )
    assert execution.arguments["content"].endswith("\nconfigured from YAML")
