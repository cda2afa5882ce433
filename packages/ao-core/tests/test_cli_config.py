"""``ao config validate`` and ``ao config show``, in process and through the installed ``ao`` script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ao_core.cli import main

DATA = Path(__file__).parent / "data" / "config"
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-slack-secret-1111",
    "LINEAR_API_KEY": "lin_api_secret_2222",
    "WEBHOOK_TOKEN": "webhook-secret-3333",
    "COMPOSIO_API_KEY": "composio-secret-4444",
}
AO = Path(sys.executable).parent / "ao"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path))


@pytest.fixture
def valid_config(tmp_path: Path) -> Path:
    """The all-stub-plugins config, copied with its plugins so that it validates whatever is installed."""
    shutil.copytree(DATA / "plugins", tmp_path / "conf" / "plugins")
    return Path(shutil.copy(DATA / "valid.yaml", tmp_path / "conf" / "agent-orchestrator.yaml"))


def test_validate_prints_ok_and_the_project_count(
    valid_config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(valid_config.parent / "plugins")
    assert main(["config", "validate"]) == 0  # found by walking up from the cwd
    captured = capsys.readouterr()
    assert captured.out == f"{valid_config}: ok (2 projects)\n"
    assert captured.err == ""


def test_validate_checks_plugin_names_through_the_registry(
    valid_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = valid_config.read_text().replace("  workspace: stub-workspace\n", "  workspace: stub-workspase\n")
    valid_config.write_text(text)
    line = text.splitlines().index("  workspace: stub-workspase") + 1
    assert main(["config", "validate", "--config", str(valid_config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ao: error: {valid_config}:{line}: defaults.workspace: ")
    assert "stub-workspase" in err
    assert err.count("\n") == 1


def test_validate_warns_about_probable_mistakes(
    valid_config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = valid_config.read_text().replace("    path: plugins\n", "    path: missing-dir\n")
    text += "reactions:\n  ci-fialed:\n    retries: 1\n"
    valid_config.write_text(text)
    lines = text.splitlines()
    assert main(["config", "validate", "--config", str(valid_config)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{valid_config}: ok (2 projects)\n"
    assert captured.err.splitlines() == [
        f"warning: {valid_config}:{lines.index('    path: missing-dir') + 1}: projects.docs.path: "
        f"directory {tmp_path / 'conf' / 'missing-dir'} does not exist",
        f"warning: {valid_config}:{lines.index('  ci-fialed:') + 1}: reactions.ci-fialed: "
        "'ci-fialed' is not a built-in reaction key; did you mean 'ci-failed'?",
    ]


def test_validate_without_any_config_says_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("AO_CONFIG_PATH", "AO_GLOBAL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert main(["config", "validate"]) == 2
    assert "run 'ao init'" in capsys.readouterr().err


def test_show_prints_the_effective_config_with_secrets_redacted(
    secrets_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show", "--config", str(DATA / "full.yaml")]) == 0
    out = capsys.readouterr().out
    for secret in [*SECRETS.values(), "hunter2-literal"]:
        assert secret not in out
    assert out.startswith(f"# effective configuration from {DATA / 'full.yaml'}; secrets redacted\n")
    data = yaml.safe_load(out)
    assert data["notifiers"]["slack"]["token"] == "***"
    assert data["notifiers"]["composio"]["apiKey"] == "***"
    assert data["notifiers"]["webhook"]["headers"]["Authorization"] == "***"
    assert data["projects"]["my-app"]["tracker"]["apiKey"] == "***"
    assert data["projects"]["tools"]["scm"] == "github"
    assert data["reactions"]["agent-exited"]["priority"] == "urgent"  # a built-in reaction, merged in
    assert data["port"] == 3100


def test_show_json(secrets_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--json", "--config", str(DATA / "full.yaml")]) == 0
    out = capsys.readouterr().out
    for secret in SECRETS.values():
        assert secret not in out
    data = json.loads(out)
    assert data["defaults"]["runtime"] == {"plugin": "tmux", "socketName": "ao"}
    assert data["notifiers"]["slack"]["token"] == "***"


def test_show_no_redact_prints_secrets(secrets_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--no-redact", "--json", "--config", str(DATA / "full.yaml")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["notifiers"]["slack"]["token"] == SECRETS["SLACK_BOT_TOKEN"]


def test_config_without_a_subcommand_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 2
    out = capsys.readouterr().out
    assert "validate" in out
    assert "show" in out


def test_help_does_not_import_pydantic_or_yaml() -> None:
    code = (
        "import sys\n"
        "from ao_core.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('pydantic', 'yaml', 'ao_core.config') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_the_installed_ao_script(valid_config: Path, tmp_path: Path) -> None:
    env = {**os.environ, **SECRETS, "HOME": str(tmp_path)}
    ok = subprocess.run(
        [str(AO), "config", "validate", "--config", str(valid_config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, f"{valid_config}: ok (2 projects)\n", "")

    shown = subprocess.run(
        [str(AO), "config", "show", "--config", str(DATA / "full.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    for secret in SECRETS.values():
        assert secret not in shown.stdout + shown.stderr

    bad = DATA / "invalid" / "port_range.yaml"
    failed = subprocess.run(
        [str(AO), "config", "validate", "--config", str(bad)], capture_output=True, text=True, timeout=60, env=env
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr == f"ao: error: {bad}:4: port: input should be less than or equal to 65535 (got 70000)\n"
