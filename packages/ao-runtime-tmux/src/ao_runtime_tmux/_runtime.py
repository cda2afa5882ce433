"""The tmux runtime: one tmux session per ao session, the agent running in its only pane."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from ao_core.errors import RuntimeFailedError
from ao_core.models import AttachInfo, RuntimeCreateConfig, RuntimeHandle, RuntimeMetrics

from ao_runtime_tmux import _procs
from ao_runtime_tmux._config import TmuxRuntimeConfig
from ao_runtime_tmux._send import deliver
from ao_runtime_tmux._tmux import MIN_VERSION, TmuxClient, escape_format, parse_version

__all__ = ["TmuxRuntime"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PANE_ID = re.compile(r"^%\d+$")
_SCRIPT_PREFIX = "ao-launch-"
_TEMP_PREFIX = "ao-tmux-"
# The first pane only holds the session open until the agent's window replaces it (see create()).
_PLACEHOLDER = "exec sleep 600"
_HANGUP_WAIT_S = 0.3
_TERM_WAIT_S = 1.0
# tmux sends a command line to its server in one message of at most 16 KiB and rejects a longer one
# ("command too long"): get_output_many keeps each call's arguments below this many bytes.
_CALL_BYTES = 12_000


class TmuxRuntime:
    """Runs each session as a detached tmux session whose single pane is the agent's terminal.

    The launch command is written to a script (mode 0700) and the pane runs ``<shell> <script>``, so a
    command of any length and quoting runs exactly as given and the agent gets a real interactive
    terminal. When the agent exits, the pane and the session end.

    Besides :class:`~ao_core.interfaces.Runtime` it implements ``SupportsMetrics`` and
    ``SupportsAttachInfo``, and batch probes for pollers: :meth:`is_alive_many` answers for any number
    of sessions with one ``tmux list-sessions`` call per server, :meth:`get_output_many` reads any number
    of panes with one ``tmux`` call per server.

    Handles carry ``socket_name``, ``created_at`` (ISO 8601, UTC), ``workspace_path``, ``script_path``,
    ``temp_dir`` (the private directory holding the script when the kernel gave no session directory),
    ``session_id`` and ``pane_id`` (tmux's ``$N`` and ``%N``). Commands for the agent go to that pane, so a
    human who opens more windows in the session never receives them.

    Args:
        config: Options; defaults when ``None``.
    """

    def __init__(self, config: TmuxRuntimeConfig | None = None) -> None:
        self._config = config or TmuxRuntimeConfig()
        self._checked_versions: set[str | None] = set()
        self._cpu_samples: dict[tuple[str | None, str, int], tuple[float, float]] = {}
        self._send_locks: dict[tuple[str | None, str], anyio.Lock] = {}

    @property
    def name(self) -> str:
        """The plugin name, ``tmux``."""
        return "tmux"

    @property
    def config(self) -> TmuxRuntimeConfig:
        """The options this runtime was built with."""
        return self._config

    # ------------------------------------------------------------------ Runtime

    async def create(self, config: RuntimeCreateConfig) -> RuntimeHandle:
        """Start a tmux session named ``config.session_id`` that runs the launch command.

        One tmux call creates the session with its environment (``-e``), sets its ``history-limit`` and
        replaces the first window by the agent's, so the agent's pane is created with that history limit.

        Raises:
            RuntimeFailedError: invalid name, environment or workspace, tmux missing or too old, a session
                of that name exists, or tmux failed; nothing is left behind.
        """
        name = _check_name(config.session_id)
        workspace = Path(config.workspace_path)
        if not workspace.is_absolute() or not await anyio.to_thread.run_sync(workspace.is_dir):
            raise RuntimeFailedError(
                f"workspace '{config.workspace_path}' of session '{name}' is not an existing directory "
                "(an absolute path is required)"
            )
        for key, value in config.environment.items():
            if not _ENV_KEY.fullmatch(key):
                raise RuntimeFailedError(
                    f"environment variable name {key!r} of session '{name}' is invalid; use letters, digits "
                    "and '_', not starting with a digit"
                )
            if "\0" in value:
                raise RuntimeFailedError(f"environment variable {key} of session '{name}' contains a NUL byte")
        command = config.launch_command
        if not command.strip() or "\0" in command:
            raise RuntimeFailedError(f"launch command of session '{name}' is empty or contains a NUL byte")

        client = self._client(self._config.socket_name)
        await self._check_version(client)
        try:
            script, temp_dir = await anyio.to_thread.run_sync(_write_script, name, command, config.session_dir)
        except OSError as exc:
            where = config.session_dir or "a temporary directory"
            raise RuntimeFailedError(
                f"cannot write the launch script of session '{name}' in {where}: {exc.strerror or exc}"
            ) from exc
        created_at = datetime.now(UTC)
        start_dir = escape_format(str(workspace))
        shell = self._config.shell
        env_args = [arg for key, value in config.environment.items() for arg in ("-e", f"{key}={value}")]
        try:
            result = await client.run(
                [
                    *("new-session", "-d", "-s", name, "-c", start_dir, *env_args),
                    *("-x", str(self._config.window_width), "-y", str(self._config.window_height)),
                    # The script path after the placeholder ($0, unused) marks the session as this call's.
                    *("-P", "-F", "#{session_id}", shell, "-c", _PLACEHOLDER, str(script)),
                ],
                ["set-option", "-t", f"={name}:", "history-limit", str(self._config.history_limit)],
                # -k at the first index: the placeholder's window goes, the session stays.
                ["new-window", "-k", "-t", f"={name}:^", "-c", start_dir, "-P", "-F", "#{pane_id}", shell, str(script)],
            )
        except BaseException:
            # Timed out or cancelled: tmux may have made the session anyway. Clean up, even when cancelled.
            with anyio.CancelScope(shield=True), anyio.move_on_after(client.timeout_s):
                await _kill_if_made_by(client, name, script)
                await anyio.to_thread.run_sync(_remove_script, str(script), temp_dir)
            raise
        printed = result.stdout.split()
        session_id = next((word for word in printed if word.startswith("$")), None)
        pane_id = next((word for word in printed if _PANE_ID.fullmatch(word)), None)
        if not result.ok or pane_id is None:
            if session_id is not None:
                # Made by this call (tmux printed its id), so ours to remove; never kill by name here:
                # "duplicate session" means the name belongs to someone else's session.
                await client.run(["kill-session", "-t", session_id])
            await anyio.to_thread.run_sync(_remove_script, str(script), temp_dir)
            raise RuntimeFailedError(f"tmux could not create session '{name}' in '{workspace}': {result.error}")
        return RuntimeHandle(
            id=name,
            runtime_name=self.name,
            data={
                "socket_name": self._config.socket_name,
                "created_at": created_at.isoformat(),
                "workspace_path": str(workspace),
                "script_path": str(script),
                "temp_dir": temp_dir,
                "session_id": session_id,
                "pane_id": pane_id,
            },
        )

    async def destroy(self, handle: RuntimeHandle) -> None:
        """Kill the session, end processes of its panes that survive the hangup, remove the launch script.

        Idempotent: a session (or server) that is gone is not an error.

        Raises:
            RuntimeFailedError: tmux failed for another reason than the session being gone.
        """
        name = _check_name(handle.id)
        client = self._client(_socket_of(handle, self._config))
        result = await client.run(
            ["list-panes", "-s", "-t", f"={name}", "-F", "#{pane_pid}"],
            ["kill-session", "-t", f"={name}"],
        )
        if not result.ok and not result.absent:
            raise RuntimeFailedError(f"cannot kill tmux session '{name}': {result.error}")
        pane_pids = [int(word) for word in result.stdout.split() if word.isdigit()]
        if pane_pids:
            await _end_leftovers(pane_pids)
        script = handle.data.get("script_path")
        temp_dir = handle.data.get("temp_dir")
        await anyio.to_thread.run_sync(
            _remove_script,
            script if isinstance(script, str) else None,
            temp_dir if isinstance(temp_dir, str) else None,
        )
        self._cpu_samples = {key: value for key, value in self._cpu_samples.items() if key[1] != name}
        self._send_locks.pop((_socket_of(handle, self._config), name), None)

    async def send_message(self, handle: RuntimeHandle, message: str) -> None:
        """Type ``message`` into the agent's pane once and press Enter until the agent shows it took it.

        Clears the input line first (``C-u``). A single line of at most 200 characters is typed as literal
        keys; anything longer or with control characters (newlines, tabs) is loaded into a private paste
        buffer and pasted as one bracketed paste, with LF kept as LF. Bracketed-paste markers inside the
        message are removed. Confirmation watches the agent's input area (see ``_send``); Enter is pressed
        at most ``1 + enter_retries`` times within ``send_confirm_timeout_ms``; the text is never typed twice.
        Messages to one session through this runtime object are sent one after the other.

        Raises:
            RuntimeFailedError: the session is gone, tmux failed, or submission was not confirmed.
        """
        name = _check_name(handle.id)
        socket_name = _socket_of(handle, self._config)
        # One message at a time per session: a second one would clear (C-u) the first one's typed text.
        lock = self._send_locks.setdefault((socket_name, name), anyio.Lock())
        async with lock:
            await deliver(
                self._client(socket_name),
                _target(handle),
                name,
                message,
                confirm_timeout_s=self._config.send_confirm_timeout_ms / 1000,
                enter_retries=self._config.enter_retries,
            )

    async def get_output(self, handle: RuntimeHandle, lines: int = 50) -> str:
        """Return the last ``lines`` lines of the pane (history included), wrapped lines joined.

        Trailing whitespace of each line and trailing blank lines are removed. ``""`` when the session is
        gone or ``lines`` is not positive.

        Raises:
            RuntimeFailedError: tmux failed for another reason than the session being gone.
        """
        name = _check_name(handle.id)
        if lines <= 0:
            return ""
        target = _target(handle)
        result = await self._client(_socket_of(handle, self._config)).run(
            ["display-message", "-p", "-t", target, "#{session_name}"],
            ["capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", target],
        )
        if not result.ok:
            if result.absent:
                return ""
            raise RuntimeFailedError(f"cannot read the output of tmux session '{name}': {result.error}")
        owner, _, body = result.stdout.partition("\n")
        if owner != name:
            return ""
        return _trim(body, lines)

    async def is_alive(self, handle: RuntimeHandle) -> bool:
        """Whether a session with exactly this name exists (one ``tmux has-session``, about 2 ms).

        Raises:
            RuntimeFailedError: tmux could not tell (an error other than "no such session or server"); a
                probe that cannot tell must not be read as "dead".
        """
        name = _check_name(handle.id)
        result = await self._client(_socket_of(handle, self._config)).run(["has-session", "-t", f"={name}"])
        if result.ok:
            return True
        if result.absent:
            return False
        raise RuntimeFailedError(f"cannot tell whether tmux session '{name}' is alive: {result.error}")

    # ------------------------------------------------------------------ batch probe

    async def alive_sessions(self, socket_name: str | None) -> set[str]:
        """Names of every session on the server of ``socket_name`` (``None``: the default server).

        One ``tmux list-sessions`` call; an absent server has no sessions.

        Raises:
            RuntimeFailedError: tmux failed for another reason than the server being absent.
        """
        client = self._client(socket_name)
        result = await client.run(["list-sessions", "-F", "#{session_name}"])
        if result.ok:
            return set(result.stdout.split("\n")) - {""}
        if result.absent:
            return set()
        where = f"socket '{socket_name}'" if socket_name is not None else "the default socket"
        raise RuntimeFailedError(f"cannot list tmux sessions on {where}: {result.error}")

    async def is_alive_many(self, handles: Sequence[RuntimeHandle]) -> dict[str, bool]:
        """Liveness of many sessions at once, keyed by handle id: one ``list-sessions`` call per server.

        The kernel uses this instead of one :meth:`is_alive` per session when a runtime offers it: 200
        sessions cost one tmux call (about 5 ms) instead of 200 (about 400 ms here).

        Raises:
            RuntimeFailedError: a server could not be asked (see :meth:`alive_sessions`).
        """
        sockets = {_socket_of(handle, self._config) for handle in handles}
        alive: dict[str | None, set[str]] = {}

        async def probe(socket_name: str | None) -> None:
            alive[socket_name] = await self.alive_sessions(socket_name)

        async with anyio.create_task_group() as group:
            for socket_name in sockets:
                group.start_soon(probe, socket_name)
        return {handle.id: handle.id in alive[_socket_of(handle, self._config)] for handle in handles}

    async def get_output_many(self, handles: Sequence[RuntimeHandle], lines: int = 50) -> dict[str, str]:
        """The output of many sessions at once, keyed by handle id: one tmux call per server.

        Each session's result is what :meth:`get_output` returns for it (``""`` when it is gone). The call
        chains, per session, a marker line naming the session, ``capture-pane`` of the agent's pane and an
        end marker, so the answer splits unambiguously. tmux stops a command sequence at the first error: a
        session found gone gets ``""`` and the sessions after it are read by another call.

        Raises:
            RuntimeFailedError: tmux failed for another reason than a session being gone.
        """
        for handle in handles:
            _check_name(handle.id)
        if lines <= 0:
            return {handle.id: "" for handle in handles}
        groups: dict[str | None, list[RuntimeHandle]] = {}
        for handle in handles:
            groups.setdefault(_socket_of(handle, self._config), []).append(handle)
        found: dict[str, str] = {}

        async def read(client: TmuxClient, chunk: list[RuntimeHandle]) -> None:
            found.update(await _capture_many(client, chunk, lines))

        async with anyio.create_task_group() as task_group:
            for socket_name, group in groups.items():
                client = self._client(socket_name)
                for chunk in _chunks(group, lines):
                    task_group.start_soon(read, client, chunk)
        return {handle.id: found.get(handle.id, "") for handle in handles}

    # ------------------------------------------------------------------ optional capabilities

    async def get_metrics(self, handle: RuntimeHandle) -> RuntimeMetrics:
        """Uptime since creation; memory and CPU of the pane's process tree where ``/proc`` exists.

        Memory is the resident set of every process in the pane's terminal session, in MiB. CPU is the
        percentage of one core used since the previous call for this session by this runtime object, or
        since the session started on the first call.
        """
        name = _check_name(handle.id)
        socket_name = _socket_of(handle, self._config)
        created = _created_at(handle)
        uptime_s = max(0.0, (datetime.now(UTC) - created).total_seconds()) if created else 0.0
        metrics = RuntimeMetrics(uptime_ms=int(uptime_s * 1000))
        if not _procs.available():
            return metrics
        target = _target(handle)
        result = await self._client(socket_name).run(
            ["display-message", "-p", "-t", target, "#{session_name}\t#{pane_pid}"]
        )
        owner, _, pid_text = result.stdout.strip().partition("\t")
        if not result.ok or owner != name or not pid_text.isdigit():
            return metrics
        pane_pid = int(pid_text)
        members = await anyio.to_thread.run_sync(_procs.session_members, {pane_pid})
        if not members:
            return metrics
        memory_mb = sum(member.rss_bytes for member in members) / (1024 * 1024)
        cpu_s = sum(member.cpu_seconds for member in members)
        now = time.monotonic()
        key = (socket_name, name, pane_pid)
        last = self._cpu_samples.get(key)
        self._cpu_samples[key] = (now, cpu_s)
        if last is not None and now > last[0]:
            cpu_percent = max(0.0, (cpu_s - last[1]) / (now - last[0]) * 100)
        elif uptime_s > 0:
            cpu_percent = cpu_s / uptime_s * 100
        else:
            cpu_percent = 0.0
        return RuntimeMetrics(uptime_ms=metrics.uptime_ms, memory_mb=round(memory_mb, 2), cpu_percent=cpu_percent)

    async def get_attach_info(self, handle: RuntimeHandle) -> AttachInfo:
        """How a human attaches: ``tmux [-L <socket>] attach -t <name>``."""
        name = _check_name(handle.id)
        socket_name = _socket_of(handle, self._config)
        words = [self._config.tmux_path]
        if socket_name is not None:
            words += ["-L", socket_name]
        words += ["attach", "-t", name]
        return AttachInfo(type="tmux", target=name, command=shlex.join(words))

    # ------------------------------------------------------------------ helpers

    def _client(self, socket_name: str | None) -> TmuxClient:
        return TmuxClient(self._config.tmux_path, socket_name, self._config.command_timeout_ms / 1000)

    async def _check_version(self, client: TmuxClient) -> None:
        # Once per runtime object and socket: an old tmux fails later with obscure "unknown flag" errors.
        if client.socket_name in self._checked_versions:
            return
        version = parse_version(await _run_version(client))
        if version is not None and version < MIN_VERSION:
            raise RuntimeFailedError(
                f"tmux {version[0]}.{version[1]} at '{client.tmux_path}' is too old; ao needs tmux >= "
                f"{MIN_VERSION[0]}.{MIN_VERSION[1]}"
            )
        self._checked_versions.add(client.socket_name)


async def _kill_if_made_by(client: TmuxClient, name: str, script: Path) -> None:
    """Kill session ``name`` if one of its panes was started for ``script`` (by an interrupted create)."""
    with contextlib.suppress(RuntimeFailedError):
        panes = await client.run(["list-panes", "-s", "-t", f"={name}", "-F", "#{pane_start_command}"])
        # The file name is unique and has no characters tmux would quote.
        if panes.ok and script.name in panes.stdout:
            await client.run(["kill-session", "-t", f"={name}"])


async def _run_version(client: TmuxClient) -> str:
    try:
        with anyio.fail_after(client.timeout_s):
            done = await anyio.run_process([client.tmux_path, "-V"], check=False)
    except TimeoutError as exc:
        raise RuntimeFailedError(f"'{client.tmux_path} -V' did not answer within {client.timeout_s:g} s") from exc
    except OSError as exc:
        raise RuntimeFailedError(
            f"cannot run tmux '{client.tmux_path}': {exc.strerror or exc}; "
            "install tmux >= 3.2 or set the runtime option tmuxPath"
        ) from exc
    return done.stdout.decode("utf-8", "replace")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RuntimeFailedError(
            f"invalid tmux session name {name!r}: use only letters, digits, '-' and '_' (the session id)"
        )
    return name


def _socket_of(handle: RuntimeHandle, config: TmuxRuntimeConfig) -> str | None:
    value: Any = handle.data.get("socket_name", config.socket_name)
    return value if isinstance(value, str) else None


def _target(handle: RuntimeHandle) -> str:
    pane = handle.data.get("pane_id")
    if isinstance(pane, str) and _PANE_ID.fullmatch(pane):
        return pane
    return f"={handle.id}:"


def _trim(body: str, lines: int) -> str:
    """The last ``lines`` lines of captured text, trailing whitespace and trailing blank lines removed."""
    rows = [row.rstrip() for row in body.split("\n")]
    while rows and not rows[-1]:
        rows.pop()
    return "\n".join(rows[-lines:])


async def _capture_many(client: TmuxClient, handles: list[RuntimeHandle], lines: int) -> dict[str, str]:
    """Read the panes of ``handles`` (all on ``client``'s server) in as few tmux calls as sessions allow.

    Per handle the call runs ``display-message`` (a start line ``<token> <index> <session name>``, which
    also fails when the pane is gone), ``capture-pane`` and ``display-message`` (an end line). The token is
    random per call, so no pane content can pass for a marker. When a command fails because its target is
    gone, the handle whose end line is missing is the gone one: it gets ``""`` and the call is repeated for
    the handles after it.
    """
    found: dict[str, str] = {}
    rest = list(handles)
    while rest:
        token = _new_token()
        commands = [command for index, handle in enumerate(rest) for command in _capture(handle, index, token, lines)]
        result = await client.run(*commands)
        if not result.ok and not result.absent:
            raise RuntimeFailedError(f"cannot read the output of {len(rest)} tmux session(s): {result.error}")
        done = _split_captures(result.stdout, token)
        for index, (owner, body) in done.items():
            handle = rest[index]
            found[handle.id] = _trim(body, lines) if owner == handle.id else ""
        if result.ok:
            break
        # Every handle before the failing one completed; the failing one is gone.
        failed = len(done)
        found[rest[failed].id] = ""
        rest = rest[failed + 1 :]
    return found


def _new_token() -> str:
    return f"ao-{uuid.uuid4().hex}"


def _capture(handle: RuntimeHandle, index: int, token: str, lines: int) -> list[list[str]]:
    """The commands reading one pane between a start line and an end line (see :func:`_capture_many`)."""
    target = _target(handle)
    return [
        ["display-message", "-p", "-t", target, f"{token} {index} #{{session_name}}"],
        ["capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", target],
        ["display-message", "-p", "-t", target, f"{token} {index} end"],
    ]


def _chunks(handles: list[RuntimeHandle], lines: int) -> list[list[RuntimeHandle]]:
    """Split ``handles`` so that the arguments of each call stay below ``_CALL_BYTES``."""
    token = _new_token()  # every token has the same length
    chunks: list[list[RuntimeHandle]] = []
    size = 0
    for handle in handles:
        # The index in its chunk is at most the position in the whole list: an upper bound of the size.
        cost = sum(len(arg) + 1 for command in _capture(handle, len(handles), token, lines) for arg in command) + 6
        if not chunks or size + cost > _CALL_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(handle)
        size += cost
    return chunks


def _split_captures(stdout: str, token: str) -> dict[int, tuple[str, str]]:
    """Index → (session name, captured text) for every handle whose start and end lines are in ``stdout``."""
    complete: dict[int, tuple[str, str]] = {}
    current: tuple[int, str] | None = None
    body: list[str] = []
    prefix = token + " "
    for line in stdout.split("\n"):
        if line.startswith(prefix):
            index_text, _, rest = line[len(prefix) :].partition(" ")
            if current is not None and rest == "end" and index_text == str(current[0]):
                complete[current[0]] = (current[1], "\n".join(body))
                current = None
            elif index_text.isdigit():
                current, body = (int(index_text), rest), []
            continue
        if current is not None:
            body.append(line)
    return complete


def _created_at(handle: RuntimeHandle) -> datetime | None:
    value = handle.data.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _write_script(name: str, command: str, session_dir: str | None) -> tuple[Path, str | None]:
    """Write the launch script (0700); return it and the private directory made for it, if any."""
    temp_dir = None
    if session_dir is not None:
        directory = Path(session_dir)
        directory.mkdir(parents=True, exist_ok=True)
    else:
        temp_dir = tempfile.mkdtemp(prefix=_TEMP_PREFIX)
        directory = Path(temp_dir)
    script = directory / f"{_SCRIPT_PREFIX}{name}-{uuid.uuid4().hex[:8]}.sh"
    body = f"#!/bin/sh\n# Launch script of ao session {name}, written by ao-runtime-tmux.\n{command}\n"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    os.fchmod(fd, 0o700)  # whatever the umask
    with os.fdopen(fd, "wb") as file:
        file.write(body.encode("utf-8", "surrogateescape"))
    return script, temp_dir


def _remove_script(script: str | None, temp_dir: str | None) -> None:
    """Remove a launch script and its private directory; only files this plugin names are touched."""
    if script is not None and Path(script).name.startswith(_SCRIPT_PREFIX) and script.endswith(".sh"):
        Path(script).unlink(missing_ok=True)
    if temp_dir is not None and Path(temp_dir).name.startswith(_TEMP_PREFIX):
        with contextlib.suppress(OSError):  # not empty or already gone: not ours to force
            Path(temp_dir).rmdir()


async def _end_leftovers(pane_pids: list[int]) -> None:
    """End processes of the panes' terminal sessions that outlive the hangup tmux sent them."""
    deadline = time.monotonic() + _HANGUP_WAIT_S
    while True:
        left = await anyio.to_thread.run_sync(_members, pane_pids)
        if not left:
            return
        if time.monotonic() >= deadline:
            break
        await anyio.sleep(0.02)
    _procs.signal_all(left, signal.SIGTERM)
    deadline = time.monotonic() + _TERM_WAIT_S
    while time.monotonic() < deadline:
        await anyio.sleep(0.05)
        left = await anyio.to_thread.run_sync(_members, pane_pids)
        if not left:
            return
    _procs.signal_all(left, signal.SIGKILL)


def _members(pane_pids: list[int]) -> list[int]:
    return [member.pid for member in _procs.session_members(set(pane_pids))]
