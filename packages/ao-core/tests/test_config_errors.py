"""Every kind of bad config gives one line, ``file:LINE: key.path: problem``, and a non-zero exit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ao_core.cli import main
from ao_core.config import load_config
from ao_core.errors import ConfigError

INVALID = Path(__file__).parent / "data" / "config" / "invalid"

# (file under data/config/invalid, line, key path or None, problem)
CASES: list[tuple[str, int, str | None, str]] = [
    (
        "yaml_syntax.yaml",
        4,
        None,
        "invalid YAML: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block mapping that starts on line 2)",
    ),
    (
        "top_level_list.yaml",
        2,
        None,
        "the file must be a mapping of settings with a 'projects:' section, but it is a list",
    ),
    ("empty.yaml", 1, None, "the file must be a mapping of settings with a 'projects:' section, but it is empty"),
    (
        "missing_projects.yaml",
        1,
        "projects",
        "missing required key 'projects'; list the repositories ao works on under 'projects:' ('ao init' writes one)",
    ),
    (
        "port_type.yaml",
        1,
        "port",
        "input should be a valid integer, unable to parse string as an integer (got 'abc')",
    ),
    (
        "no_project.yaml",
        2,
        "projects",
        "at least one project is required; add one under 'projects:' (ao init writes one)",
    ),
    ("projects_null.yaml", 2, "projects", "input should be a valid dictionary (the value is empty)"),
    ("port_range.yaml", 4, "port", "input should be less than or equal to 65535 (got 70000)"),
    ("unknown_top_key.yaml", 4, "porrt", "unknown key 'porrt'; did you mean 'port'?"),
    (
        "unknown_project_key.yaml",
        4,
        "projects.my-app.defaultBrnch",
        "unknown key 'defaultBrnch'; did you mean 'defaultBranch'?",
    ),
    (
        "missing_variable.yaml",
        7,
        "notifiers.slack.token",
        "environment variable SLACK_BOT_TOKEN is not set; set it, or give a default with ${SLACK_BOT_TOKEN:-default}",
    ),
    (
        "malformed_variable.yaml",
        7,
        "notifiers.slack.token",
        "malformed variable reference '${SLACK BOT TOKEN}'; write ${NAME} or ${NAME:-default} "
        "(and $${ for a literal '${')",
    ),
    (
        "missing_project_path.yaml",
        2,
        "projects.app.path",
        "missing required key 'path'; give the directory of the repository",
    ),
    (
        "duplicate_session_prefix.yaml",
        4,
        "projects.api",
        "session prefix 'ma' (derived from the directory name 'my-app') is also the prefix of project 'web'; "
        "session ids would collide: give 'api' or 'web' an explicit, distinct sessionPrefix",
    ),
    (
        "duplicate_explicit_prefix.yaml",
        7,
        "projects.api.sessionPrefix",
        "session prefix 'w' (set explicitly) is also the prefix of project 'web'; "
        "session ids would collide: give 'api' or 'web' an explicit, distinct sessionPrefix",
    ),
    (
        "session_prefix_chars.yaml",
        4,
        "projects.app.sessionPrefix",
        "session prefix 'my app' may only contain letters, digits, '-' and '_'",
    ),
    ("malformed_repo.yaml", 4, "projects.app.repo", "repo 'acme' is not of the form owner/name"),
    (
        "reaction_action.yaml",
        6,
        "reactions.ci-failed.action",
        "input should be 'send-to-agent', 'notify' or 'auto-merge' (got 'explode')",
    ),
    (
        "escalate_after_duration.yaml",
        6,
        "projects.app.reactions.ci-failed.escalateAfter",
        "invalid duration '30 minutes'; use a number and a unit: 90s, 15m, 2h",
    ),
    (
        "escalate_after_type.yaml",
        6,
        "reactions.ci-failed.escalateAfter",
        "expected a valid integer or a valid string (got a list)",
    ),
    (
        "symlink_dotdot.yaml",
        6,
        "projects.app.symlinks.1",
        "symlink '../secrets' must be a relative path inside the repository, without '..'",
    ),
    (
        "grace_ms_units.yaml",
        2,
        "lifecycle.mergeCleanupIdleGraceMs",
        "300 ms is under 10 seconds; this value is in milliseconds (300000 = 5 min)",
    ),
    ("notifier_package_and_path.yaml", 5, "notifiers.pager", "give either 'package' or 'path', not both"),
    (
        "routing_priority.yaml",
        6,
        "notificationRouting.critical",
        "unknown key 'critical'; expected 'urgent', 'action', 'warning' or 'info'",
    ),
    ("duplicate_project_id.yaml", 6, "projects.app", "duplicate key 'app' (first set on line 2); remove one"),
    (
        "project_id_chars.yaml",
        2,
        "projects.my app",
        "project id 'my app' may only contain letters, digits, '-' and '_'",
    ),
    (
        "slot_type.yaml",
        4,
        "projects.app.runtime",
        "expected a plugin name or a mapping with 'plugin' and the plugin's options (got 42)",
    ),
    ("plugin_entry_both.yaml", 2, "plugins.0", "each plugins entry needs exactly one of 'path' or 'package'"),
    (
        "permissions_value.yaml",
        5,
        "projects.app.agentConfig.permissions",
        "input should be 'permissionless', 'default', 'auto-edit' or 'suggest' (got 'yolo')",
    ),
]


def expected_message(path: Path, line: int, key_path: str | None, problem: str) -> str:
    key = f"{key_path}: " if key_path else ""
    return f"{path}:{line}: {key}{problem}"


def test_every_fixture_has_a_case() -> None:
    assert sorted(p.name for p in INVALID.glob("*.yaml")) == sorted(case[0] for case in CASES)


@pytest.mark.parametrize(("name", "line", "key_path", "problem"), CASES, ids=[case[0] for case in CASES])
def test_load_config_raises_one_located_error(
    tmp_path: Path, name: str, line: int, key_path: str | None, problem: str
) -> None:
    path = Path(shutil.copy(INVALID / name, tmp_path / "agent-orchestrator.yaml"))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"HOME": str(tmp_path)})
    error = info.value
    assert str(error) == expected_message(path, line, key_path, problem)
    assert "\n" not in str(error)
    assert (error.file, error.line, error.key_path) == (str(path), line, key_path)


@pytest.mark.parametrize(("name", "line", "key_path", "problem"), CASES, ids=[case[0] for case in CASES])
def test_ao_config_validate_exits_non_zero(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    line: int,
    key_path: str | None,
    problem: str,
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    path = Path(shutil.copy(INVALID / name, tmp_path / "agent-orchestrator.yaml"))
    assert main(["config", "validate", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"ao: error: {expected_message(path, line, key_path, problem)}\n"


def test_only_the_first_error_by_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text("projects:\n  app:\n    path: .\n    repo: nope\nport: abc\nfoo: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == f"{path}:4: projects.app.repo: repo 'nope' is not of the form owner/name"


def test_did_you_mean_suggests_the_camel_case_spelling(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text("projects:\n  app:\n    path: .\n    post_create_hooks: [x]\n")
    with pytest.raises(ConfigError, match=r"unknown key 'post_create_hooks'; did you mean 'postCreate'\?$"):
        load_config(path, env={})


def test_unknown_key_without_a_close_match_has_no_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text("projects:\n  app:\n    path: .\n    zzzzzz: 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == f"{path}:4: projects.app.zzzzzz: unknown key 'zzzzzz'"


def test_a_recursive_alias_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text("projects: &p\n  app:\n    path: .\n    agentConfig: *p\n")
    with pytest.raises(ConfigError, match="refers to one of its own parents"):
        load_config(path, env={})


def test_a_duplicate_key_deep_inside_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text("projects:\n  app:\n    path: .\n    agentConfig:\n      model: a\n      model: b\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert str(info.value) == (
        f"{path}:6: projects.app.agentConfig.model: duplicate key 'model' (first set on line 5); remove one"
    )
