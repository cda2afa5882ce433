"""macOS: the AppleScript literals survive hostile text, and ``osascript`` gets exactly one safe script.

There is no macOS here: a stand-in ``osascript`` program on ``PATH`` records its arguments, and a small
AppleScript string-literal reader in this file checks what the real one would read.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest
from ao_core.errors import NotifyError
from ao_core.models import EventPriority, EventType, NotifyAction, OrchestratorEvent
from ao_notifier_desktop import DesktopNotifierConfig, create
from ao_notifier_desktop._notifier import NO_SERVICE_REASON, DesktopNotifier, osascript_script
from ao_notifier_desktop._text import applescript_string

pytestmark = pytest.mark.timeout(60)

NASTY = [
    "",
    "plain",
    'say "hi"',
    "back\\slash",
    "ends with a backslash\\",
    '\\"',
    '" & (do shell script "touch /tmp/pwned") & "',
    '"; do shell script "id"; "',
    "line\nbreaks\r\nand\rreturns",
    "tab\there",
    "NUL\x00 and bell\x07 and escape\x1b[31m and DEL\x7f and C1\x85",
    "ünïcödé ✓ 日本語 🚨",
    "«data utf8»",
    "$(rm -rf ~) `id` ${HOME} 'single'",
    '\\\\\\"\\"',
]

ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


def read_literal(script: str, start: int) -> tuple[str, int]:
    """Read the AppleScript string literal at ``script[start]`` (a quote); return its value and the end index."""
    assert script[start] == '"'
    value: list[str] = []
    index = start + 1
    while True:
        char = script[index]
        if char == '"':
            return "".join(value), index + 1
        if char == "\\":
            escaped = script[index + 1]
            assert escaped in ESCAPES, f"unknown escape \\{escaped} in {script!r}"
            value.append(ESCAPES[escaped])
            index += 2
            continue
        value.append(char)
        index += 1


def parse_display_notification(script: str) -> tuple[str, str, bool]:
    """Split a generated script into body, title and whether it plays a sound; fail on anything else."""
    prefix = "display notification "
    assert script.startswith(prefix)
    body, index = read_literal(script, len(prefix))
    middle = " with title "
    assert script[index : index + len(middle)] == middle
    title, index = read_literal(script, index + len(middle))
    rest = script[index:]
    assert rest in ("", ' sound name "default"'), f"unexpected script text after the title: {rest!r}"
    return body, title, bool(rest)


def expected(text: str) -> str:
    """What a literal should evaluate to: line breaks as LF, other control characters gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F))


@pytest.mark.parametrize("text", NASTY)
def test_applescript_literal_reads_back_as_the_text(text: str) -> None:
    literal = applescript_string(text)

    value, end = read_literal(literal, 0)

    assert end == len(literal), "the literal ended early: text could escape it"
    assert value == expected(text)
    assert "\x00" not in literal
    assert "\n" not in literal
    assert "\r" not in literal


@pytest.mark.parametrize("title", NASTY)
@pytest.mark.parametrize("body", NASTY)
def test_script_holds_exactly_the_title_and_body(title: str, body: str) -> None:
    script = osascript_script(title, body, sound=False)

    assert parse_display_notification(script) == (expected(body), expected(title), False)


@pytest.fixture
def fake_osascript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ``osascript`` first on PATH that appends its arguments (JSON) to a log; returns the log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "osascript.log"
    program = bin_dir / "osascript"
    program.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['FAKE_OSASCRIPT_LOG'], 'a', encoding='utf-8') as f:\n"
        "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "code = int(os.environ.get('FAKE_OSASCRIPT_EXIT', '0'))\n"
        "if code:\n"
        "    sys.stderr.write('execution error: Not authorized to send Apple events (-1743)\\n')\n"
        "sys.exit(code)\n",
        encoding="utf-8",
    )
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_OSASCRIPT_LOG", str(log))
    return log


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def _event(priority: EventPriority, message: str = "CI is failing", **data: object) -> OrchestratorEvent:
    return OrchestratorEvent(
        type=EventType.CI_FAILING,
        priority=priority,
        session_id="my-app-3",
        project_id="my-app",
        message=message,
        data=data,
    )


