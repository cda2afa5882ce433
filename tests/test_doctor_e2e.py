"""``ao doctor --test-notify`` as a process, with the real webhook and desktop notifiers and real receivers.

Two webhook notifiers point at recording HTTP receivers on 127.0.0.1 (one answers 200, one 400), and a
desktop notifier talks to the recording notification server on a private D-Bus session bus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ao_core.testing import require_executable
from ao_core.testing.plugins import PLUGIN_FILES
from ao_testing.fakes.notifications import NotificationServer, PrivateSessionBus
from ao_testing.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.timeout(120)

SECRET = "doctor-e2e-signing-secret"
TOKEN = "doctor-e2e-bearer-token"


@pytest.fixture
def receivers() -> Iterator[tuple[WebhookReceiver, WebhookReceiver]]:
    with WebhookReceiver(secret=SECRET) as good, WebhookReceiver(default=400) as refusing:
        yield good, refusing


def write_config(tmp_path: Path, notifiers: str) -> Path:
    config = tmp_path / "agent-orchestrator.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            plugins:
              - path: {PLUGIN_FILES["runtime"]}
              - path: {PLUGIN_FILES["agent"]}
              - path: {PLUGIN_FILES["workspace"]}
            defaults:
              runtime: fake
              agent: {{plugin: fake, processName: sh}}
              workspace: fake
            projects:
              app:
                path: {tmp_path}
            """
        )
        + textwrap.dedent(notifiers)
    )
    return config


def run_doctor(tmp_path: Path, config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AO_", "DBUS_"))}
    environment.update({"AO_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path)}, **(env or {}))
    environment["HOOK_TOKEN"] = TOKEN
    environment["HOOK_SECRET"] = SECRET
    result = subprocess.run(
        [sys.executable, "-m", "ao_core", "doctor", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=90,
    )
    return result.returncode, result.stdout + result.stderr


def webhooks(good: WebhookReceiver, refusing: WebhookReceiver, more: str = "") -> str:
    return f"""\
        notifiers:
          ops:
            plugin: webhook
            url: {good.url}
            headers: {{Authorization: "Bearer ${{HOOK_TOKEN}}"}}
            secret: ${{HOOK_SECRET}}
          audit:
            plugin: webhook
            url: {refusing.url}
            retries: 3
          {more}
        notificationRouting:
          urgent: [ops, audit]
        """


def test_test_notify_reports_each_webhook(tmp_path: Path, receivers: tuple[WebhookReceiver, WebhookReceiver]) -> None:
    good, refusing = receivers
    config = write_config(tmp_path, webhooks(good, refusing))

    code, output = run_doctor(tmp_path, config, "--test-notify", "--json")

    assert code == 1, output
    document: dict[str, Any] = json.loads(output)
    results = {r["notifier"]: r for r in document["testNotifications"]}
    assert results["ops"]["ok"] is True
    assert results["ops"]["plugin"] == "webhook"
    assert results["audit"]["ok"] is False
    assert "answered HTTP 400" in results["audit"]["error"]
    assert "not retried" in results["audit"]["error"]
    assert refusing.attempts == 1
    # the good receiver got exactly one signed delivery of the test event
    [request] = good.requests
    assert request.signature_valid is True
    assert request.header("Authorization") == f"Bearer {TOKEN}"
    payload = request.json()
    assert payload["schema"] == "ao.notification/v1"
    assert payload["type"] == "notification"
    assert payload["event"]["message"] == "ao doctor test notification"
    assert payload["event"]["sessionId"] == "doctor"
    assert payload["event"]["projectId"] == "app"
    assert payload["event"]["priority"] == "info"
    assert payload["event"]["type"] == "reaction.triggered"
    # the configuration is fine: only the 400 failed
    assert {c["status"] for c in document["checks"] if c["check"] == "notifier"} == {"PASS"}
    assert TOKEN not in output
    assert SECRET not in output


@pytest.mark.dbus
def test_test_notify_through_desktop_and_webhooks(
    tmp_path: Path, receivers: tuple[WebhookReceiver, WebhookReceiver]
) -> None:
    require_executable("dbus-daemon")
    good, refusing = receivers
    config = write_config(tmp_path, webhooks(good, refusing, "desktop: {plugin: desktop, appName: ao-doctor}"))

    with PrivateSessionBus() as bus, NotificationServer(bus.address) as server:
        code, output = run_doctor(
            tmp_path, config, "--test-notify", "--timeout", "20", env={"DBUS_SESSION_BUS_ADDRESS": bus.address}
        )
        notes = server.notifications

    assert code == 1, output
    lines = output.splitlines()
    assert any(line.startswith("  ok     ops ") for line in lines), output
    assert any(line.startswith("  ok     desktop ") for line in lines), output
    assert any(line.startswith("  error  audit ") and "answered HTTP 400" in line for line in lines), output
    assert output.rstrip().endswith("2 of 3 test notifications delivered")
    [note] = notes
    assert note.app_name == "ao-doctor"
    assert note.summary == "ao-doctor · doctor: reaction triggered"
    assert note.body == "ao doctor test notification"
    assert note.urgency == 1
    assert len(good.requests) == 1


def test_test_notify_exits_zero_when_every_notifier_delivers(
    tmp_path: Path, receivers: tuple[WebhookReceiver, WebhookReceiver]
) -> None:
    good, _ = receivers
    config = write_config(
        tmp_path,
        f"""\
        notifiers:
          ops: {{plugin: webhook, url: "{good.url}", secret: "${{HOOK_SECRET}}"}}
        """,
    )

    code, output = run_doctor(tmp_path, config, "--test-notify")

    assert code == 0, output
    assert "1 of 1 test notifications delivered" in output
    assert [r.signature_valid for r in good.requests] == [True]
