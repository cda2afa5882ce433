"""Session figures: spawn to prompt delivered (tmux, echo agent); `ao status` with 200 sessions: time, peak memory."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import ROOT, VENV_BIN, Benchmark, timed_command

ECHO_AGENT = ROOT / "tests" / "plugins" / "echo_agent.py"


def kill_tmux_server(socket: str) -> None:
    """End the tmux server of ``socket`` and remove its socket file (tmux leaves it behind)."""
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    tmpdir = Path(os.environ.get("TMUX_TMPDIR") or "/tmp")
    (tmpdir / f"tmux-{os.getuid()}" / socket).unlink(missing_ok=True)


_PEAK_RSS_WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_command(argv: list[str], **kwargs: Any) -> Callable[[], float]:
    """A measure function: peak resident memory (MiB) of running a command to completion (it must succeed).

    A small Python process runs the command and reports its ``getrusage(RUSAGE_CHILDREN).ru_maxrss``. Not
    this process's own figure: Linux carries the parent's resident size into a child it forks (and
    ``subprocess`` forks by ``vfork``), so a child of this large process would report at least its size.
    The wrapper's own size (about 11 MiB) is the floor of the figure.
    """

    def measure() -> float:
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS_WRAPPER, *argv], check=True, capture_output=True, text=True, **kwargs
        )
        return int(done.stdout.split()[-1]) / 1024  # KiB on Linux

    return measure


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _workspace() -> tuple[Path, Path, str, dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="ao-bench-"))
    socket = f"ao-bench-{uuid.uuid4().hex[:8]}"
    atexit.register(shutil.rmtree, root, True)
    atexit.register(kill_tmux_server, socket)
    repo = root / "app"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=b", "-c", "user.email=b@example.invalid", "commit", "-q", "--allow-empty", "-m", "init")
    config = root / "agent-orchestrator.yaml"
    config.write_text(
        f"plugins:\n  - path: {ECHO_AGENT}\n"
        f"defaults:\n  runtime: {{plugin: tmux, socketName: {socket}}}\n  agent: echo\n  workspace: worktree\n"
        f"projects:\n  app:\n    path: {repo}\n    sessionPrefix: app\n"
    )
    env = {**os.environ, "AO_STATE_DIR": str(root / "state"), "AO_CONFIG_PATH": str(config)}
    return root, config, socket, env


def _spawn_benchmark() -> Benchmark:
    import anyio
    from ao_core.config import load_config
    from ao_core.registry import Registry
    from ao_core.sessions import SessionManager
    from ao_core.store import Store

    root, config_path, _socket, _env = _workspace()
    config = load_config(config_path)
    store = Store(root / "state" / "ao.db")
    manager = SessionManager(config, Registry.from_config(config), store, state_dir=root / "state")

    def measure() -> float:
        async def spawn() -> float:
            start = time.perf_counter()
            session = await manager.spawn("app", prompt="benchmark task")
            elapsed = time.perf_counter() - start
            assert session.metadata.get("promptDelivered") is True
            await manager.kill(session.id)
            return elapsed

        return anyio.run(spawn)

    return Benchmark(
        name="spawn to prompt delivered (tmux, echo agent)",
        what="SessionManager.spawn: worktree + tmux session + agent ready + first prompt submitted, in-process",
        unit="s",
        runs=10,
        target="≤ 0.5 s",
        measure=measure,
    )


def _status_benchmarks() -> list[Benchmark]:
    from ao_core.models import ActivityState, RuntimeHandle, Session, SessionStatus
    from ao_core.store import Store

    root, _config, socket, env = _workspace()
    store = Store(root / "state" / "ao.db")
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", "keep", "sleep", "3600"], check=True)
    for n in range(1, 201):
        sid = store.reserve_session_id("app", "app")
        subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", sid, "sleep", "3600"], check=True)
        store.save_session(
            Session(
                id=sid,
                project_id="app",
                status=SessionStatus.WORKING,
                activity=ActivityState.ACTIVE,
                branch=f"feat/issue-{n}",
                issue_id=str(n),
                workspace_path=str(root / "ws" / sid),
                runtime_handle=RuntimeHandle(id=sid, runtime_name="tmux", data={"socket_name": socket}),
                agent="echo",
            )
        )
    store.close()
    return [
        Benchmark(
            name="ao status cold, 200 live sessions",
            what="wall time of a new `ao status` process: config, store, one tmux liveness call, table of 200 rows",
            unit="s",
            runs=10,
            target="≤ 0.3 s",
            measure=timed_command([str(VENV_BIN / "ao"), "status"], env=env),
        ),
        Benchmark(
            name="ao status peak memory, 200 live sessions",
            what="peak resident memory (ru_maxrss) of the same `ao status` process",
            unit="MiB",
            runs=3,
            target="≤ 60 MiB",
            measure=peak_rss_command([str(VENV_BIN / "ao"), "status"], env=env),
        ),
    ]


def benchmarks() -> list[Benchmark]:
    if shutil.which("tmux") is None:
        return []
    return [_spawn_benchmark(), *_status_benchmarks()]
