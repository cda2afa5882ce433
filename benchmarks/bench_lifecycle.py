"""Lifecycle figures: one poll over 200 sessions with pull requests, and the daemon's memory with them.

The world, built once per harness invocation: the fake GitHub in its own process (3 repositories, 200 open
pull requests with passing CI, 50 ms per request), one project per repository (a local git repository,
the GitHub SCM pointed at the fake, the echo agent of ``tests/plugins``), 200 tmux sessions on a private
tmux server made by the tmux runtime's own ``create()`` (each shows the echo agent's ``echo>`` prompt and
sleeps, so the activity probe reads a real screen), and 200 sessions in the store with status ``pr_open``,
their runtime handle, branch and pull request. Everything is removed at exit.

Polls run in-process through :class:`~ao_core.lifecycle.LifecycleManager` on one event loop (a blocking
portal); requests and their rate-limit cost are read from the fake's request log. The daemon runs as
``ao start --foreground`` on the same world.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._harness import ROOT, VENV_BIN, Benchmark
from benchmarks.bench_github import snapshot_tests
from benchmarks.bench_sessions import kill_tmux_server

ECHO_AGENT = ROOT / "tests" / "plugins" / "echo_agent.py"
N_SESSIONS = 200
LATENCY_S = 0.05
TOKEN_ENV = "AO_BENCH_LIFECYCLE_GITHUB_TOKEN"
STEADY_RUNS = 7
DAEMON_POLLS = 6
"""The daemon runs until it finished this many polls (the cold one and 5 more)."""
_LAUNCH = "printf 'echo> '; exec sleep 3600"
_TITLE = f"{N_SESSIONS} sessions with open PRs in 3 repositories, fake GitHub at {LATENCY_S * 1000:.0f} ms per request"


@dataclass
class _Poll:
    """What one poll cost, from the fake's request log."""

    seconds: float
    requests: int
    graphql: int
    not_modified: int
    cost: int
    transitions: int


@dataclass
class _World:
    root: Path
    state: Path
    config_path: Path
    env: dict[str, str]
    """The daemon's environment."""
    fake: Any
    portal: Any
    config: Any
    registry: Any
    store: Any
    lifecycle: Any = None
    first: _Poll | None = None
    daemon: dict[str, float] = field(default_factory=dict)


_world: _World | None = None


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def world() -> _World:
    """Build the world on first use (see the module docstring); removed at exit, even after a failure."""
    global _world
    if _world is not None:
        return _world
    from anyio.from_thread import start_blocking_portal
    from ao_core.config import load_config
    from ao_core.registry import Registry
    from ao_core.store import Store
    from ao_testing.fakes.github import FakeGitHubProcess

    tests = snapshot_tests()
    root = Path(tempfile.mkdtemp(prefix="ao-bench-lifecycle-"))
    atexit.register(shutil.rmtree, root, True)  # atexit runs last-in first-out: this goes last
    socket = f"ao-bench-{uuid.uuid4().hex[:8]}"
    atexit.register(kill_tmux_server, socket)
    (root / "github").mkdir()
    fake = FakeGitHubProcess(root / "github")
    atexit.register(fake.stop)
    fake.start()
    prs = tests.build_prs(fake, N_SESSIONS, tests.BENCH_REPOS)

    projects = []
    for repo in tests.BENCH_REPOS:
        project_id = repo.split("/")[1]
        path = root / "repos" / project_id
        path.mkdir(parents=True)
        _git(path, "init", "-q", "-b", "main")
        _git(
            path, "-c", "user.name=b", "-c", "user.email=b@example.invalid", "commit", "-q", "--allow-empty", "-m", "i"
        )
        projects.append(
            f"  {project_id}:\n    path: {path}\n    repo: {repo}\n    sessionPrefix: {project_id}\n"
            f"    scm: {{plugin: github, baseUrl: '{fake.url}', tokenEnv: {TOKEN_ENV}}}\n"
        )
    config_path = root / "agent-orchestrator.yaml"
    config_path.write_text(
        "pollIntervalMs: 1000\n"
        f"plugins:\n  - path: {ECHO_AGENT}\n"
        f"defaults:\n  runtime: {{plugin: tmux, socketName: {socket}}}\n  agent: echo\n  workspace: worktree\n"
        "projects:\n" + "".join(projects)
    )
    state = root / "state"
    os.environ[TOKEN_ENV] = fake.default_token
    env = {**os.environ, "AO_STATE_DIR": str(root / "daemon-state"), "AO_CONFIG_PATH": str(config_path)}
    config = load_config(config_path)
    registry = Registry.from_config(config)
    store = Store.open(state)
    atexit.register(store.close)
    portal_cm = start_blocking_portal()
    portal = portal_cm.__enter__()
    atexit.register(portal_cm.__exit__, None, None, None)
    built = _World(root, state, config_path, env, fake, portal, config, registry, store)
    portal.call(_create_sessions, built, prs)
    fake.set_latency(LATENCY_S)
    # the daemon gets its own copy of the never-polled store: its first poll is a first poll ever too
    (root / "daemon-state").mkdir()
    source, copy = sqlite3.connect(store.path), sqlite3.connect(root / "daemon-state" / store.path.name)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    _world = built
    return built


