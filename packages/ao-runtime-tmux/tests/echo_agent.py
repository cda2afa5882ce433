"""A stand-in agent for the tests: a raw-mode terminal reader that records what it is sent.

It behaves like the input box of an agent TUI (Claude Code, Codex): it turns on bracketed paste, treats
a pasted block as text (newlines included), and submits the input on Enter (CR). Ctrl-J (LF) outside a
paste inserts a newline, Ctrl-U clears the input, DEL deletes a character. An Enter with empty input is
ignored, as agents do.

    python echo_agent.py RECORD [--swallow-enters N] [--tui [--spinner] [--late-echo S] [--menu]]

Writes ``RECORD.raw`` (every byte read from the terminal, in order) and ``RECORD.jsonl`` (one JSON
object per event: ``{"event": "submit", "data": <base64>, "pastes": n}``, ``{"event": "empty-enter"}``,
``{"event": "swallowed-enter"}``). ``--swallow-enters N`` ignores the first N Enter presses after each
paste, as an agent that is still busy with a paste does (upstream issue #373). ``--tui`` draws like a
full-screen agent: a transcript above an input line at a fixed row, the cursor hidden and parked at the
top left, so only the input line shows whether a message was taken. ``--spinner`` adds a status row
that changes every 40 ms and on every keystroke, like the "working" animation of a busy agent.
``--late-echo S`` answers the first keystrokes by redrawing another row at once (a transcript still
loading, as OpenCode does right after resuming a session) and shows the typed text only S seconds later.
``--menu`` starts with a choice ("1. Yes  2. No", like Claude Code's permission prompt): the key 1 or 2 is
taken at once (recorded as a submission), with no echo and no Enter needed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import select
import sys
import termios
import time
import tty
from pathlib import Path

PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"
PROMPT = b"echo> "
SPINNER = "|/-\\"


class EchoAgent:
    def __init__(
        self, record: str, swallow_enters: int, tui: bool, spinner: bool, late_echo: float = 0.0, menu: bool = False
    ) -> None:
        # Both stay open for the life of the program.
        self.raw = Path(record + ".raw").open("ab")  # noqa: SIM115 - see above
        self.events = Path(record + ".jsonl").open("a", encoding="utf-8")  # noqa: SIM115 - see above
        self.swallow_enters = swallow_enters
        self.buffer = bytearray()
        self.in_paste = False
        self.pastes = 0
        self.swallow = 0
        self.submissions = 0
        self.pending = b""
        self.tui = tui
        self.spinner = spinner
        self.ticks = 0
        self.transcript: list[str] = ["echo agent ready"]
        self.late_echo = late_echo
        self.menu = menu
        self.echo_due: float | None = None
        """While set (a monotonic time), the input line keeps showing ``shown`` instead of the input."""
        self.shown = b""

    def record(self, event: dict[str, object]) -> None:
        self.events.write(json.dumps(event) + "\n")
        self.events.flush()

    def render(self) -> None:
        source = self.shown if self.echo_due is not None else bytes(self.buffer)
        text = source.decode("utf-8", "replace").replace("\n", "⏎").replace("\t", "→")
        text = "".join(ch if ch.isprintable() else "?" for ch in text)[-60:]
        if not self.tui:
            os.write(1, b"\r\x1b[2K" + PROMPT + text.encode())
            return
        rows = os.get_terminal_size(1).lines
        screen = "\x1b[?25l\x1b[H\x1b[2J"
        for index, line in enumerate(self.transcript[-(rows - 3) :]):
            screen += f"\x1b[{index + 1};1H{line}"
        if self.menu:
            screen += f"\x1b[{rows - 2};1H? Allow this?  1. Yes  2. No"
        if self.spinner:
            frame = SPINNER[self.ticks % len(SPINNER)]
            screen += f"\x1b[{rows - 2};1H{frame} working {self.ticks}"
        screen += f"\x1b[{rows - 1};1H│ > {text}\x1b[{rows};1H└─ enter to send\x1b[H"
        os.write(1, screen.encode())

    def submit(self) -> None:
        if not self.buffer:
            self.record({"event": "empty-enter"})
            return
        self.submissions += 1
        self.echo_due = None
        data = bytes(self.buffer)
        self.record({"event": "submit", "data": base64.b64encode(data).decode(), "pastes": self.pastes})
        self.buffer.clear()
        self.pastes = 0
        if self.tui:
            self.transcript.append(f"[received #{self.submissions}: {len(data)} bytes]")
        else:
            os.write(1, f"\r\n[received #{self.submissions}: {len(data)} bytes]\r\n".encode())

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        self.pending = b""
        i = 0
        while i < len(data):
            if self.in_paste:
                end = data.find(PASTE_END, i)
                if end < 0:
                    keep = _partial_suffix(data, PASTE_END)
                    self.buffer += data[i : len(data) - keep]
                    self.pending = data[len(data) - keep :]
                    return
                self.buffer += data[i:end]
                i = end + len(PASTE_END)
                self.in_paste = False
                self.pastes += 1
                self.swallow = self.swallow_enters
                continue
            if data.startswith(PASTE_START, i):
                self.in_paste = True
                i += len(PASTE_START)
                continue
            if data[i] == 0x1B and PASTE_START.startswith(data[i:]):
                self.pending = data[i:]
                return
            byte = data[i]
            i += 1
            if self.menu and byte in b"12":
                self.menu = False
                self.buffer.clear()
                self.submissions += 1
                self.record({"event": "submit", "data": base64.b64encode(bytes([byte])).decode(), "pastes": 0})
                self.transcript.append(f"[chose {chr(byte)}]")
                continue
            if byte == 0x0D:
                if self.swallow > 0:
                    self.swallow -= 1
                    self.record({"event": "swallowed-enter"})
                else:
                    self.submit()
            elif byte == 0x15:
                self.buffer.clear()
            elif byte == 0x7F:
                if self.buffer:
                    del self.buffer[-1]
                    while self.buffer and self.buffer[-1] & 0xC0 == 0x80:
                        del self.buffer[-1]
            elif byte == 0x03:
                raise SystemExit(0)
            else:
                self.buffer.append(byte)


def _partial_suffix(data: bytes, marker: bytes) -> int:
    """Length of the longest end of ``data`` that is a proper beginning of ``marker``."""
    for size in range(min(len(marker) - 1, len(data)), 0, -1):
        if marker.startswith(data[-size:]):
            return size
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("record")
    parser.add_argument("--swallow-enters", type=int, default=0)
    parser.add_argument("--tui", action="store_true")
    parser.add_argument("--spinner", action="store_true")
    parser.add_argument("--late-echo", type=float, default=0.0)
    parser.add_argument("--menu", action="store_true")
    args = parser.parse_args()
    agent = EchoAgent(args.record, args.swallow_enters, args.tui, args.spinner, args.late_echo, args.menu)
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        os.write(1, b"\x1b[?2004h")
        if args.tui:
            agent.render()
        else:
            os.write(1, b"echo agent ready\r\n" + PROMPT)
        while True:
            if agent.echo_due is not None:
                if not select.select([fd], [], [], max(0.0, agent.echo_due - time.monotonic()))[0]:
                    agent.echo_due = None  # the typed text shows at last
                    agent.render()
                    continue
            elif agent.spinner and not select.select([fd], [], [], 0.04)[0]:
                agent.ticks += 1
                agent.render()
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            agent.raw.write(chunk)
            agent.raw.flush()
            agent.ticks += 1  # the status row also moves on every keystroke, as busy TUIs redraw
            if agent.late_echo and agent.echo_due is None and agent.submissions == 0:
                agent.shown = bytes(agent.buffer)
                agent.echo_due = time.monotonic() + agent.late_echo
                agent.transcript[0] = "echo agent ready (history loaded)"
            agent.feed(chunk)
            agent.render()
    finally:
        os.write(1, b"\x1b[?2004l\x1b[?25h")
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


if __name__ == "__main__":
    main()