@pytest.mark.anyio
async def test_osascript_gets_one_script_argument_with_title_and_body(fake_osascript: Path) -> None:
    notifier = create(DesktopNotifierConfig(backend="osascript"))
    message = 'He said "run `rm -rf ~`" \\ then left'

    await notifier.notify(_event(EventPriority.WARNING, message, prUrl="https://github.com/acme/app/pull/1"))

    [argv] = _calls(fake_osascript)
    assert argv[0] == "-e"
    assert len(argv) == 2
    body, title, sound = parse_display_notification(argv[1])
    assert title == "ao · my-app-3: CI failing"
    assert body == f"{message}\nPR: https://github.com/acme/app/pull/1"
    assert sound is False


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("priority", "sound_option", "plays"),
    [
        (EventPriority.URGENT, True, True),
        (EventPriority.URGENT, False, False),
        (EventPriority.ACTION, True, False),
        (EventPriority.INFO, True, False),
    ],
)
async def test_sound_only_for_urgent_events_when_enabled(
    fake_osascript: Path, priority: EventPriority, sound_option: bool, plays: bool
) -> None:
    notifier = create(DesktopNotifierConfig(backend="osascript", sound=sound_option))

    await notifier.notify(_event(priority))

    [argv] = _calls(fake_osascript)
    assert parse_display_notification(argv[1])[2] is plays


@pytest.mark.anyio
async def test_actions_and_post_on_macos(fake_osascript: Path) -> None:
    notifier = DesktopNotifier(DesktopNotifierConfig(), platform="darwin")

    await notifier.notify_with_actions(
        _event(EventPriority.ACTION), [NotifyAction(label="Open", url="https://example.test/pr/1")]
    )
    message_id = await notifier.post("All done")

    first, second = _calls(fake_osascript)
    assert parse_display_notification(first[1])[0] == "CI is failing\nActions:\n• Open: https://example.test/pr/1"
    assert parse_display_notification(second[1])[:2] == ("All done", "ao")
    assert message_id is None


@pytest.mark.anyio
async def test_auto_prefers_osascript_on_macos_even_with_a_bus(
    fake_osascript: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")

    await DesktopNotifier(DesktopNotifierConfig(), platform="darwin").notify(_event(EventPriority.INFO))

    assert len(_calls(fake_osascript)) == 1


@pytest.mark.anyio
async def test_osascript_failure_raises_notify_error_with_its_message(
    fake_osascript: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_OSASCRIPT_EXIT", "1")

    with pytest.raises(NotifyError, match=r"exit status 1: execution error: Not authorized"):
        await create(DesktopNotifierConfig(backend="osascript")).notify(_event(EventPriority.INFO))


@pytest.fixture
def headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No session bus anywhere and no osascript on PATH."""
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "empty-runtime-dir"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


@pytest.mark.anyio
@pytest.mark.usefixtures("headless")
async def test_no_desktop_service_raises_and_warns_once_per_process(caplog: pytest.LogCaptureFixture) -> None:
    notifier = create()
    caplog.set_level(logging.WARNING, logger="ao_notifier_desktop")

    for _ in range(3):
        with pytest.raises(NotifyError) as caught:
            await notifier.notify(_event(EventPriority.URGENT))
        assert caught.value.reason == NO_SERVICE_REASON
    with pytest.raises(NotifyError):  # another instance: still the same process, so no second warning
        await DesktopNotifier(DesktopNotifierConfig()).post("hello")

    warnings = [r for r in caplog.records if r.name == "ao_notifier_desktop"]
    assert len(warnings) == 1
    assert "no D-Bus session bus" in warnings[0].getMessage()
    assert "no osascript" in warnings[0].getMessage()


@pytest.mark.anyio
@pytest.mark.usefixtures("headless")
async def test_explicit_backends_say_what_is_missing() -> None:
    with pytest.raises(NotifyError, match="no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is unset"):
        await create(DesktopNotifierConfig(backend="dbus")).notify(_event(EventPriority.INFO))
    with pytest.raises(NotifyError, match="osascript is not on PATH"):
        await DesktopNotifier(DesktopNotifierConfig(backend="osascript")).post("hello")