async def _create_sessions(w: _World, prs: list[Any]) -> None:
    """One tmux session per pull request through the runtime's create(), and its row in the store."""
    import anyio
    from ao_core.models import ActivityState, RuntimeCreateConfig, Session, SessionStatus

    manager = _session_manager(w)
    limiter = anyio.CapacityLimiter(8)
    by_repo = {project.repo: project_id for project_id, project in w.config.projects.items()}

    async def create(pr: Any) -> None:
        project_id = by_repo[f"{pr.owner}/{pr.repo}"]
        sid = w.store.reserve_session_id(project_id, project_id)
        workspace = w.root / "ws" / sid
        workspace.mkdir(parents=True)
        async with limiter:
            handle = await manager.runtime_for(project_id).create(
                RuntimeCreateConfig(
                    session_id=sid,
                    workspace_path=str(workspace),
                    launch_command=_LAUNCH,
                    session_dir=str(w.root / "sessions" / sid),
                )
            )
        w.store.save_session(
            Session(
                id=sid,
                project_id=project_id,
                status=SessionStatus.PR_OPEN,
                activity=ActivityState.READY,
                branch=pr.branch,
                pr=pr,
                workspace_path=str(workspace),
                runtime_handle=handle,
                agent="echo",
            )
        )

    async with anyio.create_task_group() as tg:
        for pr in prs:
            tg.start_soon(create, pr)


def _session_manager(w: _World) -> Any:
    from ao_core.sessions import SessionManager

    return SessionManager(w.config, w.registry, w.store, state_dir=w.state)


def _new_manager(w: _World) -> Any:
    """A new lifecycle manager with new plugin instances: nothing in memory (no ETags, no caches)."""
    from ao_core.lifecycle import LifecycleManager

    return LifecycleManager(w.config, w.registry, w.store, _session_manager(w))


def _poll(w: _World, lifecycle: Any) -> _Poll:
    """One poll: its wall time and the requests the fake saw during it."""
    w.fake.clear_requests()
    started = time.perf_counter()
    report = w.portal.call(lifecycle.poll_once)
    elapsed = time.perf_counter() - started
    records = w.fake.requests_log()
    if report.errors:  # figures of a broken poll would mislead
        raise RuntimeError(f"the poll reported errors: {report.errors[:5]}")
    return _Poll(
        seconds=elapsed,
        requests=len(records),
        graphql=sum(1 for r in records if r.path == "/graphql"),
        not_modified=sum(1 for r in records if r.status == 304),
        cost=sum(r.cost for r in records),
        transitions=len(report.transitions),
    )


# --------------------------------------------------------------------------- (a) one poll


def _first_poll() -> _Poll:
    """The first poll ever over the sessions, by the manager later polls reuse; measured once per world."""
    w = world()
    if w.first is None:
        w.lifecycle = _new_manager(w)
        w.first = _poll(w, w.lifecycle)
    return w.first


def _steady_poll() -> _Poll:
    """One more poll of the manager that made the first poll."""
    _first_poll()
    w = world()
    return _poll(w, w.lifecycle)


def _restart_poll() -> _Poll:
    """The first poll of a new manager over sessions polled before (their review state is in the store)."""
    _first_poll()
    w = world()
    return _poll(w, _new_manager(w))


def _figure(
    name: str, what: str, unit: str, poll: Callable[[], _Poll], key: str, *, runs: int, target: str | None = None
) -> Benchmark:
    """A benchmark of one figure of a poll; ``what`` may quote the poll's figures (``{graphql}``...)."""
    bench = Benchmark(name=name, what=what, unit=unit, runs=runs, target=target, measure=lambda: 0.0)

    def measure() -> float:
        figures = vars(poll())
        bench.what = what.format(**figures)
        return float(figures[key])

    bench.measure = measure
    return bench


