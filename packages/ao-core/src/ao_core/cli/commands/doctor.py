"""``ao doctor``: check that this machine and the config can run ao; ``--test-notify`` tries every notifier."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ao_core.config import OrchestratorConfig, PluginRef
    from ao_core.interfaces import Notifier
    from ao_core.models import NotifyResult
    from ao_core.registry import Registry

Status = Literal["PASS", "WARN", "FAIL"]

AGENT_EXECUTABLES: dict[str, str] = {
    "claude-code": "claude",
    "codex": "codex",
    "aider": "aider",
    "opencode": "opencode",
}
"""The program each first-party agent plugin runs (other agent plugins are asked for their ``process_name``)."""

TEST_MESSAGE = "ao doctor test notification"
_PROGRAM_TIMEOUT_S = 10.0

_EPILOG = """\
Each line is PASS, WARN (ao works, but something is missing or degraded) or FAIL (ao cannot work
this way). The exit status is 1 when any check fails or a test notification is not delivered.

Checks: Python version; git; tmux (when a project uses the tmux runtime); the config loads and
validates; each configured plugin loads; the agent CLIs of the configured agents are on PATH;
tokens for the configured trackers and SCMs (never printed); the state directory is writable;
each configured notifier can be built.

--test-notify sends one test event (reaction.triggered, priority info, "ao doctor test notification",
session "doctor") to every notifier named under 'notifiers:', 'defaults.notifiers' or
'notificationRouting', all at once, each bounded by --timeout, so one failing or hanging notifier
does not hold up the others."""


@dataclass
class Check:
    """One line of the report."""

    check: str
    status: Status
    detail: str
    subject: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The check as JSON data."""
        return {"check": self.check, "subject": self.subject, "status": self.status, "detail": self.detail}

    def line(self) -> str:
        """The check as one line of text: ``PASS  git: 2.43.0 (/usr/bin/git)``."""
        subject = f" {self.subject}" if self.subject else ""
        return f"{self.status:<4}  {self.check}{subject}: {self.detail}"


@dataclass
class _Target:
    """A notifier to build: its name in the config, the reference, and where it is configured."""

    name: str
    ref: PluginRef
    key_path: str


@dataclass
class Report:
    """Everything ``ao doctor`` found."""

    checks: list[Check] = field(default_factory=list)
    notifications: list[tuple[str, str | None, NotifyResult]] | None = None
    config_path: str | None = None

    def add(self, check: str, status: Status, detail: str, subject: str | None = None) -> None:
        """Record one check."""
        self.checks.append(Check(check, status, detail, subject))

    @property
    def ok(self) -> bool:
        """No check failed and every test notification was delivered."""
        failed_check = any(c.status == "FAIL" for c in self.checks)
        failed_notification = any(not result.ok for _, _, result in self.notifications or ())
        return not failed_check and not failed_notification


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return value


