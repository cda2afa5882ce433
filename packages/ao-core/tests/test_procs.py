"""ao_core.procs against real processes (a child tree, a zombie) and a real tmux server."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import anyio.abc
import pytest
from ao_core.models import RuntimeHandle
from ao_core.procs import (
    ProcessEntry,
    capture_pane,
    descendants,
    matches,
    pid_alive,
    process_table,
    read_proc,
    runs_in,
    tmux_pane_pid,
)
from ao_core.testing import require_executable, wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

LINUX = Path("/proc/self/stat").exists()
needs_proc = pytest.mark.skipif(not LINUX, reason="reads /proc (Linux)")


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rfind(")") + 2 :].split()[0]


def _program(tmp_path: Path, name: str) -> Path:
    """A copy of ``sleep`` called ``name``: the kernel names its process after the file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / name
    shutil.copy(require_executable("sleep"), program)
    return program


async def _spawn(argv: list[str], *, new_session: bool = False) -> anyio.abc.Process:
    devnull = subprocess.DEVNULL
    return await anyio.open_process(argv, stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=new_session)


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[anyio.abc.Process]:
    """``sh`` (its own process group) → {``sleep``, ``sh`` → ``agentx``}: a root, a child and a grandchild."""
    agent = _program(tmp_path, "agentx")
    script = f"sleep 30 & sh -c '{shlex.quote(str(agent))} 30; true' & wait"
    process = await _spawn(["sh", "-c", script], new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):  # the test may have ended it
            os.killpg(process.pid, signal.SIGKILL)
        with anyio.fail_after(10):
            await process.aclose()


def _names(entries: list[ProcessEntry]) -> list[str]:
    return sorted(entry.comm for entry in entries)


# ---------------------------------------------------------------------------- the process table


async def test_the_table_shows_this_process_with_its_parent_and_arguments() -> None:
    table = await process_table()
    me = [entry for entry in table if entry.pid == os.getpid()]
    assert len(me) == 1
    assert me[0].ppid == os.getppid()
    assert me[0].argv == tuple(sys.orig_argv)


@needs_proc
async def test_descendants_of_a_real_tree(tree: anyio.abc.Process) -> None:
    async def grown() -> bool:
        return _names(descendants(await process_table(), tree.pid)) == ["agentx", "sh", "sh", "sleep"]

    await wait_until(grown, within=10, message="sh with sleep and sh → agentx")
    table = await process_table()
    below = descendants(table, tree.pid)
    assert below[0].pid == tree.pid  # the root first
    assert os.getpid() not in {entry.pid for entry in below}
    for entry in below[1:]:  # each one's parent is in the tree
        assert entry.ppid in {other.pid for other in below}
    (inner,) = [entry for entry in below[1:] if entry.comm == "sh"]
    assert inner.ppid == tree.pid
    assert _names(descendants(table, inner.pid)) == ["agentx", "sh"]


def test_descendants_of_a_table() -> None:
    table = [
        ProcessEntry(1, 0, "init", ()),
        ProcessEntry(10, 1, "a", ()),
        ProcessEntry(11, 10, "b", ()),
        ProcessEntry(12, 11, "c", ()),
        ProcessEntry(20, 1, "other", ()),
        ProcessEntry(30, 30, "own-parent", ()),
    ]
    assert [entry.pid for entry in descendants(table, 10)] == [10, 11, 12]
    assert [entry.pid for entry in descendants(table, 12)] == [12]
    assert [entry.pid for entry in descendants(table, 30)] == [30]  # a loop ends
    assert [entry.pid for entry in descendants(table, 11)][1:] == [12]
    assert [entry.pid for entry in descendants(table, 99)] == []
    assert [entry.pid for entry in descendants(iter(table), 0)] == [1, 10, 20, 11, 12]


# ---------------------------------------------------------------------------- liveness


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(1)  # owned by root: it counts
    assert not pid_alive(0)
    assert not pid_alive(-1)
    assert not pid_alive(2**22 + 12345)  # above the kernel's pid_max


@needs_proc
def test_a_zombie_counts_as_dead(tmp_path: Path) -> None:
    # Popen does not reap its child until wait(): killed, the child stays a zombie until then.
    child = subprocess.Popen([_program(tmp_path, "zombie-to-be"), "30"])
    try:
        assert pid_alive(child.pid)
        child.kill()
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z":
            assert time.monotonic() < deadline, "the child did not become a zombie"
            time.sleep(0.02)
        assert not pid_alive(child.pid)
        assert child.pid not in {entry.pid for entry in read_proc()}
    finally:
        child.kill()
        child.wait(timeout=10)
    assert not pid_alive(child.pid)


# ---------------------------------------------------------------------------- matching


def _entry(comm: str, *argv: str) -> ProcessEntry:
    return ProcessEntry(pid=100, ppid=1, comm=comm, argv=argv)


