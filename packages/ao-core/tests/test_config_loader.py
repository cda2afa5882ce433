"""Loading agent-orchestrator.yaml: the full upstream format, ${VAR} expansion, lines, paths, defaults, dumping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ao_core.config import (
    DEFAULT_REACTIONS,
    OrchestratorConfig,
    PluginRef,
    ProjectConfig,
    dump_config,
    load_config,
)
from ao_core.errors import ConfigError
from ao_core.models import EventPriority, PermissionMode, ReactionAction

DATA = Path(__file__).parent / "data" / "config"
FULL = DATA / "full.yaml"

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-slack-secret-1111",
    "LINEAR_API_KEY": "lin_api_secret_2222",
    "WEBHOOK_TOKEN": "webhook-secret-3333",
    "COMPOSIO_API_KEY": "composio-secret-4444",
}


def full_env(home: Path) -> dict[str, str]:
    return {**SECRETS, "HOME": str(home)}


def write(tmp_path: Path, text: str, name: str = "agent-orchestrator.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config_loads_every_upstream_field(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))

    assert config.config_path == FULL.absolute()
    assert config.schema_ == "https://example.invalid/agent-orchestrator.schema.json"
    assert (config.port, config.terminal_port, config.direct_terminal_port) == (3100, 14800, 14801)
    assert config.ready_threshold_ms == 600_000
    assert config.poll_interval_ms == 15_000
    assert config.max_concurrent_sessions == 8
    assert config.state_dir == "~/.ao-state"  # ${AO_TEST_STATE_DIR:-~/.ao-state} with the variable unset
    assert config.power.prevent_idle_sleep is True
    assert config.lifecycle.auto_cleanup_on_merge is False
    assert config.lifecycle.merge_cleanup_idle_grace_ms == 0

    defaults = config.defaults
    assert defaults.runtime == PluginRef(plugin="tmux", options={"socketName": "ao"})
    assert defaults.agent == PluginRef(plugin="claude-code")
    assert defaults.terminal == PluginRef(plugin="web")
    assert defaults.notifiers == ["desktop", "slack"]
    assert defaults.orchestrator is not None
    assert defaults.orchestrator.agent == "claude-code"
    assert defaults.worker is not None
    assert defaults.worker.agent == "codex"
    assert defaults.worker.agent_config is not None
    assert defaults.worker.agent_config.model == "gpt-5"

    assert config.plugins[0].path == str(DATA / "plugins" / "my_runtime.py")
    assert config.plugins[1].package == "ao-notifier-pager"
    assert (config.plugins[1].source, config.plugins[1].version, config.plugins[1].enabled) == ("pypi", "0.3", False)
    assert config.dashboard.attention_zones == "detailed"

    app = config.projects["my-app"]
    assert app.name == "My App"
    assert app.repo == "acme/my-app"
    assert app.path == str(tmp_path / "code" / "my-app")
    assert app.default_branch == "develop"
    assert app.session_prefix == "app"
    assert app.runtime == PluginRef(plugin="docker", options={"image": "ao-agent:latest", "memory": "2g"})
    assert app.agent == PluginRef(plugin="codex")
    assert app.workspace == PluginRef(plugin="clone")
    assert app.terminal == PluginRef(plugin="iterm2")
    assert app.tracker == PluginRef(plugin="linear", options={"teamId": "TEAM-1", "apiKey": SECRETS["LINEAR_API_KEY"]})
    assert app.scm is not None
    assert app.scm.plugin == "github"
    assert app.scm.options["webhook"]["secretEnvVar"] == "GITHUB_WEBHOOK_SECRET"
    assert app.symlinks == [".env", "config/local.json"]
    assert app.post_create == ["npm ci", 'echo "${HOME} stays literal"']
    assert app.agent_config.permissions is PermissionMode.PERMISSIONLESS  # "skip" is the legacy spelling
    assert app.agent_config.model == "claude-sonnet-4-5"
    assert app.agent_config.orchestrator_model == "claude-opus-4-1"
    assert app.agent_config.model_extra == {"opencodeSessionId": "ses_123", "maxTurns": 40}
    assert app.orchestrator is not None
    assert app.orchestrator.agent_config is not None
    assert app.orchestrator.agent_config.permissions is PermissionMode.DEFAULT
    assert app.worker is not None
    assert app.worker.agent == "aider"
    assert app.reactions["approved-and-green"].action is ReactionAction.AUTO_MERGE
    assert app.agent_rules == "Run `make test` before opening a pull request.\n"
    assert app.agent_rules_file == "docs/AGENTS.md"
    assert app.orchestrator_rules == "Prefer small pull requests."
    assert app.orchestrator_session_strategy == "delete"  # "kill-previous" is upstream's legacy spelling
    assert app.opencode_issue_session_strategy == "delete"

    assert config.notifiers["slack"].options == {"token": SECRETS["SLACK_BOT_TOKEN"], "channel": "#agent-updates"}
    assert config.notifiers["webhook"].options["headers"] == {"Authorization": f"Bearer {SECRETS['WEBHOOK_TOKEN']}"}
    assert config.notifiers["pager"].package == "ao-notifier-pager"
    assert config.notification_routing[EventPriority.URGENT] == ["desktop", "slack"]
    assert config.notification_routing[EventPriority.INFO] == []


def test_project_defaults_are_filled_in(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))
    tools = config.projects["tools"]
    assert tools.name == "tools"
    assert tools.path == str(DATA.parent / "tools")  # "../tools", relative to the config file
    assert tools.session_prefix == "too"  # derived from the directory name
    # upstream: an owner/name repo without tracker/scm gets GitHub for both
    assert tools.tracker == PluginRef(plugin="github")
    assert tools.scm == PluginRef(plugin="github")
    # an explicit tracker is kept
    assert config.projects["my-app"].tracker is not None
    assert config.projects["my-app"].tracker.plugin == "linear"


def test_gitlab_is_inferred_from_the_other_slot(tmp_path: Path) -> None:
    path = write(tmp_path, "projects:\n  app:\n    path: .\n    repo: group/sub/app\n    scm: gitlab\n")
    config = load_config(path, env={})
    assert config.projects["app"].tracker == PluginRef(plugin="gitlab")


def test_reactions_merge_field_by_field_over_the_builtin_table(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))
    assert set(DEFAULT_REACTIONS) <= set(config.reactions)
    ci = config.reactions["ci-failed"]
    assert ci.message == "CI failed; read the failing checks below and fix them."
    assert ci.retries == 3
    assert ci.action is ReactionAction.SEND_TO_AGENT  # kept from the built-in entry
    assert ci.escalate_after == 2
    assert config.reactions["agent-stuck"].threshold == "20m"
    assert config.reactions["agent-stuck"].priority is EventPriority.WARNING
    assert config.reactions["my-custom"].include_summary is True
    # the project's override wins over the global entry, which wins over the built-in one
    effective = config.reaction_for("my-app", "ci-failed")
    assert effective is not None
    assert (effective.retries, effective.escalate_after, effective.action) == (5, "1h", ReactionAction.SEND_TO_AGENT)
    green = config.reaction_for("my-app", "approved-and-green")
    assert green is not None
    assert (green.auto, green.action) == (True, ReactionAction.AUTO_MERGE)


def test_lines_of_keys_and_list_items(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))
    lines = FULL.read_text().splitlines()

    def line_text(key_path: str) -> str:
        line = config.line_of(key_path)
        assert line is not None
        return lines[line - 1].strip()

    assert line_text("port") == "port: 3100"
    assert line_text("projects.my-app.runtime.socketName").startswith("runtime: {plugin: docker")
    assert line_text("defaults.runtime.socketName") == "socketName: ao"
    assert line_text("projects.my-app.tracker.apiKey") == "apiKey: ${LINEAR_API_KEY}"
    assert line_text("plugins.1.version") == 'version: "0.3"'
    assert line_text("plugins.0.path") == "- path: ./plugins/my_runtime.py"
    assert line_text("projects.my-app.postCreate.1") == '- echo "$${HOME} stays literal"'
    assert line_text("notifiers.slack.nonexistent") == "slack:"  # falls back to the innermost key that exists
    assert config.line_of("nothing.here") is None


def test_secret_paths_cover_expansions_and_secret_key_names(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))
    assert config._secret_paths == {
        "notifiers.slack.token",
        "notifiers.webhook.headers.Authorization",
        "notifiers.composio.apiKey",
        "notifiers.pager.password",  # literal, but the key name says secret
        "projects.my-app.tracker.apiKey",
    }


def test_dump_redacts_every_secret(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))
    data = dump_config(config)
    text = json.dumps(data)
    for secret in [*SECRETS.values(), "hunter2-literal"]:
        assert secret not in text
    assert data["notifiers"]["slack"] == {"plugin": "slack", "token": "***", "channel": "#agent-updates"}
    assert data["notifiers"]["webhook"]["headers"] == {"Authorization": "***"}
    assert data["projects"]["my-app"]["tracker"]["apiKey"] == "***"
    assert data["notifiers"]["pager"]["routingKey"] == "literal-routing-key"
    # secretEnvVar names a variable; it is not a secret itself
    assert data["projects"]["my-app"]["scm"]["webhook"]["secretEnvVar"] == "GITHUB_WEBHOOK_SECRET"

    plain = dump_config(config, redact=False)
    assert plain["notifiers"]["slack"]["token"] == SECRETS["SLACK_BOT_TOKEN"]
    assert plain["notifiers"]["pager"]["password"] == "hunter2-literal"


def test_dump_is_the_effective_config_in_file_form(tmp_path: Path) -> None:
    config = load_config(FULL, env=full_env(tmp_path))
    data = dump_config(config)
    assert data["defaults"]["runtime"] == {"plugin": "tmux", "socketName": "ao"}
    assert data["defaults"]["agent"] == "claude-code"  # a plugin without options is a plain name
    assert data["projects"]["tools"]["scm"] == "github"
    assert data["projects"]["tools"]["defaultBranch"] == "main"
    assert data["projects"]["my-app"]["agentConfig"]["maxTurns"] == 40
    assert data["projects"]["my-app"]["agentConfig"]["permissions"] == "permissionless"
    assert data["notificationRouting"]["urgent"] == ["desktop", "slack"]
    assert data["reactions"]["approved-and-green"]["auto"] is False
    assert data["reactions"]["ci-failed"]["retries"] == 3
    assert "terminalPort" in data
    assert "$schema" in data
    # the dump is itself a valid config that loads to the same values (it holds values, not file text:
    # a literal "${" is not escaped again, so leave out the one value that has one)
    plain = dump_config(config, redact=False)
    plain["projects"]["my-app"]["postCreate"] = []
    reloaded = load_config(write(tmp_path, yaml.safe_dump(plain), "again.yaml"), env={})
    assert dump_config(reloaded, redact=False) == plain


def test_dump_of_a_config_built_in_code_includes_builtin_reactions() -> None:
    config = OrchestratorConfig(projects={"app": ProjectConfig(path="/srv/app")})
    data = dump_config(config)
    assert list(data["reactions"]) == list(DEFAULT_REACTIONS)
    assert data["defaults"] == {"runtime": "tmux", "agent": "claude-code", "workspace": "worktree", "notifiers": []}


@pytest.mark.parametrize(
    ("value", "env", "expected"),
    [
        ("${NAME}", {"NAME": "x"}, "x"),
        ("pre-${NAME}-post", {"NAME": "x"}, "pre-x-post"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        ("${NAME:-fallback}", {}, "fallback"),
        ("${NAME:-fallback}", {"NAME": ""}, "fallback"),
        ("${NAME:-fallback}", {"NAME": "set"}, "set"),
        ("${NAME:-}", {}, ""),
        ("${NAME:-a:b c}", {}, "a:b c"),
        ("${NAME}", {"NAME": ""}, ""),
        ("$${NAME}", {"NAME": "x"}, "${NAME}"),
        ("$${NAME:-d} and ${NAME}", {"NAME": "x"}, "${NAME:-d} and x"),
        ("cost: $5, $HOME", {"HOME": "/h"}, "cost: $5, $HOME"),
    ],
)
def test_variable_expansion(tmp_path: Path, value: str, env: dict[str, str], expected: str) -> None:
    path = write(tmp_path, f"projects:\n  app:\n    path: .\n    agentRules: '{value}'\n")
    config = load_config(path, env=env)
    assert config.projects["app"].agent_rules == expected


def test_expansion_reaches_every_string_and_is_typed_afterwards(tmp_path: Path) -> None:
    text = (
        "port: ${AO_PORT}\n"
        "power:\n  preventIdleSleep: ${AWAKE:-false}\n"
        "projects:\n"
        "  app:\n    path: ${REPOS}/app\n    postCreate: ['${SETUP}']\n"
        "notifiers:\n  hook:\n    plugin: webhook\n    headers:\n      X-Team: ${TEAM}\n"
    )
    env = {"AO_PORT": "4123", "REPOS": str(tmp_path / "repos"), "SETUP": "make setup", "TEAM": "core"}
    config = load_config(write(tmp_path, text), env=env)
    assert config.port == 4123
    assert config.power.prevent_idle_sleep is False
    assert config.projects["app"].path == str(tmp_path / "repos" / "app")
    assert config.projects["app"].post_create == ["make setup"]
    assert config.notifiers["hook"].options["headers"] == {"X-Team": "core"}
    assert {"port", "projects.app.path", "projects.app.postCreate.0", "notifiers.hook.headers.X-Team"} <= (
        config._secret_paths
    )
    assert "power.preventIdleSleep" not in config._secret_paths  # the default came from the file


def test_expansion_does_not_read_the_real_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AO_TEST_ONLY_IN_OS_ENVIRON", "from-os")
    path = write(tmp_path, "projects:\n  app:\n    path: .\n    agentRules: ${AO_TEST_ONLY_IN_OS_ENVIRON}\n")
    with pytest.raises(ConfigError, match="AO_TEST_ONLY_IN_OS_ENVIRON is not set"):
        load_config(path, env={})
    assert load_config(path).projects["app"].agent_rules == "from-os"  # env=None reads os.environ


def test_an_expanded_value_is_never_shown_in_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "port: ${AO_PORT}\nprojects:\n  app:\n    path: .\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"AO_PORT": "s3cr3t-not-a-number"})
    assert str(info.value) == f"{path}:1: port: input should be a valid integer, unable to parse string as an integer"
    assert "s3cr3t" not in str(info.value)


def test_paths_resolve_against_the_config_file_and_home(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    text = (
        "plugins:\n  - path: plugins/x.py\n  - path: ~/shared/y.py\n  - path: /abs/z.py\n"
        "projects:\n"
        "  a:\n    path: ../repos/a\n    tracker: {path: ./trackers/jira.py}\n"
        "  b:\n    path: ~/code/b\n"
        "  c:\n    path: /srv/c\n"
    )
    path = write(tmp_path / "conf", text)
    config = load_config(path, env={"HOME": str(tmp_path / "home")})
    assert [p.path for p in config.plugins] == [
        str(tmp_path / "conf" / "plugins" / "x.py"),
        str(tmp_path / "home" / "shared" / "y.py"),
        "/abs/z.py",
    ]
    assert config.projects["a"].path == str(tmp_path / "repos" / "a")
    assert config.projects["b"].path == str(tmp_path / "home" / "code" / "b")
    assert config.projects["c"].path == "/srv/c"
    assert config.projects["a"].tracker is not None
    assert config.projects["a"].tracker.path == str(tmp_path / "conf" / "trackers" / "jira.py")


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    text = (
        "projects:\n"
        "  a: &common\n    path: ./a\n    defaultBranch: trunk\n    agent: codex\n"
        "  b:\n    <<: *common\n    path: ./b\n    agent: aider\n"
    )
    config = load_config(write(tmp_path, text), env={})
    assert config.projects["b"].default_branch == "trunk"
    assert config.projects["b"].agent == PluginRef(plugin="aider")  # an explicit key beats the merged one
    assert config.projects["b"].path == str(tmp_path / "b")


def test_scratch_keys_for_anchors_are_not_allowed(tmp_path: Path) -> None:
    text = "x-common: &common\n  defaultBranch: trunk\nprojects:\n  a:\n    <<: *common\n    path: ./a\n"
    with pytest.raises(ConfigError, match=r"1: x-common: unknown key 'x-common'$"):
        load_config(write(tmp_path, text), env={})


def test_a_notifier_without_plugin_uses_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, "projects:\n  app:\n    path: .\nnotifiers:\n  desktop:\n  slack:\n    channel: '#x'\n")
    config = load_config(path, env={})
    assert config.notifiers["desktop"] == PluginRef(plugin="desktop")
    assert config.notifiers["slack"] == PluginRef(plugin="slack", options={"channel": "#x"})


def test_non_string_keys_are_read_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "projects:\n  2024:\n    path: ./y\n  on:\n    path: ./o\n")
    config = load_config(path, env={})
    assert list(config.projects) == ["2024", "on"]


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.yaml", env={})


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_bytes(b"projects:\n  app:\n    path: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path, env={})


def test_load_without_a_path_discovers_the_file(tmp_path: Path) -> None:
    write(tmp_path, "projects:\n  app:\n    path: .\n")
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    config = load_config(env={"HOME": str(tmp_path / "home")}, cwd=tmp_path / "src" / "pkg")
    assert config.config_path == tmp_path / "agent-orchestrator.yaml"
    assert config.projects["app"].path == str(tmp_path)


def test_a_value_error_on_an_expanded_value_hides_it(tmp_path: Path) -> None:
    path = write(tmp_path, "projects:\n  app:\n    path: .\n    repo: ${AO_REPO}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"AO_REPO": "private-name"})
    assert str(info.value) == f"{path}:4: projects.app.repo: repo '***' is not of the form owner/name"
