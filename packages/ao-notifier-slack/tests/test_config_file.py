"""From agent-orchestrator.yaml to a delivered message: ao's loader and registry build the plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.config import load_config
from ao_core.errors import ConfigError
from ao_core.registry import Registry
from ao_core.testing import make_event
from ao_testing.fakes.slack import FakeSlack

pytestmark = pytest.mark.timeout(60)


def _write(tmp_path: Path, notifier_yaml: str) -> Path:
    (tmp_path / "repo").mkdir(exist_ok=True)
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text(f"projects:\n  app:\n    path: ./repo\nnotifiers:\n  slack:\n{notifier_yaml}", encoding="utf-8")
    return path


@pytest.mark.anyio
async def test_a_configured_notifier_delivers_to_its_channel(fake_slack: FakeSlack, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "    plugin: slack\n"
        "    token: ${SLACK_BOT_TOKEN}\n"
        "    channel: '#agents'\n"
        f"    baseUrl: {fake_slack.api_url}\n"
        f"    stateFile: {tmp_path / 'threads.json'}\n",
    )
    config = load_config(path, env={"SLACK_BOT_TOKEN": fake_slack.token})

    notifier = Registry.from_config(config).notifier(
        config.notifiers["slack"], key_path="notifiers.slack", config=config
    )
    await notifier.notify(make_event(message="configured from YAML"))

    assert "configured from YAML" in (fake_slack.messages[0].text or "")


def test_a_misspelt_option_is_a_config_error_with_its_line_and_no_secret(tmp_path: Path) -> None:
    path = _write(tmp_path, "    plugin: slack\n    token: ${SLACK_BOT_TOKEN}\n    chanel: '#agents'\n")
    config = load_config(path, env={"SLACK_BOT_TOKEN": "xoxb-secret-from-env"})

    with pytest.raises(ConfigError) as caught:
        Registry.from_config(config).notifier(config.notifiers["slack"], key_path="notifiers.slack", config=config)

    assert caught.value.key_path == "notifiers.slack.chanel"
    assert caught.value.line == 8
    assert "xoxb-secret-from-env" not in str(caught.value)


def test_both_modes_at_once_is_a_config_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "    plugin: slack\n    token: xoxb-literal\n    channel: '#a'\n"
        "    webhookUrl: https://hooks.slack.test/services/T/B/sEcReT\n",
    )
    config = load_config(path, env={})

    with pytest.raises(ConfigError, match="not both") as caught:
        Registry.from_config(config).notifier(config.notifiers["slack"], key_path="notifiers.slack", config=config)

    assert "sEcReT" not in str(caught.value)
    assert "xoxb-literal" not in str(caught.value)
