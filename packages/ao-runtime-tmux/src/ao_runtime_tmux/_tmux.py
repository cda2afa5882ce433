"""Running the ``tmux`` client: argument escaping, command lists, timeouts, error classification.

Every call is one ``tmux`` process (about 2 ms here). Several tmux commands are joined into one call
with ``;`` separators so that a multi-step operation costs one process and runs without interleaving
on the server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from ao_core.errors import RuntimeFailedError

__all__ = ["MIN_VERSION", "TmuxClient", "TmuxResult", "escape_arg", "escape_format", "parse_version"]

MIN_VERSION = (3, 2)
"""``new-session -e`` and ``load-buffer -`` need tmux 3.2."""

_ABSENT = (
    "no server running",
    "server exited",  # the server was shutting down (kill-server) while this client talked to it
    "lost server",
    "no current target",  # the server has no session left (it is exiting)
    "can't find session",
    "can't find pane",
    "can't find window",
    "session not found",
)
# "error connecting to <socket> (<strerror>)": only these reasons mean "there is no server".
_NO_SERVER = re.compile(r"error connecting to .*\((No such file or directory|Connection refused)\)")


def escape_arg(arg: str) -> str:
    r"""Protect an argument that ends in ``;``, which tmux would otherwise take as a command separator.

    tmux drops a trailing ``;`` (ending the command) unless it is written ``\;``, and turns a trailing
    ``\;`` into ``;``. So any argument ending in ``;`` is passed with a backslash before that ``;``.
    """
    if arg.endswith(";"):
        return arg[:-1] + "\\;"
    return arg


def escape_format(text: str) -> str:
    """Escape ``#`` in a value that tmux expands as a format (``-c start-directory``)."""
    return text.replace("#", "##")


def parse_version(text: str) -> tuple[int, int] | None:
    """Parse ``tmux -V`` output (``tmux 3.3a``, ``tmux next-3.5``); ``None`` when it has no number."""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _client_env() -> dict[str, str]:
    # Inside tmux, $TMUX would make a client without -L talk to the server ao itself runs in, and a
    # server started from here would pass it on to every pane: the socket must come from config only.
    env = dict(os.environ)
    env.pop("TMUX", None)
    env.pop("TMUX_PANE", None)
    return env


@dataclass(frozen=True)
class TmuxResult:
    """What one ``tmux`` call returned."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        """Whether every command of the call succeeded."""
        return self.returncode == 0

    @property
    def absent(self) -> bool:
        """Whether the call failed because the server, session, window or pane does not exist."""
        if self.ok:
            return False
        return any(marker in self.stderr for marker in _ABSENT) or bool(_NO_SERVER.search(self.stderr))

    @property
    def error(self) -> str:
        """The error output in one line, for messages."""
        text = " ".join(self.stderr.split())
        return text or f"tmux exited with status {self.returncode} and no error output"


class TmuxClient:
    """Runs ``tmux [-L socket] cmd ... ; cmd ...`` with a timeout.

    Args:
        tmux_path: The tmux executable.
        socket_name: The server's socket name (``-L``), or ``None`` for the default server.
        timeout_s: Timeout of each call.
    """

    def __init__(self, tmux_path: str, socket_name: str | None, timeout_s: float) -> None:
        self.tmux_path = tmux_path
        self.socket_name = socket_name
        self.timeout_s = timeout_s

    def argv(self, commands: Sequence[Sequence[str]]) -> list[str]:
        """The command line for ``commands`` (each a tmux command and its arguments)."""
        argv = [self.tmux_path]
        if self.socket_name is not None:
            argv += ["-L", self.socket_name]
        for index, command in enumerate(commands):
            if index:
                argv.append(";")
            argv.extend(escape_arg(arg) for arg in command)
        return argv

    async def run(self, *commands: Sequence[str], input: bytes | None = None) -> TmuxResult:
        """Run ``commands`` in one tmux call and return the result (a failing command is not raised).

        Args:
            *commands: tmux commands with their arguments, run in order; tmux stops at the first failure.
            input: Bytes for the client's stdin (``load-buffer -``).

        Raises:
            RuntimeFailedError: tmux cannot be run or does not answer within the timeout.
        """
        # Messages name only the tmux commands: arguments may carry environment values or message text.
        names = "; ".join(command[0] for command in commands)
        try:
            with anyio.fail_after(self.timeout_s):
                done = await anyio.run_process(self.argv(commands), input=input, check=False, env=_client_env())
        except TimeoutError as exc:
            raise RuntimeFailedError(
                f"tmux did not answer within {self.timeout_s:g} s ({names}); "
                f"check that the tmux server{self._socket_hint()} is responsive"
            ) from exc
        except OSError as exc:
            raise RuntimeFailedError(
                f"cannot run tmux '{self.tmux_path}': {exc.strerror or exc}; "
                "install tmux >= 3.2 or set the runtime option tmuxPath"
            ) from exc
        return TmuxResult(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )

    def _socket_hint(self) -> str:
        return f" on socket '{self.socket_name}'" if self.socket_name is not None else ""