NODE_CLAUDE = _entry("node", "node", "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", "--resume")
NODE_CODEX = _entry("node", "/usr/bin/node", "/usr/lib/node_modules/@openai/codex/bin/codex")
PYTHON_AIDER = _entry("python3.12", "/usr/bin/python3.12", "/home/u/.local/bin/aider", "--model", "x")


@pytest.mark.parametrize(
    ("entry", "names", "expected"),
    [
        (_entry("claude", "claude", "--resume"), {"claude"}, True),
        (_entry("MainThread", "/opt/bin/claude"), {"claude"}, True),  # the program's file name
        (_entry("sleep", "sleep", "claude"), {"claude"}, False),  # an argument is not the program
        (NODE_CLAUDE, {"claude"}, False),  # a script needs interpreters=
        (_entry("claude.exe", "claude.exe"), {"claude"}, False),  # a suffix needs suffix=
    ],
)
def test_matches_by_name(entry: ProcessEntry, names: set[str], expected: bool) -> None:
    assert matches(entry, names) is expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (NODE_CLAUDE, True),  # the npm package's folder
        (_entry("bun", "bun", "/x/claude/main.js"), True),  # a name anywhere in the script's path
        (_entry("node", "node", "/srv/app/server.js"), False),
        (_entry("node", "node"), False),  # no script
        (_entry("python3", "python3", "/x/claude-code/run.py"), False),  # not one of the interpreters
    ],
)
def test_matches_scripts_by_marker(entry: ProcessEntry, expected: bool) -> None:
    names = {"claude"}
    assert matches(entry, names, interpreters=("node", "bun"), script_markers=("claude-code", *names)) is expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (NODE_CODEX, True),  # the script's file name
        (_entry("node", "node", "/x/codex-tools/run.js"), False),  # its path alone does not count
        (_entry("bun", "bun", "codex"), True),
        (_entry("deno", "deno", "codex"), False),
    ],
)
def test_matches_scripts_by_file_name(entry: ProcessEntry, expected: bool) -> None:
    assert matches(entry, {"codex"}, interpreters=("node", "bun")) is expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (PYTHON_AIDER, True),
        (_entry("aider", "/venv/bin/python", "/venv/bin/aider"), True),  # started through its #! line
        (_entry("python3", "python3", "-m", "aider"), False),  # the script is the first argument
        (_entry("node", "node", "/x/aider"), False),
        (_entry("python3", "python3", "/x/other"), False),
    ],
)
def test_matches_scripts_by_interpreter_prefix(entry: ProcessEntry, expected: bool) -> None:
    assert matches(entry, ["aider"], interpreter_prefixes=("python",)) is expected
    assert matches(entry, ["aider"]) is (entry.comm == "aider")  # without the option only the name counts


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (_entry("opencode.exe", "/x/opencode.exe"), True),
        (_entry("opencode", "opencode"), True),
        (_entry("MainThread", "/x/bin/opencode.exe", "run"), True),
        (_entry("opencode.bin", "/x/opencode.bin"), False),
    ],
)
def test_matches_with_a_suffix(entry: ProcessEntry, expected: bool) -> None:
    assert matches(entry, {"opencode"}, suffix=".exe") is expected


@needs_proc
async def test_matches_real_processes(tmp_path: Path) -> None:
    script = tmp_path / "scripts" / "aider"
    script.parent.mkdir()
    script.write_text("import time\ntime.sleep(30)\n")
    exe = _program(tmp_path, "opencode.exe")
    processes = [
        await _spawn([sys.executable, str(script)]),
        await _spawn([str(exe), "30"]),
    ]
    try:

        async def entries() -> list[ProcessEntry]:
            pids = {process.pid for process in processes}
            # Until exec, a child still shows the parent's command line.
            return [e for e in await process_table() if e.pid in pids and e.argv[-1] in (str(script), "30")]

        async def started() -> bool:
            return len(await entries()) == 2

        await wait_until(started, within=10, message="both programs started")
        python_aider, opencode = sorted(await entries(), key=lambda entry: entry.argv[-1] == "30")
        assert matches(python_aider, {"aider"}, interpreter_prefixes=("python",))
        assert not matches(python_aider, {"aider"})
        assert opencode.comm == "opencode.exe"
        assert matches(opencode, {"opencode"}, suffix=".exe")
        assert not matches(opencode, {"opencode"})
    finally:
        for process in processes:
            process.kill()
            with anyio.fail_after(10):
                await process.aclose()


# ---------------------------------------------------------------------------- runs_in (process runtime, others)


@needs_proc
async def test_runs_in_a_process_runtimes_tree(tree: anyio.abc.Process) -> None:
    handle = RuntimeHandle(id="p-1", runtime_name="process", data={"pid": tree.pid})
    await wait_until(
        lambda: runs_in(handle, lambda entry: matches(entry, {"agentx"})), within=10, message="agentx below"
    )
    assert not await runs_in(handle, lambda entry: matches(entry, {"codex"}))
    os.killpg(tree.pid, signal.SIGKILL)
    with anyio.fail_after(10):
        await tree.wait()
    assert not await runs_in(handle, lambda entry: True)


