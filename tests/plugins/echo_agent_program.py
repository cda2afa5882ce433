"""A stand-in coding agent for end-to-end tests: it records every message it is sent, byte for byte.

On a terminal it behaves like the real agent TUIs: it enables bracketed paste, treats a pasted block plus
Enter as one message, clears its input on Ctrl-U, and shows an ``echo> `` prompt when it is ready. Each
submitted message is appended to the record file as one JSON line ``{"n": <count>, "text": <message>}``.
Without a terminal (stdin is a pipe) each line is one message.

Usage: python echo_agent_program.py RECORD_FILE [--work-seconds S]
"""

from __future__ import annotations

import json
import os
import sys
import termios
import time
import tty
from pathlib import Path

PROMPT = "echo> "
PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"


def record(path: str, count: int, text: str) -> None:
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"n": count, "text": text}, ensure_ascii=False) + "\n")


def run_tty(path: str, work_seconds: float) -> None:
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    out = sys.stdout
    out.write("\x1b[?2004h")  # ask the terminal for bracketed paste, as agent TUIs do
    out.write("echo agent ready\r\n" + PROMPT)
    out.flush()
    buffer = bytearray()
    pending = b""
    in_paste = False
    count = 0
    try:
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            data = pending + chunk
            pending = b""
            i = 0
            while i < len(data):
                if data.startswith(PASTE_START, i):
                    in_paste, i = True, i + len(PASTE_START)
                    continue
                if data.startswith(PASTE_END, i):
                    in_paste, i = False, i + len(PASTE_END)
                    continue
                if data[i] == 0x1B and len(data) - i < len(PASTE_START):
                    pending = bytes(data[i:])  # a marker split across reads
                    break
                byte = data[i]
                i += 1
                if in_paste:
                    buffer.append(byte)
                    continue
                if byte == 0x15:  # Ctrl-U: clear the input line
                    buffer.clear()
                    out.write("\r\x1b[K" + PROMPT)
                elif byte == 0x03:  # Ctrl-C
                    return
                elif byte == 0x0D:  # Enter submits
                    count += 1
                    text = buffer.decode("utf-8", errors="surrogateescape")
                    record(path, count, text)
                    buffer.clear()
                    out.write(f"\r\nreceived message {count} ({len(text)} chars)\r\n")
                    if work_seconds:
                        out.write("working...\r\n")
                        out.flush()
                        time.sleep(work_seconds)
                    out.write(PROMPT)
                else:
                    buffer.append(byte)
                    if 0x20 <= byte < 0x7F:
                        out.write(chr(byte))
                out.flush()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run_pipe(path: str) -> None:
    print("echo agent ready\n" + PROMPT, flush=True)
    for count, line in enumerate(sys.stdin, start=1):
        record(path, count, line.rstrip("\n"))
        print(f"received message {count} ({len(line.rstrip())} chars)\n{PROMPT}", flush=True)


def main() -> None:
    path = sys.argv[1]
    work_seconds = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--work-seconds" else 0.0
    if sys.stdin.isatty():
        run_tty(path, work_seconds)
    else:
        run_pipe(path)


if __name__ == "__main__":
    main()
