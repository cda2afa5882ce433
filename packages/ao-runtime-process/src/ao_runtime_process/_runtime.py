"""The ``process`` runtime: a session is a detached process group with a FIFO for stdin and a log file.

Everything needed to reach a session is in its handle and on disk, so any ``ao`` process (the CLI, the daemon,
started later) can send to, read, probe and end a session that another process created.

Design notes (the why):

* **Detaching.** The shell is started through a double fork (see ``_launch.py``): the session never is a child
  of an ``ao`` process, so it outlives the command that created it and never lingers as a zombie of a
  long-running daemon. It leads its own session and process group (``setsid``), so it receives no SIGHUP
  or SIGINT meant for the terminal ``ao`` ran in, and the group can be signalled as a whole.
* **stdin is a FIFO opened read-write by the session itself.** The session's fd 0 is the FIFO opened
  ``O_RDWR``. A FIFO's reader sees end-of-file when the last *writer* closes; because the session holds a
  write end itself, its reads never return EOF between two messages, and no keeper process is needed.
  The flip sides: (1) the program never sees EOF on stdin, (2) when every process that holds fd 0 has exited,
  nobody reads the FIFO, and an ``O_WRONLY|O_NONBLOCK`` open fails with ``ENXIO`` — the test for a dead
  reader that ``send_message`` relies on. (Linux defines ``O_RDWR`` on a FIFO; so does macOS.)
* **stdout and stderr go to one log file** opened ``O_APPEND``; it is kept after ``destroy`` for post-mortems
  and is appended to if the same directory is used again (a restore).
* **Identity is pid + start time (+ boot id).** A pid alone may be reused by an unrelated process after the
  session exits (``pid_max`` is often 32768). ``/proc/<pid>/stat`` field 22 is the start time in clock ticks
  since boot: a pid whose start time differs is another process, is reported dead and is never signalled.
  As long as any member of the session's process group exists, the group id (the leader's pid) cannot be
  reused, so a matching leader (alive or zombie) makes ``killpg`` safe.
* **A token in the environment** (``AO_RUNTIME_PROCESS_TOKEN``) marks every process the session started,
  inheritance being the default. ``destroy`` also ends marked processes that left the process group
  (``setsid``/``setpgid``) or outlived the leader, and only those: pid reuse cannot forge a random token.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import ClassVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from ao_core.errors import RuntimeFailedError
from ao_core.models import AttachInfo, RuntimeCreateConfig, RuntimeHandle, RuntimeMetrics
from ao_core.paths import state_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ao_runtime_process import _proc
from ao_runtime_process._config import ProcessRuntimeConfig

__all__ = ["TOKEN_VARIABLE", "ProcessHandleData", "ProcessRuntime"]

_log = logging.getLogger(__name__)

TOKEN_VARIABLE = "AO_RUNTIME_PROCESS_TOKEN"
"""The environment variable whose value marks every process of one session."""

FIFO_NAME = "stdin.fifo"
LOG_NAME = "output.log"
LOCK_NAME = "stdin.lock"
SCRIPT_NAME = "launch.sh"

_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_INLINE_COMMAND_MAX = 32 * 1024
"""Longer launch commands go to a script file: one argv string may not exceed 128 KiB on Linux."""
_LAUNCH_TIMEOUT_S = 10.0
_KILL_WAIT_S = 5.0
_POLL_S = 0.02
_TAIL_BLOCK = 64 * 1024
_TAIL_MAX_BYTES = 4 * 1024 * 1024
"""``get_output`` reads at most this much from the end of the log, whatever ``lines`` asks for."""
_ERROR_TAIL_LINES = 5


class ProcessHandleData(BaseModel):
    """What ``RuntimeHandle.data`` holds for a process session (plain JSON).

    Attributes:
        pid: The session leader: the shell running the launch command.
        pgid: Its process group (equal to ``pid``: the leader called ``setsid``).
        start_time: The leader's start time: clock ticks since boot from ``/proc/<pid>/stat`` field 22 on
            Linux; the ``ps -o lstart=`` text elsewhere.
        boot_id: ``/proc/sys/kernel/random/boot_id`` when the session started (``None`` without it).
        fifo: The named pipe that is the session's stdin.
        log: The file that receives the session's stdout and stderr.
        session_dir: The directory that holds both.
        token: The value of ``AO_RUNTIME_PROCESS_TOKEN`` in the session's environment.
        created_at: When the session was created (UTC).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    pid: int = Field(gt=1)
    pgid: int = Field(gt=1)
    start_time: int | str
    boot_id: str | None = None
    fifo: str
    log: str
    session_dir: str
    token: str = Field(min_length=16)
    created_at: datetime

    @field_validator("fifo", "log", "session_dir")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not Path(value).is_absolute():
            raise ValueError(f"must be an absolute path, got {value!r}")
        return value

    @property
    def token_entry(self) -> bytes:
        """The ``KEY=value`` entry that marks this session's processes in ``/proc/<pid>/environ``."""
        return f"{TOKEN_VARIABLE}={self.token}".encode()