def _poll_benchmarks() -> list[Benchmark]:
    first = f"{_TITLE}: the first poll ever (no ETags, no stored review state)"
    steady = f"{_TITLE}: a later poll of the same manager, nothing changed"
    restart = f"{_TITLE}: the first poll of a new LifecycleManager (a daemon restart: no ETags, review state stored)"
    return [
        _figure(
            "lifecycle poll, cold (first ever): wall time",
            f"{first}, {{transitions}} transitions; measured once",
            "s",
            _first_poll,
            "seconds",
            runs=1,
            target="≤ 1 s",
        ),
        _figure(
            "lifecycle poll, cold (first ever): HTTP requests",
            f"{first}: {{graphql}} GraphQL, rate-limit cost {{cost}} points",
            "requests",
            _first_poll,
            "requests",
            runs=1,
            target="≤ 10",
        ),
        _figure(
            "lifecycle poll, steady: wall time",
            f"{steady} (one liveness call, 200 screen probes, snapshots, decisions)",
            "s",
            _steady_poll,
            "seconds",
            runs=STEADY_RUNS,
            target="≤ 1 s",
        ),
        _figure(
            "lifecycle poll, steady: HTTP requests",
            f"{steady} (the max: adaptive mode re-reads the PRs not read for 10 polls)",
            "requests",
            _steady_poll,
            "requests",
            runs=STEADY_RUNS,
            target="≤ 10",
        ),
        _figure(
            "lifecycle poll, steady: rate-limit cost",
            f"{steady}: REST core + GraphQL points",
            "points",
            _steady_poll,
            "cost",
            runs=STEADY_RUNS,
            target="0",
        ),
        _figure(
            "lifecycle poll, cold (restart): wall time", restart, "s", _restart_poll, "seconds", runs=3, target="≤ 1 s"
        ),
        _figure(
            "lifecycle poll, cold (restart): HTTP requests",
            f"{restart}: {{graphql}} GraphQL, rate-limit cost {{cost}} points",
            "requests",
            _restart_poll,
            "requests",
            runs=1,
            target="≤ 10",
        ),
    ]


# --------------------------------------------------------------------------- (b) the daemon's memory


def _status_kib(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/health", timeout=5) as response:  # the daemon on loopback
        data: dict[str, Any] = json.loads(response.read())
        return data


def _run_daemon() -> dict[str, float]:
    """Run ``ao start --foreground`` until it finished ``DAEMON_POLLS`` polls; its memory then."""
    from ao_core.daemon import DaemonInfo, daemon_paths

    w = world()
    if w.daemon:
        return w.daemon
    err = (w.root / "daemon.err").open("wb")
    proc = subprocess.Popen(
        [str(VENV_BIN / "ao"), "start", "--foreground", "--port", "0"],
        env=w.env,
        cwd=w.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err.close()

    atexit.register(stop)
    try:
        deadline = time.monotonic() + 180
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (w.root / "daemon.err").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the daemon exited with {proc.returncode}:\n{tail}")
            info = DaemonInfo.read(daemon_paths(Path(w.env["AO_STATE_DIR"])).info)
            if info is not None and info.pid == proc.pid:
                health = _health(info.url)
                if health["polls"] >= DAEMON_POLLS:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"the daemon did not finish {DAEMON_POLLS} polls within 180 s: {health}")
        memory = _status_kib(proc.pid)
        last = health.get("last_poll") or {}
        w.daemon = {
            "hwm": memory["VmHWM"] / 1024,
            "rss": memory["VmRSS"] / 1024,
            "polls": float(health["polls"]),
            "last_poll_ms": float(last.get("duration_ms", 0.0)),
        }
        if last.get("errors"):
            raise RuntimeError(f"the daemon's last poll reported errors: {last['errors'][:5]}")
    finally:
        stop()
    return w.daemon


def _daemon_benchmarks() -> list[Benchmark]:
    benches: list[Benchmark] = []
    for key, name, what in (
        ("hwm", "daemon peak RSS (VmHWM), 200 sessions", "peak resident memory of `ao start --foreground`"),
        ("rss", "daemon RSS (VmRSS), 200 sessions", "resident memory of `ao start --foreground`"),
    ):
        bench = Benchmark(name=name, what="", unit="MiB", runs=1, target="≤ 100 MiB", measure=lambda: 0.0)

        def measure(bench: Benchmark = bench, key: str = key, what: str = what) -> float:
            daemon = _run_daemon()
            bench.what = (
                f"{what} after {daemon['polls']:.0f} polls at pollIntervalMs 1000, the first one a first poll ever "
                f"({_TITLE}; its last poll took {daemon['last_poll_ms']:.0f} ms)"
            )
            return daemon[key]

        bench.measure = measure
        benches.append(bench)
    return benches


def benchmarks() -> list[Benchmark]:
    if shutil.which("tmux") is None:
        return []
    return [*_poll_benchmarks(), *_daemon_benchmarks()]