def register(subparsers: Any) -> None:
    """Add ``ao doctor`` to the ``ao`` parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor",
        help="check this machine, the config and the plugins (--test-notify: send a test notification)",
        description="Check that ao can run here: programs, config, plugins, tokens, state directory, notifiers.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="the config file (default: $AO_CONFIG_PATH, else agent-orchestrator.yaml in this directory "
        "or a parent, else the global config)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.add_argument(
        "--test-notify", action="store_true", help="send one test notification through every configured notifier"
    )
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="bound of each test notification (default: 10)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    with _plugin_logs_shown(args.verbose):
        report = _diagnose(args)
    if args.json:
        _print_json(report)
    else:
        _print_text(report, args.timeout)
    return 0 if report.ok else 1


@contextlib.contextmanager
def _plugin_logs_shown(verbose: bool) -> Iterator[None]:
    """Without ``-v``, keep plugins' log lines (retries, warnings) out of the report: it states every outcome.

    Only when nothing configured logging: Python would then print warnings through its last-resort handler.
    """
    import logging

    root = logging.getLogger()
    if verbose or root.handlers:
        yield
        return
    quiet = logging.NullHandler()
    root.addHandler(quiet)
    try:
        yield
    finally:
        root.removeHandler(quiet)


def _diagnose(args: argparse.Namespace) -> Report:
    report = Report()
    _check_python(report)
    _check_git(report)
    config = _check_config(report, args.config)
    if config is None:
        _check_state_dir(report, None)
        if args.test_notify:
            report.add("test-notify", "FAIL", "no test notifications: the config did not load")
    else:
        from ao_core.registry import Registry

        registry = Registry.from_config(config)
        _check_validates(report, config, registry)
        _check_plugins(report, config, registry)
        _check_tmux(report, config)
        _check_agents(report, config, registry)
        _check_tokens(report, config)
        _check_state_dir(report, config.state_dir)
        notifiers = _check_notifiers(report, config, registry)
        if args.test_notify:
            from ao_core.cli._context import run_async

            project_id = next(iter(config.projects))
            report.notifications = run_async(lambda: _send_test(notifiers, project_id, args.timeout))
    return report


# ---------------------------------------------------------------------------------------------- machine


def _program_output(*argv: str) -> tuple[int, str] | None:
    """Run a program briefly; its exit status and first output line, or ``None`` when it cannot run."""
    import subprocess

    try:
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=_PROGRAM_TIMEOUT_S, stdin=subprocess.DEVNULL, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (completed.stdout or completed.stderr).strip().splitlines()
    return completed.returncode, lines[0].strip() if lines else ""


def _check_python(report: Report) -> None:
    import platform

    # ao-core requires Python >= 3.11 to install at all: the line says which interpreter runs ao
    report.add("python", "PASS", f"{platform.python_version()} ({sys.executable})")


def _check_git(report: Report) -> None:
    import shutil

    git = shutil.which("git")
    if git is None:
        report.add("git", "FAIL", "git is not on PATH; install it (ao makes a git worktree per session)")
        return
    result = _program_output(git, "--version")
    if result is None or result[0] != 0:
        report.add("git", "FAIL", f"{git} --version did not run")
        return
    report.add("git", "PASS", f"{result[1].removeprefix('git version ')} ({git})")


def _check_tmux(report: Report, config: OrchestratorConfig) -> None:
    import shutil

    users = [
        project_id
        for project_id, project in config.projects.items()
        if (project.runtime or config.defaults.runtime).plugin == "tmux"
    ]
    if not users:
        return
    tmux = shutil.which("tmux")
    projects = ", ".join(users)
    if tmux is None:
        report.add(
            "tmux",
            "FAIL",
            f"tmux is not on PATH, but projects use the tmux runtime ({projects}); install tmux "
            "(apt install tmux, brew install tmux) or choose another runtime",
        )
        return
    result = _program_output(tmux, "-V")
    if result is None or result[0] != 0:
        report.add("tmux", "FAIL", f"{tmux} -V did not run")
        return
    report.add("tmux", "PASS", f"{result[1]} ({tmux}), used by {projects}")


def _check_state_dir(report: Report, configured: str | None) -> None:
    import os
    import tempfile
    from pathlib import Path

    from ao_core.paths import state_dir

    root = state_dir(configured)
    if root.exists():
        if not root.is_dir():
            report.add("state dir", "FAIL", f"{root} exists but is not a directory")
            return
        try:
            with tempfile.TemporaryFile(dir=root):
                pass
        except OSError as exc:
            report.add("state dir", "FAIL", f"{root} is not writable: {exc.strerror or exc}")
            return
        report.add("state dir", "PASS", f"{root} is writable")
        return
    parent: Path = root
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.is_dir() and os.access(parent, os.W_OK | os.X_OK):
        report.add("state dir", "PASS", f"{root} does not exist yet; it will be created in {parent}")
    else:
        report.add("state dir", "FAIL", f"{root} does not exist and {parent} is not writable")


# ---------------------------------------------------------------------------------------------- config, plugins


def _check_config(report: Report, path: str | None) -> OrchestratorConfig | None:
    from pathlib import Path

    from ao_core.config import load_config
    from ao_core.errors import ConfigError

    try:
        config = load_config(Path(path) if path else None)
    except ConfigError as exc:
        report.add("config", "FAIL", str(exc))
        return None
    report.config_path = str(config.config_path) if config.config_path is not None else None
    count = len(config.projects)
    report.add("config", "PASS", f"{config.config_path} loads ({count} project{'' if count == 1 else 's'})")
    return config


def _check_validates(report: Report, config: OrchestratorConfig, registry: Registry) -> None:
    from ao_core.errors import AoError

    try:
        registry.validate(config)
    except AoError as exc:
        report.add("config", "FAIL", f"does not validate: {exc}", subject="validation")
        return
    report.add("config", "PASS", "every plugin exists and accepts its options", subject="validation")


def _check_plugins(report: Report, config: OrchestratorConfig, registry: Registry) -> None:
    from ao_core.errors import AoError
    from ao_core.registry import _config_refs

    seen: set[tuple[str, str]] = set()
    for slot, ref, key_path in _config_refs(config):
        label = ref.plugin or ref.path or ref.package or "?"
        try:
            name = registry._name_of(slot, ref, key_path, config)
        except AoError as exc:
            name = label
            error: AoError | None = exc
        else:
            error = None
        if (slot.value, name) in seen:
            continue
        seen.add((slot.value, name))
        subject = f"{slot.value} {name}"
        try:
            if error is not None:
                raise error
            loaded = registry.load(slot, name)
        except AoError as exc:
            report.add("plugin", "FAIL", f"{exc} (at {key_path})", subject=subject)
            continue
        version = f" {loaded.manifest.version}" if loaded.manifest.version else ""
        report.add("plugin", "PASS", f"loads ({loaded.source}: {loaded.origin}{version})", subject=subject)


def _check_agents(report: Report, config: OrchestratorConfig, registry: Registry) -> None:
    import shutil

    from ao_core.config import PluginRef
    from ao_core.errors import AoError

    refs: list[tuple[PluginRef, str]] = [(config.defaults.agent, "defaults.agent")]
    for role in ("orchestrator", "worker"):
        role_config = getattr(config.defaults, role)
        if role_config is not None and role_config.agent:
            refs.append((PluginRef(plugin=role_config.agent), f"defaults.{role}.agent"))
    for project_id, project in config.projects.items():
        if project.agent is not None:
            refs.append((project.agent, f"projects.{project_id}.agent"))
        for role in ("orchestrator", "worker"):
            role_config = getattr(project, role)
            if role_config is not None and role_config.agent:
                refs.append((PluginRef(plugin=role_config.agent), f"projects.{project_id}.{role}.agent"))
    seen: set[str] = set()
    for ref, key_path in refs:
        executable = AGENT_EXECUTABLES.get(ref.plugin or "")
        if executable is None:
            try:
                executable = registry.agent(ref, key_path=key_path, config=config).process_name
            except AoError:
                continue  # the plugin check reports why it cannot be built
        if executable in seen:
            continue
        seen.add(executable)
        agent = ref.plugin or ref.path or ref.package
        found = shutil.which(executable)
        if found is None:
            report.add(
                "agent",
                "WARN",
                f"'{executable}' is not on PATH: sessions using the {agent} agent cannot start; install it",
                subject=str(agent),
            )
        else:
            report.add("agent", "PASS", f"{executable} found ({found})", subject=str(agent))


def _check_tokens(report: Report, config: OrchestratorConfig) -> None:
    import os
    import shutil

    seen: set[tuple[str, str]] = set()
    gh_state: list[str] = []  # memo of the gh check: "ok", "logged-out" or "missing"
    for project_id, project in config.projects.items():
        for slot in ("tracker", "scm"):
            ref = getattr(project, slot)
            if ref is None or ref.plugin not in ("github", "linear"):
                continue
            key_path = f"projects.{project_id}.{slot}"
            subject = f"{slot} {ref.plugin}"
            if ref.plugin == "github":
                env_name = str(ref.options.get("tokenEnv") or "GITHUB_TOKEN")
                if (subject, env_name) in seen:
                    continue
                seen.add((subject, env_name))
                if os.environ.get(env_name, "").strip():
                    report.add("token", "PASS", f"{env_name} is set", subject=subject)
                    continue
                if not gh_state:
                    gh = shutil.which("gh")
                    result = _program_output(gh, "auth", "token") if gh else None  # the token is read, not kept
                    gh_state.append("missing" if gh is None else "ok" if result and result[0] == 0 else "logged-out")
                if gh_state[0] == "ok":
                    report.add(
                        "token", "PASS", f"{env_name} is not set; gh is logged in (gh auth token)", subject=subject
                    )
                else:
                    gh_hint = "run 'gh auth login'" if gh_state[0] == "logged-out" else "or install gh and log in"
                    report.add(
                        "token",
                        "FAIL",
                        f"no GitHub token: set {env_name} (used by {key_path}), {gh_hint}",
                        subject=subject,
                    )
            else:
                in_config = bool(str(ref.options.get("apiKey") or "").strip())
                if (subject, str(in_config)) in seen:
                    continue
                seen.add((subject, str(in_config)))
                if in_config:
                    report.add("token", "PASS", f"apiKey is set in the config ({key_path}.apiKey)", subject=subject)
                elif os.environ.get("LINEAR_API_KEY", "").strip():
                    report.add("token", "PASS", "LINEAR_API_KEY is set", subject=subject)
                else:
                    report.add(
                        "token",
                        "FAIL",
                        f"no Linear API key: set LINEAR_API_KEY or the option apiKey of {key_path}",
                        subject=subject,
                    )


# ---------------------------------------------------------------------------------------------- notifiers


def _notifier_targets(config: OrchestratorConfig) -> list[_Target]:
    """``notifiers:`` entries, then notifier plugins named directly in ``defaults.notifiers`` / routing."""
    from ao_core.config import PluginRef

    targets = [_Target(name, ref, f"notifiers.{name}") for name, ref in config.notifiers.items()]
    named = [("defaults.notifiers", config.defaults.notifiers)]
    named += [(f"notificationRouting.{p.value}", names) for p, names in config.notification_routing.items()]
    for key_path, names in named:
        for name in names:
            if name not in config.notifiers and all(t.name != name for t in targets):
                targets.append(_Target(name, PluginRef(plugin=name), key_path))
    return targets


def _check_notifiers(
    report: Report, config: OrchestratorConfig, registry: Registry
) -> list[tuple[str, str | None, Notifier | str]]:
    """Build every notifier; return ``(name, plugin, notifier or the error text)`` for each."""
    from ao_core.errors import AoError

    targets = _notifier_targets(config)
    if not targets:
        report.add(
            "notifier",
            "WARN",
            "none configured: ao cannot tell you when a session needs you; add 'notifiers:' and "
            "'notificationRouting:' (or 'defaults.notifiers')",
        )
        return []
    built: list[tuple[str, str | None, Notifier | str]] = []
    for target in targets:
        plugin = target.ref.plugin or target.ref.path or target.ref.package
        try:
            notifier = registry.notifier(target.ref, key_path=target.key_path, config=config)
        except AoError as exc:
            report.add("notifier", "FAIL", f"{exc} (at {target.key_path})", subject=target.name)
            built.append((target.name, plugin, str(exc)))
            continue
        report.add("notifier", "PASS", f"ready (plugin {notifier.name}, {target.key_path})", subject=target.name)
        built.append((target.name, notifier.name, notifier))
    return built


async def _send_test(
    notifiers: list[tuple[str, str | None, Notifier | str]], project_id: str, per_call_s: float
) -> list[tuple[str, str | None, NotifyResult]]:
    """Send the test event to every notifier concurrently, each bounded by ``per_call_s`` and isolated."""
    import time

    import anyio

    from ao_core.errors import AoError
    from ao_core.models import EventPriority, EventType, NotifyResult, OrchestratorEvent

    event = OrchestratorEvent(
        type=EventType.REACTION_TRIGGERED,
        priority=EventPriority.INFO,
        session_id="doctor",
        project_id=project_id,
        message=TEST_MESSAGE,
        data={"test": True, "source": "ao doctor"},
    )
    results: dict[str, NotifyResult] = {}

    async def deliver(name: str, notifier: Notifier) -> None:
        started = time.monotonic()
        error: str | None = None
        try:
            with anyio.fail_after(per_call_s):
                await notifier.notify(event.model_copy(deep=True))
        except TimeoutError:
            error = f"no answer within {per_call_s:g} s"
        except AoError as exc:
            error = str(exc)
        except Exception as exc:  # a broken plugin must not stop the report of the others
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        duration_ms = int((time.monotonic() - started) * 1000)
        results[name] = NotifyResult(notifier=name, ok=error is None, error=error, duration_ms=duration_ms)

    async with anyio.create_task_group() as group:
        for name, _plugin, notifier in notifiers:
            if isinstance(notifier, str):
                results[name] = NotifyResult(notifier=name, ok=False, error=notifier)
            else:
                group.start_soon(deliver, name, notifier)
    return [(name, plugin, results[name]) for name, plugin, _ in notifiers]


# ---------------------------------------------------------------------------------------------- output


def _print_text(report: Report, timeout: float) -> None:
    for check in report.checks:
        print(check.line())
    if report.notifications is not None:
        print(f"\ntest notifications ({TEST_MESSAGE!r}, at most {timeout:g} s each):")
        if not report.notifications:
            print("  none: no notifier is configured")
        width = max((len(name) for name, _, _ in report.notifications), default=0)
        for name, _plugin, result in report.notifications:
            if result.ok:
                print(f"  ok     {name.ljust(width)}  {result.duration_ms} ms")
            else:
                print(f"  error  {name.ljust(width)}  {result.error}")
    counts = {status: sum(1 for c in report.checks if c.status == status) for status in ("PASS", "WARN", "FAIL")}
    warnings = "warning" if counts["WARN"] == 1 else "warnings"
    summary = f"\n{counts['PASS']} passed, {counts['WARN']} {warnings}, {counts['FAIL']} failed"
    if report.notifications is not None:
        delivered = sum(1 for _, _, result in report.notifications if result.ok)
        summary += f"; {delivered} of {len(report.notifications)} test notifications delivered"
    print(summary)


def _print_json(report: Report) -> None:
    from ao_core.cli._format import print_json

    notifications = None
    if report.notifications is not None:
        notifications = [
            {
                "notifier": name,
                "plugin": plugin,
                "ok": result.ok,
                "durationMs": result.duration_ms,
                "error": result.error,
            }
            for name, plugin, result in report.notifications
        ]
    print_json(
        {
            "ok": report.ok,
            "config": report.config_path,
            "checks": [check.as_dict() for check in report.checks],
            "testNotifications": notifications,
        }
    )
