"""``ao doctor``: machine, config, plugin, token, state-dir and notifier checks, and ``--test-notify``.

The configs use the fake plugins of ``ao_core.testing.plugins`` (loaded by path), so these tests need no
other package. End-to-end runs with the real webhook and desktop notifiers are in ``tests/test_doctor_e2e.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from ao_core.cli import main
from ao_core.testing.plugins import PLUGIN_FILES

pytestmark = pytest.mark.timeout(60)

SECRET_TOKEN = "ghp_doctor_must_not_print_0123456789"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home and working directory; the state dir under it; no tokens in the environment."""
    for name in ("AO_CONFIG_PATH", "AO_GLOBAL_CONFIG", "GITHUB_TOKEN", "GH_TOKEN", "LINEAR_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("AO_STATE_DIR", str(home / "state"))
    monkeypatch.chdir(home)
    return home


def write_config(
    home: Path, *, project: str = "", extra: str = "", agent: str = "{plugin: fake, processName: sh}"
) -> Path:
    """A config whose runtime, agent, workspace and notifiers are the fakes."""
    path = home / "agent-orchestrator.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            plugins:
              - path: {PLUGIN_FILES["runtime"]}
              - path: {PLUGIN_FILES["agent"]}
              - path: {PLUGIN_FILES["workspace"]}
              - path: {PLUGIN_FILES["notifier"]}
            defaults:
              runtime: fake
              agent: {agent}
              workspace: fake
            projects:
              app:
                path: {home}
            """
        )
        + textwrap.indent(textwrap.dedent(project), "    ")
        + textwrap.dedent(extra)
    )
    return path


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", *args])
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, document


def lines(document: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [c for c in document["checks"] if c["check"] == check]


def status_of(document: dict[str, Any], check: str, subject: str | None = None) -> str:
    [found] = [c for c in lines(document, check) if c["subject"] == subject]
    return str(found["status"])


NOTIFIERS = f"""\
notifiers:
  good: {{path: {PLUGIN_FILES["notifier"]}}}
  broken: {{path: {PLUGIN_FILES["notifier"]}, failWith: "the service said no"}}
  slow: {{path: {PLUGIN_FILES["notifier"]}, hangSeconds: 30}}
notificationRouting:
  urgent: [good, broken, slow]
"""


# ---------------------------------------------------------------------------------------------- checks


def test_healthy_setup_passes_every_check(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, extra=f"notifiers:\n  good: {{path: {PLUGIN_FILES['notifier']}}}\n")

    code, document = doctor(capsys)

    assert code == 0
    assert document["ok"] is True
    assert document["config"] == str(home / "agent-orchestrator.yaml")
    assert {c["status"] for c in document["checks"]} == {"PASS"}
    assert [c["check"] for c in document["checks"]][:3] == ["python", "git", "config"]
    assert status_of(document, "config", "validation") == "PASS"
    assert {c["subject"] for c in lines(document, "plugin")} == {
        "runtime fake",
        "agent fake",
        "workspace fake",
        "notifier fake",
    }
    assert lines(document, "agent")[0]["detail"].startswith("sh found")
    assert lines(document, "tmux") == []  # no project uses the tmux runtime
    assert status_of(document, "notifier", "good") == "PASS"
    assert document["testNotifications"] is None


def test_text_output_is_one_line_per_check_and_a_summary(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, extra=f"notifiers:\n  good: {{path: {PLUGIN_FILES['notifier']}}}\n")

    assert main(["doctor"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS  python: 3.")
    assert any(line.startswith("PASS  git: ") for line in out)
    assert any(line.startswith("PASS  notifier good: ready") for line in out)
    assert out[-1].endswith("passed, 0 warnings, 0 failed")


def test_missing_config_fails(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, document = doctor(capsys, "--test-notify")

    assert code == 1
    assert status_of(document, "config") == "FAIL"
    assert status_of(document, "test-notify") == "FAIL"
    assert status_of(document, "state dir") == "PASS"  # still checked, without a config


def test_invalid_config_reports_the_plugin_that_does_not_load(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, project="workspace: no-such-workspace\n")

    code, document = doctor(capsys)

    assert code == 1
    assert status_of(document, "config") == "PASS"  # it loads...
    validation = next(c for c in lines(document, "config") if c["subject"] == "validation")
    assert validation["status"] == "FAIL"  # ...but does not validate
    assert "projects.app.workspace" in validation["detail"]
    failed = [c for c in lines(document, "plugin") if c["status"] == "FAIL"]
    assert [c["subject"] for c in failed] == ["workspace no-such-workspace"]
    assert "(at projects.app.workspace)" in failed[0]["detail"]


def test_missing_agent_cli_is_a_warning(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, agent="{plugin: fake, processName: no-such-agent-cli-4e2a}")

    code, document = doctor(capsys)

    assert code == 0
    [agent] = lines(document, "agent")
    assert agent["status"] == "WARN"
    assert "'no-such-agent-cli-4e2a' is not on PATH" in agent["detail"]


def test_first_party_agents_are_checked_by_their_program_name(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = home / "bin"
    bin_dir.mkdir()
    program = bin_dir / "aider"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    write_config(home, project="agent: aider\nworker: {agent: codex}\n")

    _, document = doctor(capsys)

    agents = {c["subject"]: c for c in lines(document, "agent")}
    assert agents["aider"]["status"] == "PASS"
    assert agents["aider"]["detail"] == f"aider found ({program})"
    assert agents["codex"]["status"] == ("PASS" if shutil.which("codex") else "WARN")


def test_tmux_is_required_when_a_project_uses_it(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is needed for the rest of the report")
    bin_dir = home / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(git)
    (bin_dir / "sh").symlink_to("/bin/sh")
    monkeypatch.setenv("PATH", str(bin_dir))  # git and sh, no tmux
    write_config(home, project="runtime: tmux\n")

    code, document = doctor(capsys)

    assert code == 1
    [tmux] = lines(document, "tmux")
    assert tmux["status"] == "FAIL"
    assert "projects use the tmux runtime (app)" in tmux["detail"]


def test_github_token_is_found_but_never_printed(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", SECRET_TOKEN)
    write_config(home, project="tracker: github\nscm: {plugin: github, tokenEnv: GITHUB_TOKEN}\n")

    main(["doctor"])
    text = capsys.readouterr().out
    _, document = doctor(capsys)

    tokens = {c["subject"]: c for c in lines(document, "token")}
    assert tokens["tracker github"]["status"] == "PASS"
    assert tokens["scm github"]["status"] == "PASS"
    assert tokens["tracker github"]["detail"] == "GITHUB_TOKEN is set"
    assert SECRET_TOKEN not in text
    assert SECRET_TOKEN not in json.dumps(document)


def test_github_token_from_gh_is_not_printed(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = home / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\n[ "$1 $2" = "auth token" ] && echo {SECRET_TOKEN} && exit 0\nexit 1\n')
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    write_config(home, project="tracker: {plugin: github, tokenEnv: MY_GH_TOKEN}\n")

    main(["doctor"])
    text = capsys.readouterr().out

    assert "PASS  token tracker github: MY_GH_TOKEN is not set; gh is logged in (gh auth token)" in text
    assert SECRET_TOKEN not in text


def test_missing_tokens_fail_and_name_the_variable(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = home / "bin"
    bin_dir.mkdir()
    for program in ("git", "sh"):
        found = shutil.which(program)
        assert found is not None
        (bin_dir / program).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))  # no gh
    write_config(home, project="tracker: linear\nscm: github\n")

    code, document = doctor(capsys)

    assert code == 1
    tokens = {c["subject"]: c for c in lines(document, "token")}
    assert tokens["tracker linear"]["status"] == "FAIL"
    assert "set LINEAR_API_KEY or the option apiKey of projects.app.tracker" in tokens["tracker linear"]["detail"]
    assert tokens["scm github"]["status"] == "FAIL"
    assert "set GITHUB_TOKEN" in tokens["scm github"]["detail"]


def test_linear_key_in_the_environment_is_not_printed(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAR_API_KEY", "lin_api_doctor_secret_99")
    write_config(home, project="tracker: linear\n")

    main(["doctor"])
    text = capsys.readouterr().out

    assert "PASS  token tracker linear: LINEAR_API_KEY is set" in text
    assert "lin_api_doctor_secret_99" not in text


def test_state_dir_that_is_a_file_fails(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = home / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("AO_STATE_DIR", str(blocker))
    write_config(home)

    code, document = doctor(capsys)

    assert code == 1
    [state] = lines(document, "state dir")
    assert state == {
        "check": "state dir",
        "subject": None,
        "status": "FAIL",
        "detail": f"{blocker} exists but is not a directory",
    }


def test_existing_state_dir_is_checked_by_writing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "state").mkdir()
    write_config(home)

    _, document = doctor(capsys)

    [state] = lines(document, "state dir")
    assert state["status"] == "PASS"
    assert state["detail"] == f"{home / 'state'} is writable"
    assert list((home / "state").iterdir()) == []  # the probe leaves nothing behind


def test_no_notifier_is_a_warning(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home)

    code, document = doctor(capsys)

    assert code == 0
    assert status_of(document, "notifier") == "WARN"


def test_notifier_that_cannot_be_built_fails_with_its_config_key(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(home, extra="notificationRouting:\n  urgent: [no-such-notifier]\n")

    code, document = doctor(capsys)

    assert code == 1
    [notifier] = lines(document, "notifier")
    assert notifier["subject"] == "no-such-notifier"
    assert notifier["status"] == "FAIL"
    assert notifier["detail"].endswith("(at notificationRouting.urgent)")


# ---------------------------------------------------------------------------------------------- --test-notify


def test_test_notify_isolates_failing_and_hanging_notifiers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, extra=NOTIFIERS)

    started = time.monotonic()
    code, document = doctor(capsys, "--test-notify", "--timeout", "0.5")
    elapsed = time.monotonic() - started

    assert code == 1
    assert elapsed < 5  # all at once: the hanging one costs its timeout, not the others'
    results = {r["notifier"]: r for r in document["testNotifications"]}
    assert list(results) == ["good", "broken", "slow"]
    assert results["good"]["ok"] is True
    assert results["good"]["error"] is None
    assert results["good"]["plugin"] == "fake"
    assert results["broken"] == {
        "notifier": "broken",
        "plugin": "fake",
        "ok": False,
        "durationMs": results["broken"]["durationMs"],
        "error": "notifier 'fake' failed: the service said no",
    }
    assert results["slow"]["ok"] is False
    assert results["slow"]["error"] == "no answer within 0.5 s"
    assert 450 <= results["slow"]["durationMs"] < 3000
    # the configuration itself is fine: only the deliveries failed
    assert {c["status"] for c in document["checks"]} == {"PASS"}


def test_test_notify_text_output(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(home, extra=NOTIFIERS)

    assert main(["doctor", "--test-notify", "--timeout", "0.3"]) == 1

    out = capsys.readouterr().out
    assert "test notifications ('ao doctor test notification', at most 0.3 s each):" in out
    assert "  ok     good    " in out
    assert "  error  broken  notifier 'fake' failed: the service said no" in out
    assert "  error  slow    no answer within 0.3 s" in out
    assert out.rstrip().endswith("1 of 3 test notifications delivered")


def test_test_notify_succeeds_when_every_notifier_delivers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(home)
    config.write_text(config.read_text().replace("  workspace: fake\n", "  workspace: fake\n  notifiers: [fake]\n"))

    code, document = doctor(capsys, "--test-notify")

    assert code == 0
    # a notifier named only in defaults.notifiers is built from the plugin of that name
    [result] = document["testNotifications"]
    assert result == {
        "notifier": "fake",
        "plugin": "fake",
        "ok": True,
        "durationMs": result["durationMs"],
        "error": None,
    }


def test_timeout_must_be_positive(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["doctor", "--timeout", "0"])
    assert "more than 0 seconds" in capsys.readouterr().err


def test_doctor_is_listed_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, ao_core.cli.commands.doctor;"
        "print(sorted(m for m in ('pydantic', 'anyio', 'yaml', 'ao_core.registry') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
    help_text = subprocess.run(
        [sys.executable, "-m", "ao_core", "--help"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "doctor" in help_text
