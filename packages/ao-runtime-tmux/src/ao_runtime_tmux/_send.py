"""Typing a message into a pane and confirming that the agent took it, exactly once.

The text is typed once: as literal keys when it is a short single line, else as one bracketed paste
from a private tmux buffer. Then Enter is pressed, and the screen says whether the agent submitted it.

Which rows of the screen are the agent's input area is learnt by comparing the screen before and after
the text was typed: the rows that changed, narrowed to the rows that show the end of the text when the
agent displays it (agents that show a placeholder for a paste keep all changed rows). Typed text is
waited for until it shows, since an agent busy redrawing something else echoes it late. A key or two
(a menu choice, taken at once) counts as taken when the screen changed since before it was typed. The message counts
as submitted when one of those rows changes after Enter (the input was cleared, or moved into the
transcript) or when the visible cursor went to another line (a line-based program such as a shell leaves
the typed line in place and moves on). A change must still be there one poll later to count, so a screen
caught halfway through a redraw confirms nothing. If nothing changes, Enter was swallowed (an agent still
busy with the paste, upstream issue #373) and is pressed again, a bounded number of times. Rows that
change on their own (spinners, clocks) are left out when the screen never settles.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import anyio
from ao_core.errors import RuntimeFailedError

from ao_runtime_tmux._tmux import TmuxClient

__all__ = ["PASTE_THRESHOLD", "Screen", "deliver", "snapshot"]

PASTE_THRESHOLD = 200
"""Messages longer than this (in characters) are pasted rather than typed."""

_POLL_S = 0.015
_SETTLE_MAX_S = 0.5
_TAIL = 12
_ECHOED_MIN = 3
"""Typed text at least this long is waited for on screen before Enter; shorter may be a menu choice."""
_BRACKET_MARKERS = ("\x1b[200~", "\x1b[201~")


@dataclass(frozen=True)
class Screen:
    """The visible rows of a pane and its state at one moment."""

    rows: tuple[str, ...]
    cursor_y: int
    cursor_visible: bool
    in_mode: bool

    def changed_rows(self, other: Screen) -> set[int]:
        """Indexes of rows that differ between the two screens (rows missing on one side differ)."""
        size = max(len(self.rows), len(other.rows))
        return {i for i in range(size) if _row(self.rows, i) != _row(other.rows, i)}


def _row(rows: tuple[str, ...], index: int) -> str | None:
    return rows[index] if index < len(rows) else None


async def snapshot(client: TmuxClient, target: str, session_name: str) -> Screen | None:
    """Capture the visible screen of ``target``; ``None`` when the pane is gone or not the session's.

    Raises:
        RuntimeFailedError: tmux failed for another reason than the pane being gone.
    """
    result = await client.run(
        ["display-message", "-p", "-t", target, "#{session_name}\t#{pane_in_mode}\t#{cursor_y}\t#{cursor_flag}"],
        ["capture-pane", "-p", "-t", target],
    )
    if not result.ok:
        if result.absent:
            return None
        raise RuntimeFailedError(f"cannot read the screen of tmux session '{session_name}': {result.error}")
    head, _, body = result.stdout.partition("\n")
    name, in_mode, cursor_y, cursor_flag = [*head.split("\t"), "", "", ""][:4]
    if name != session_name:
        # display-message answers even for a pane that no longer exists: a pane id from a handle that
        # outlived its server may now belong to someone else's session.
        return None
    rows = body.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    return Screen(
        rows=tuple(row.rstrip() for row in rows),
        cursor_y=int(cursor_y) if cursor_y.isdigit() else -1,
        cursor_visible=cursor_flag == "1",
        in_mode=in_mode == "1",
    )


def _is_paste(message: str) -> bool:
    return len(message) > PASTE_THRESHOLD or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in message)


async def deliver(
    client: TmuxClient,
    target: str,
    session_name: str,
    message: str,
    *,
    confirm_timeout_s: float,
    enter_retries: int,
) -> None:
    """Type ``message`` into ``target`` once, press Enter, and return when the agent submitted it.

    Raises:
        RuntimeFailedError: the session is gone, tmux failed, or the agent did not show that it took the
            message after ``1 + enter_retries`` Enter presses within ``confirm_timeout_s``.
    """
    paste = _is_paste(message)
    if paste:
        # The end marker inside the text would end the paste early and let the rest act as keystrokes.
        for marker in _BRACKET_MARKERS:
            message = message.replace(marker, "")
    if message == "":
        raise RuntimeFailedError(f"refusing to send an empty message to tmux session '{session_name}'")
    try:
        data = message.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RuntimeFailedError(
            f"message for tmux session '{session_name}' is not valid Unicode text: {exc.reason}"
        ) from exc

    before = await _snapshot_or_fail(client, target, session_name)
    if before.in_mode:
        # Copy mode (a human scrolled back) would take our keys as copy-mode commands.
        await _run_or_fail(client, session_name, ["send-keys", "-t", target, "-X", "cancel"])
        before = await _snapshot_or_fail(client, target, session_name)

    if paste:
        buffer = f"ao-{uuid.uuid4().hex}"
        result = await client.run(
            ["load-buffer", "-b", buffer, "-"],
            ["send-keys", "-t", target, "C-u"],
            # -p: bracketed paste when the agent asked for it, so newlines do not submit line by line;
            # -r: keep LF as LF (tmux would turn it into CR, the Enter key); -d: delete the buffer.
            ["paste-buffer", "-b", buffer, "-d", "-p", "-r", "-t", target],
            input=data,
        )
        if not result.ok:
            await client.run(["delete-buffer", "-b", buffer])
    else:
        result = await client.run(
            ["send-keys", "-t", target, "C-u"],
            ["send-keys", "-t", target, "-l", "--", message],
        )
    if not result.ok:
        raise _send_error(session_name, result.error, gone=result.absent)

    tail = _tail(message)
    # Every agent echoes typed text, sooner or later (an agent still drawing a resumed transcript echoes it
    # late); a paste may show as a placeholder, and a key or two may be a menu choice, which shows nothing.
    echoed = not paste and len(tail.strip()) >= _ECHOED_MIN
    pre, noisy = await _settle(client, target, session_name, before, tail, confirm_timeout_s / 2 if echoed else 0.0)
    if paste or echoed:
        changed = pre.changed_rows(before)
        # Where the end of the text shows is the input line; other rows may have changed on their own.
        with_tail = {i for i in changed if tail in (_row(pre.rows, i) or "")} if tail else set()
        watched = with_tail or changed - noisy
    else:
        # A key or two may be a menu choice, taken at once with nothing echoed: the Enter after it may change
        # nothing, so the change since before the keys counts.
        pre, watched = before, set()

    deadline = time.monotonic() + confirm_timeout_s
    attempt_s = confirm_timeout_s / (enter_retries + 1)
    for _ in range(enter_retries + 1):
        await _run_or_fail(client, session_name, ["send-keys", "-t", target, "Enter"])
        attempt_end = min(deadline, time.monotonic() + attempt_s)
        while True:
            await anyio.sleep(_POLL_S)
            now = await snapshot(client, target, session_name)
            if now is None:
                # The agent ended on this Enter (a quit command): it did take the message.
                return
            if _submitted(pre, now, watched):
                # Once more, a poll later: a screen caught halfway through a redraw is not evidence.
                await anyio.sleep(_POLL_S)
                again = await snapshot(client, target, session_name)
                if again is None or _submitted(pre, again, watched):
                    return
            if time.monotonic() >= attempt_end:
                break
    raise RuntimeFailedError(
        f"typed a message into tmux session '{session_name}' but the agent did not take it after "
        f"{enter_retries + 1} Enter presses in {confirm_timeout_s * 1000:.0f} ms; the text was typed once and "
        "may still sit in its input: check that the agent is at its prompt (raise sendConfirmTimeoutMs for "
        "slow agents)"
    )


def _tail(message: str) -> str:
    """The end of the message's last non-blank line, as a terminal shows it (``""`` when unusable)."""
    lines = [line for line in message.split("\n") if line.strip()]
    if not lines:
        return ""
    tail = lines[-1].rstrip()[-_TAIL:]
    # Tabs and control characters are drawn differently by each program: no reliable text to look for.
    return "" if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in tail) else tail