@cache
def _boot_id() -> str | None:
    return _proc.boot_id()


class ProcessRuntime:
    """Runs each session as a detached process group that any ``ao`` process can reach.

    The session's stdin is a named pipe and its stdout and stderr go to a log file, both in the session's
    directory (``RuntimeCreateConfig.session_dir``, else ``<baseDir>/<session id>``, by default under
    ``<state dir>/runtime-process``). The handle holds the pid, its start time, the process group and the
    paths, so sending, reading, probing and destroying work from any process, after the creator exited.

    Requires Linux's ``/proc`` for its guarantees; on other systems ``ps`` is used on a best-effort basis.
    """

    name: ClassVar[str] = "process"

    def __init__(self, config: ProcessRuntimeConfig | None = None) -> None:
        self._config = config or ProcessRuntimeConfig()

    @property
    def config(self) -> ProcessRuntimeConfig:
        """The runtime's configuration."""
        return self._config

    # ------------------------------------------------------------------------------------------- create

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        """Start ``config.launch_command`` under the configured shell, detached, in ``config.workspace_path``.

        Raises:
            RuntimeFailedError: The session id, workspace or shell is unusable, or the shell could not be
                started. Nothing is left behind.
        """
        launch, data = await anyio.to_thread.run_sync(self._create_sync, config)
        handle = RuntimeHandle(id=config.session_id, runtime_name=self.name, data=data.model_dump(mode="json"))
        try:
            # The worker thread cannot be interrupted; if our caller was cancelled meanwhile, the session
            # would be running with nobody holding its handle. End it instead.
            await anyio.lowlevel.checkpoint()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._undo_create, launch)
            raise
        return handle

    def _create_sync(self, config: RuntimeCreateConfig) -> tuple[_Launch, ProcessHandleData]:
        session_id = config.session_id
        if not _SESSION_ID.fullmatch(session_id) or session_id in {".", ".."}:
            raise RuntimeFailedError(
                f"session id {session_id!r} cannot name a directory; use letters, digits, '.', '_' and '-'"
            )
        shell = shutil.which(self._config.shell)
        if shell is None:
            raise RuntimeFailedError(
                f"shell {self._config.shell!r} (runtime option 'shell') is not an executable file; "
                "install it or set 'shell' to another one, e.g. /bin/sh"
            )
        shell = str(Path(shell).absolute())
        workspace = Path(config.workspace_path)
        if not workspace.is_dir():
            raise RuntimeFailedError(
                f"workspace {config.workspace_path!r} of session {session_id!r} does not exist or is not a "
                "directory; create the workspace before starting the session"
            )
        if not sys.executable:
            raise RuntimeFailedError("cannot find the Python interpreter (sys.executable is empty) to launch with")

        directory = self._session_dir(config)
        launch = _Launch(directory=directory, created_dir=not directory.exists())
        try:
            data = self._start(config, shell, launch)
        except OSError as exc:  # the directory, pipe, log or script could not be made
            self._undo_create(launch)
            raise RuntimeFailedError(
                f"cannot prepare session {session_id!r} in {str(directory)!r}: {exc}; check that the directory "
                "is writable"
            ) from exc
        except BaseException:
            self._undo_create(launch)
            raise
        return launch, data

    def _session_dir(self, config: RuntimeCreateConfig) -> Path:
        if config.session_dir is not None:
            return Path(config.session_dir).expanduser().absolute()
        base = Path(self._config.base_dir).expanduser() if self._config.base_dir else state_dir() / "runtime-process"
        return (base / config.session_id).absolute()

    def _start(self, config: RuntimeCreateConfig, shell: str, launch: _Launch) -> ProcessHandleData:
        directory = launch.directory
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if launch.created_dir:
                directory.chmod(0o700)  # mkdir's mode is filtered by the umask
        except OSError as exc:
            raise RuntimeFailedError(f"cannot create the session directory {str(directory)!r}: {exc}") from exc

        fifo, log = directory / FIFO_NAME, directory / LOG_NAME
        _claim_fifo_path(fifo, config.session_id)
        os.mkfifo(fifo, 0o600)
        launch.fifo = fifo
        launch.created_log = not log.exists()
        launch.log = log

        command = config.launch_command
        if len(command.encode("utf-8", "surrogateescape")) > _INLINE_COMMAND_MAX:
            script = directory / SCRIPT_NAME
            script.write_text(command, encoding="utf-8", errors="surrogateescape")
            script.chmod(0o600)
            launch.script = script
            argv = [shell, str(script)]
        else:
            argv = [shell, "-c", command]

        token = secrets.token_hex(16)
        env = {**os.environ, **config.environment, TOKEN_VARIABLE: token}
        lc_ctype = "1" + env["LC_CTYPE"] if "LC_CTYPE" in env else "0"

        log_fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fifo_fd = -1
        report_r, report_w = os.pipe()
        try:
            # O_RDWR: see the module docstring. It also does not block, unlike O_RDONLY without a writer.
            fifo_fd = os.open(fifo, os.O_RDWR)
            try:
                middle = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _launch_source(), str(report_w), lc_ctype, *argv],
                    stdin=fifo_fd,
                    stdout=log_fd,
                    stderr=log_fd,
                    cwd=config.workspace_path,
                    env=env,
                    pass_fds=(report_w,),
                )
            except (OSError, ValueError) as exc:  # ValueError: an environment name with '=' or a NUL byte
                raise RuntimeFailedError(
                    f"cannot start session {config.session_id!r} in {config.workspace_path!r}: {exc}"
                ) from exc
            os.close(report_w)
            report_w = -1
            report = _read_report(report_r, time.monotonic() + _LAUNCH_TIMEOUT_S)
            try:
                middle.wait(timeout=_LAUNCH_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                middle.kill()
                middle.wait()
        finally:
            for fd in (log_fd, fifo_fd, report_r, report_w):
                if fd >= 0:
                    os.close(fd)

        lines = report.decode("utf-8", "replace").splitlines()
        first = lines[0].split() if lines else []
        if not first or not first[0].isdigit():
            raise RuntimeFailedError(
                f"session {config.session_id!r} did not start (the launcher exited with {middle.returncode})"
                f"{_log_excerpt(log)}"
            )
        pid = int(first[0])
        if len(lines) > 1 and lines[1].startswith("error "):
            reason = lines[1].split(" ", 2)[-1]
            raise RuntimeFailedError(
                f"cannot run the shell {shell!r} for session {config.session_id!r}: {reason}; "
                "check the runtime option 'shell'"
            )
        start: int | str
        if len(first) > 1 and first[1].isdigit():
            start = int(first[1])
        else:  # no /proc: ask ps while the process runs (one-second resolution)
            seen = _proc.probe(pid)
            start = seen.start if seen is not None else ""
        launch.data = ProcessHandleData(
            pid=pid,
            pgid=pid,
            start_time=start,
            boot_id=_boot_id(),
            fifo=str(fifo),
            log=str(log),
            session_dir=str(directory),
            token=token,
            created_at=datetime.now(UTC),
        )
        return launch.data

    def _undo_create(self, launch: _Launch) -> None:
        if launch.data is not None:
            with contextlib.suppress(RuntimeFailedError):  # do not hide the error that brought us here
                self._end_session(launch.data, grace_s=0.0)
        # Without data, no session process runs: a failed exec ends the grandchild at once (os._exit).
        for path in (launch.fifo, launch.script, launch.log if launch.created_log else None):
            if path is not None:
                path.unlink(missing_ok=True)
        (launch.directory / LOCK_NAME).unlink(missing_ok=True)
        if launch.created_dir:
            with contextlib.suppress(OSError):  # not empty: someone else wrote there; leave it
                launch.directory.rmdir()

    # ------------------------------------------------------------------------------------------- probe

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        """Whether the session's leader runs: its pid exists, has the recorded start time and is no zombie.

        Reads only ``/proc/<pid>/stat`` on Linux (no subprocess). A handle without usable data (unknown,
        damaged) names no running session: ``False``.
        """
        data = self._data_or_none(handle)
        if data is None:
            return False
        if _proc.HAVE_PROCFS:
            leader = _leader(data)
        else:
            leader = await anyio.to_thread.run_sync(_leader, data)
        return leader is not None and not leader.is_zombie

    # ------------------------------------------------------------------------------------------- send

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        """Write ``message`` and a newline to the session's stdin, byte for byte (UTF-8).

        Messages are serialised across processes by a lock file, so two senders never interleave. There is
        no line editor on a pipe, so there is no half-typed input to clear.

        Raises:
            RuntimeFailedError: The session is not running, nothing reads its stdin, or it did not take the
                whole message within ``sendTimeoutS``.
        """
        data = self._data(handle)
        leader = _leader(data) if _proc.HAVE_PROCFS else await anyio.to_thread.run_sync(_leader, data)
        if leader is None or leader.is_zombie:
            raise RuntimeFailedError(
                f"session {handle.id!r} is not running (pid {data.pid} has exited); cannot send a message. "
                f"Its output is in {data.log}"
            )
        try:
            payload = (message + "\n").encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            raise RuntimeFailedError(f"the message for session {handle.id!r} is not valid text: {exc}") from exc
        await anyio.to_thread.run_sync(self._send_sync, handle.id, data, payload)

    def _send_sync(self, session_id: str, data: ProcessHandleData, payload: bytes) -> None:
        deadline = time.monotonic() + self._config.send_timeout_s
        with _exclusive_lock(Path(data.session_dir) / LOCK_NAME, deadline, session_id):
            try:
                fd = os.open(data.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno == errno.ENXIO:
                    raise RuntimeFailedError(
                        f"nothing reads the stdin of session {session_id!r} any more (its process closed it "
                        "or exited); cannot send a message"
                    ) from exc
                raise RuntimeFailedError(
                    f"cannot open the stdin pipe {data.fifo!r} of session {session_id!r}: {exc}; "
                    "was the session destroyed?"
                ) from exc
            try:
                if not stat.S_ISFIFO(os.fstat(fd).st_mode):
                    raise RuntimeFailedError(f"{data.fifo!r} of session {session_id!r} is not a named pipe")
                self._write_all(fd, payload, deadline, session_id)
            finally:
                os.close(fd)

    def _write_all(self, fd: int, payload: bytes, deadline: float, session_id: str) -> None:
        view = memoryview(payload)
        written = 0
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        while written < len(view):
            try:
                written += os.write(fd, view[written:])
                continue
            except BlockingIOError:
                pass  # the pipe is full: wait until the process reads
            except BrokenPipeError as exc:
                raise RuntimeFailedError(
                    f"session {session_id!r} stopped reading its stdin after {written} of {len(view)} bytes"
                ) from exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeFailedError(
                    f"session {session_id!r} took only {written} of {len(view)} bytes of the message within "
                    f"{self._config.send_timeout_s} s (runtime option 'sendTimeoutS'); it is not reading its stdin"
                )
            poller.poll(min(remaining, 0.5) * 1000)

    # ------------------------------------------------------------------------------------------- output

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        """Return the last ``lines`` lines of the session's log (stdout and stderr interleaved).

        The text is returned as written: ANSI escape sequences and carriage returns are not removed. The file
        is read backwards from its end, at most 4 MiB, so a huge log costs no more than its tail. Invalid
        UTF-8 is replaced. ``""`` when the log is empty or missing, or the handle has no usable data.
        """
        data = self._data_or_none(handle)
        if data is None:
            return ""
        return await anyio.to_thread.run_sync(_tail, Path(data.log), lines)

    # ------------------------------------------------------------------------------------------- destroy

    async def destroy(self, handle: RuntimeHandle) -> None:
        """End the session: SIGTERM to its process group, SIGKILL after ``gracePeriodS``.

        Processes that left the group but carry the session's token are ended too. A pid that now belongs to
        another process (its start time differs) is never signalled. Removes the FIFO and the lock file and
        keeps the log. Idempotent; a handle without usable data (unknown, damaged) names nothing to end.

        Raises:
            RuntimeFailedError: A process of the session could not be signalled or survived SIGKILL.
        """
        data = self._data_or_none(handle)
        if data is None:
            return
        await anyio.to_thread.run_sync(self._destroy_sync, data)

    def _destroy_sync(self, data: ProcessHandleData) -> None:
        self._end_session(data, self._config.grace_period_s)
        session_dir = Path(data.session_dir)
        Path(data.fifo).unlink(missing_ok=True)
        (session_dir / LOCK_NAME).unlink(missing_ok=True)
        (session_dir / SCRIPT_NAME).unlink(missing_ok=True)

    def _end_session(self, data: ProcessHandleData, grace_s: float) -> None:
        leader = _leader(data)
        # A matching leader, even a zombie, holds the pid: the group id cannot have been reused.
        group = data.pgid if leader is not None else None
        if not self._signal_session(data, group, signal.SIGTERM):
            return
        if _wait_until_gone(data, group, time.monotonic() + grace_s):
            return
        self._signal_session(data, group, signal.SIGKILL)
        if not _wait_until_gone(data, group, time.monotonic() + _KILL_WAIT_S):
            left = sorted(p.pid for p in _session_processes(data, group))
            raise RuntimeFailedError(
                f"processes {left} of the session led by pid {data.pid} survived SIGKILL "
                "(uninterruptible sleep?); check them with ps"
            )

    def _signal_session(self, data: ProcessHandleData, group: int | None, signum: int) -> bool:
        """Signal the group and every marked process; ``False`` when there was nothing to signal."""
        found = False
        if group is not None:
            try:
                os.killpg(group, signum)
                found = True
            except ProcessLookupError:
                pass
            except PermissionError as exc:
                raise RuntimeFailedError(f"not allowed to signal process group {group}: {exc}") from exc
        for process in _session_processes(data, None):
            if process.pgrp != group and _signal_process(process, signum):
                found = True
        return found

    # ------------------------------------------------------------------------------------------- extras

    async def get_metrics(self, handle: RuntimeHandle) -> RuntimeMetrics:
        """Return uptime, resident memory and CPU use of the session's process group.

        ``cpu_percent`` is the average since the session started, over the processes that are running now
        (plus the children they have waited for): 100 means one core busy all the time. Memory and CPU
        are ``None`` without ``/proc``.

        Raises:
            RuntimeFailedError: The session is not running.
        """
        data = self._data(handle)
        return await anyio.to_thread.run_sync(self._metrics_sync, handle.id, data)

    def _metrics_sync(self, session_id: str, data: ProcessHandleData) -> RuntimeMetrics:
        leader = _leader(data)
        if leader is None or leader.is_zombie:
            raise RuntimeFailedError(f"session {session_id!r} is not running (pid {data.pid}); no metrics")
        if not (_proc.HAVE_PROCFS and isinstance(leader.start, int)):
            uptime_s = (datetime.now(UTC) - data.created_at).total_seconds()
            return RuntimeMetrics(uptime_ms=max(0, int(uptime_s * 1000)))
        ticks = _proc.clock_ticks()
        uptime_s = max(0.0, _proc.system_uptime_s() - leader.start / ticks)
        members = _proc.group_members(data.pgid)
        memory_mb = sum(m.rss_pages for m in members) * _proc.page_size() / (1024 * 1024)
        cpu_s = sum(m.cpu_ticks for m in members) / ticks
        cpu_percent = 100.0 * cpu_s / uptime_s if uptime_s > 0 else 0.0
        return RuntimeMetrics(uptime_ms=int(uptime_s * 1000), memory_mb=memory_mb, cpu_percent=cpu_percent)

    async def get_attach_info(self, handle: RuntimeHandle) -> AttachInfo:
        """Return how a human follows the session: ``tail -f`` on its log (there is no terminal to attach to)."""
        data = self._data(handle)
        return AttachInfo(type="process", target=data.log, command=f"tail -f {shlex.quote(data.log)}")

    # ------------------------------------------------------------------------------------------- helpers

    def _data(self, handle: RuntimeHandle) -> ProcessHandleData:
        """The handle's data; ``RuntimeFailedError`` when it belongs to another runtime or is unusable."""
        self._check_runtime(handle)
        try:
            return ProcessHandleData.model_validate(handle.data)
        except ValidationError as exc:
            raise RuntimeFailedError(_damaged(handle, exc)) from exc

    def _data_or_none(self, handle: RuntimeHandle) -> ProcessHandleData | None:
        """The handle's data, or ``None`` when it is unusable (logged: a running session may be unreachable)."""
        self._check_runtime(handle)
        try:
            return ProcessHandleData.model_validate(handle.data)
        except ValidationError as exc:
            _log.warning("%s; treating the session as gone", _damaged(handle, exc))
            return None

    def _check_runtime(self, handle: RuntimeHandle) -> None:
        if handle.runtime_name != self.name:
            raise RuntimeFailedError(
                f"session {handle.id!r} belongs to runtime {handle.runtime_name!r}, not {self.name!r}"
            )


def _damaged(handle: RuntimeHandle, exc: ValidationError) -> str:
    first = ".".join(str(part) for part in exc.errors()[0]["loc"])
    return (
        f"the runtime handle of session {handle.id!r} is damaged or was written by an incompatible version: "
        f"{exc.error_count()} invalid field(s), first: {first!r}"
    )


class _Launch:
    """What ``create`` has made so far, so that a failure can undo exactly that."""

    def __init__(self, directory: Path, created_dir: bool) -> None:
        self.directory = directory
        self.created_dir = created_dir
        self.fifo: Path | None = None
        self.log: Path | None = None
        self.created_log = False
        self.script: Path | None = None
        self.data: ProcessHandleData | None = None


@cache
def _launch_source() -> str:
    return Path(__file__).with_name("_launch.py").read_text(encoding="utf-8")


def _claim_fifo_path(fifo: Path, session_id: str) -> None:
    """Remove a FIFO left by an earlier session in this directory, unless a live process still reads it."""
    try:
        mode = fifo.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISFIFO(mode):
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise RuntimeFailedError(f"cannot check the old stdin pipe {str(fifo)!r}: {exc}") from exc
        else:
            os.close(fd)
            raise RuntimeFailedError(
                f"the session directory {str(fifo.parent)!r} is in use by a running session (its stdin pipe "
                f"has a reader); destroy that session before starting {session_id!r} there"
            )
    fifo.unlink()


def _read_report(fd: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _leader(data: ProcessHandleData) -> _proc.ProcStat | None:
    """The session leader if it is still the process the handle names (alive or zombie), else ``None``."""
    if data.boot_id is not None and _boot_id() is not None and data.boot_id != _boot_id():
        return None  # rebooted since: nothing of the session survives
    seen = _proc.probe(data.pid)
    if seen is None or seen.start != data.start_time:
        return None
    return seen


def _session_processes(data: ProcessHandleData, group: int | None) -> Iterator[_proc.ProcStat]:
    """Running processes of the session: members of ``group`` (if given) and processes carrying the token."""
    if data.boot_id is not None and _boot_id() is not None and data.boot_id != _boot_id():
        return
    for process in _proc.all_stats():
        if process.is_zombie:
            continue
        if (group is not None and process.pgrp == group) or _proc.has_env_entry(process.pid, data.token_entry):
            yield process


def _signal_process(process: _proc.ProcStat, signum: int) -> bool:
    """Signal one process found by a scan, unless its pid has been reused since; ``True`` if signalled."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux >= 5.3, or already gone
        pidfd = -1
    try:
        # With a pidfd open, the pid cannot be reused under us: check it is still the process we saw.
        seen = _proc.probe(process.pid)
        if seen is None or seen.start != process.start:
            return False
        if pidfd >= 0:
            signal.pidfd_send_signal(pidfd, signum)
        else:
            os.kill(process.pid, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False
    finally:
        if pidfd >= 0:
            os.close(pidfd)


def _wait_until_gone(data: ProcessHandleData, group: int | None, deadline: float) -> bool:
    while True:
        if next(_session_processes(data, group), None) is None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


@contextlib.contextmanager
def _exclusive_lock(path: Path, deadline: float, session_id: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RuntimeFailedError(
                        f"another process is still sending to session {session_id!r}; try again later"
                    ) from None
                time.sleep(_POLL_S)
        yield
    finally:
        os.close(fd)  # releases the lock


def _tail(path: Path, lines: int) -> str:
    if lines <= 0:
        return ""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return ""
    with file:
        end = file.seek(0, os.SEEK_END)
        position = end
        chunks: list[bytes] = []
        newlines = 0
        needed = lines  # newlines that delimit the wanted lines; one more if the file ends with one
        while position > 0 and end - position < _TAIL_MAX_BYTES and newlines < needed:
            size = min(_TAIL_BLOCK, position, _TAIL_MAX_BYTES - (end - position))
            position -= size
            file.seek(position)
            chunk = file.read(size)
            if not chunks and chunk.endswith(b"\n"):
                needed += 1
            chunks.append(chunk)
            newlines += chunk.count(b"\n")
    data = b"".join(reversed(chunks))
    if data.endswith(b"\n"):
        data = data[:-1]
    if not data:
        return ""
    return b"\n".join(data.split(b"\n")[-lines:]).decode("utf-8", "replace")


def _log_excerpt(log: Path | None) -> str:
    if log is None:
        return ""
    text = _tail(log, _ERROR_TAIL_LINES).strip()
    return f"; its output ended with: {text}" if text else ""