async def test_runs_in_other_runtimes_and_bad_handles() -> None:
    def anything(entry: ProcessEntry) -> bool:
        return True

    assert await runs_in(RuntimeHandle(id="c", runtime_name="docker", data={"container_id": "abc"}), anything)
    for data in ({}, {"pid": "12"}, {"pid": 0}, {"pid": 2**22 + 12345}):
        assert not await runs_in(RuntimeHandle(id="p", runtime_name="process", data=data), anything)
    assert await runs_in(RuntimeHandle(id="p", runtime_name="process", data={"pid": os.getpid()}), anything)


# ---------------------------------------------------------------------------- tmux (real server)


class Tmux:
    """A private tmux server (its own ``-L`` socket, no user config)."""

    def __init__(self) -> None:
        self.path = require_executable("tmux")
        self.socket = f"ao-procs-{uuid.uuid4().hex[:12]}"

    def __call__(self, *args: str) -> str:
        env = {key: value for key, value in os.environ.items() if key not in ("TMUX", "TMUX_PANE")}
        done = subprocess.run(
            [self.path, "-L", self.socket, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=10,
            check=True,
        )
        return done.stdout.strip()

    def session(self, name: str, command: str) -> tuple[str, int]:
        """Start session ``name`` running ``command``; its pane id and pane pid."""
        self("new-session", "-d", "-s", name, "-x", "100", "-y", "20", command)
        pane, pid = self("display-message", "-p", "-t", f"={name}:", "#{pane_id}\t#{pane_pid}").split("\t")
        return pane, int(pid)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux()
    try:
        yield server
    finally:
        subprocess.run([server.path, "-L", server.socket, "kill-server"], capture_output=True, timeout=10, check=False)


@pytest.mark.integration
async def test_tmux_pane_pid(tmux: Tmux) -> None:
    pane, pid = tmux.session("procs-1", "exec sleep 60")
    _, other_pid = tmux.session("procs-2", "exec sleep 60")
    data: dict[str, object] = {"socket_name": tmux.socket}
    assert await tmux_pane_pid("procs-1", data) == pid
    assert await tmux_pane_pid("procs-1", {**data, "pane_id": pane}, tmux_path=tmux.path) == pid
    assert await tmux_pane_pid("procs-2", data) == other_pid
    assert pid_alive(pid)
    # A pane id of another session, a name ao never makes, a session that is not there, no such tmux.
    assert await tmux_pane_pid("procs-2", {**data, "pane_id": pane}) is None
    assert await tmux_pane_pid("procs-1:0", data) is None
    assert await tmux_pane_pid("procs-9", data) is None
    assert await tmux_pane_pid("procs-1", data, tmux_path=str(Path(tmux.path).parent / "no-such-tmux")) is None
    assert await tmux_pane_pid("procs-1", {"socket_name": f"{tmux.socket}-other"}) is None
    tmux("kill-session", "-t", "=procs-1")
    assert await tmux_pane_pid("procs-1", {**data, "pane_id": pane}) is None


@pytest.mark.integration
async def test_capture_pane(tmux: Tmux) -> None:
    pane, _ = tmux.session("procs-3", "printf 'hello from the pane\\n'; exec sleep 60")
    tmux.session("procs-4", "exec sleep 60")
    data: dict[str, object] = {"socket_name": tmux.socket, "pane_id": pane}

    async def shown() -> bool:
        screen = await capture_pane("procs-3", data)
        return screen is not None and "hello from the pane" in screen

    await wait_until(shown, within=10, message="the text in the pane")
    screen = await capture_pane("procs-3", {"socket_name": tmux.socket}, tmux_path=tmux.path)
    assert screen is not None
    assert screen.splitlines()[0] == "hello from the pane"
    assert "procs-3" not in screen  # the session name tmux printed first is not part of the screen
    assert await capture_pane("procs-4", data) is None  # the pane belongs to another session
    assert await capture_pane("procs 3", data) is None
    tmux("kill-session", "-t", "=procs-3")
    assert await capture_pane("procs-3", data) is None


@pytest.mark.integration
async def test_runs_in_a_tmux_pane(tmux: Tmux, tmp_path: Path) -> None:
    agent = _program(tmp_path, "agentx")
    pane, _ = tmux.session("procs-5", f"{shlex.quote(str(agent))} 60; exec sleep 60")
    handle = RuntimeHandle(id="procs-5", runtime_name="tmux", data={"socket_name": tmux.socket, "pane_id": pane})
    await wait_until(
        lambda: runs_in(handle, lambda entry: matches(entry, {"agentx"})), within=10, message="agentx in the pane"
    )
    assert not await runs_in(handle, lambda entry: matches(entry, {"codex"}))
    tmux("kill-session", "-t", "=procs-5")
    assert not await runs_in(handle, lambda entry: True)
