"""Session figures: spawn to prompt delivered (tmux, echo agent) and `ao status` cold with 200 sessions."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks._harness import ROOT, VENV_BIN, Benchmark, timed_command

ECHO_AGENT = ROOT / "tests" / "plugins" / "echo_agent.py"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _workspace() -> tuple[Path, Path, str, dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="ao-bench-"))
    socket = f"ao-bench-{uuid.uuid4().hex[:8]}"
    atexit.register(shutil.rmtree, root, True)
    atexit.register(subprocess.run, ["tmux", "-L", socket, "kill-server"], capture_output=True)
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


def _status_benchmark() -> Benchmark:
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
    return Benchmark(
        name="ao status cold, 200 live sessions",
        what="wall time of a new `ao status` process: config, store, one tmux liveness call, table of 200 rows",
        unit="s",
        runs=10,
        target="≤ 0.3 s",
        measure=timed_command([str(VENV_BIN / "ao"), "status"], env=env),
    )


def benchmarks() -> list[Benchmark]:
    if shutil.which("tmux") is None:
        return []
    return [_spawn_benchmark(), _status_benchmark()]