def _submitted(pre: Screen, now: Screen, watched: set[int]) -> bool:
    if pre.cursor_visible and now.cursor_visible and now.cursor_y != pre.cursor_y:
        # A line-based program (a shell, a cooked-mode reader) took the line: the text stays where it
        # was typed and the cursor moves on to the next line.
        return True
    if watched:
        return any(_row(now.rows, i) != _row(pre.rows, i) for i in watched)
    # No visible input area (the agent does not echo): any change is the best evidence there is.
    return now.rows != pre.rows


async def _settle(
    client: TmuxClient, target: str, session_name: str, before: Screen, tail: str, echo_wait_s: float
) -> tuple[Screen, set[int]]:
    """Wait until the typed text is on screen and the screen stopped changing; return it and the noisy rows.

    Pressing Enter while the agent still renders a paste is what gets Enter swallowed; waiting for a
    stable screen avoids it without a fixed sleep. With ``echo_wait_s``, a stable screen counts only once
    ``tail`` shows in a row that changed, for up to that long: an agent busy redrawing something else (a
    resumed transcript) echoes the keys late, and the input line must be learnt from where the text shows,
    not from the rows the agent happened to redraw. Bounded: a screen that never settles (a spinner) or
    never changes (no echo) is returned after ``_SETTLE_MAX_S`` (``echo_wait_s`` while the text does not
    show) with the rows that kept changing.
    """
    start = time.monotonic()
    deadline, echo_deadline = start + _SETTLE_MAX_S, start + echo_wait_s
    previous: Screen | None = None
    while True:
        current = await _snapshot_or_fail(client, target, session_name)
        shown = not echo_wait_s or any(tail in (_row(current.rows, i) or "") for i in current.changed_rows(before))
        if shown and previous is not None and current.rows == previous.rows and current.rows != before.rows:
            return current, set()
        now = time.monotonic()
        if now >= deadline and (shown or now >= echo_deadline):
            noisy = current.changed_rows(previous) if previous is not None else set()
            return current, noisy
        previous = current
        await anyio.sleep(_POLL_S)


async def _snapshot_or_fail(client: TmuxClient, target: str, session_name: str) -> Screen:
    screen = await snapshot(client, target, session_name)
    if screen is None:
        raise _send_error(session_name, "the session or its pane is gone", gone=True)
    return screen


async def _run_or_fail(client: TmuxClient, session_name: str, command: list[str]) -> None:
    result = await client.run(command)
    if not result.ok:
        raise _send_error(session_name, result.error, gone=result.absent)


def _send_error(session_name: str, reason: str, *, gone: bool) -> RuntimeFailedError:
    hint = "; restore the session" if gone else ""
    return RuntimeFailedError(f"cannot send a message to tmux session '{session_name}': {reason}{hint}")
