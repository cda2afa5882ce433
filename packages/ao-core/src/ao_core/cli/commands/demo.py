"""``ao demo``: the whole loop, end to end, on a scratch repository, with a real agent CLI."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

CLAUDE_CODE_PACKAGE = "@anthropic-ai/claude-code@2.1.197"
"""The pinned Claude Code the demo runs (npm)."""

DESCRIPTION = f"""\
Watch ao do its main job on this machine, without GitHub, a model API or any key: a scratch repository
whose origin is a local fake of GitHub, issue #1 filed there, and Claude Code (the real CLI, in tmux)
driven by a scripted model. ao spawns the agent in a worktree; the agent commits, pushes and opens a pull
request; CI fails and ao tells the agent; it fixes; a reviewer requests changes with two comments and ao
sends them with file:line; the agent fixes; the reviewer approves; ao merges, cleans up the worktree and
says everything is done. Each step is printed as it happens, then a summary.

Needs tmux and Claude Code ({CLAUDE_CODE_PACKAGE}) on PATH, and the ao-testing package
(the fakes). scripts/demo in a checkout of ao installs what is missing and runs this command.

  ao demo                    run in a temporary directory, removed afterwards
  ao demo --keep             keep it: the repository, the fake's bare repository, ao's state and logs
  ao demo --workdir DIR      run in DIR (new or empty), and keep it"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="watch the whole loop on a scratch repository: issue → agent → PR → CI → review → merge",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory afterwards")
    parser.add_argument(
        "--workdir", type=Path, metavar="DIR", help="run in DIR (new or empty; kept) instead of a temporary directory"
    )
    parser.set_defaults(handler=run)


def _missing_tools() -> list[str]:
    import shutil

    problems: list[str] = []
    if shutil.which("tmux") is None:
        problems.append(
            "tmux is not on PATH: install it with 'apt-get install tmux' (Debian/Ubuntu) or 'brew install tmux'"
        )
    if shutil.which("claude") is None:
        problems.append(
            "Claude Code ('claude') is not on PATH: install the pinned version with\n"
            f"    npm install --prefix ~/.ao-agents --no-audit --no-fund {CLAUDE_CODE_PACKAGE}\n"
            '    export PATH="$HOME/.ao-agents/node_modules/.bin:$PATH"\n'
            "  (scripts/demo in a checkout of ao does this for you)"
        )
    return problems


def run(args: argparse.Namespace) -> int:
    import logging
    import shutil
    import sys
    import tempfile

    from ao_core.errors import AoError

    try:
        from ao_testing import demo
    except ImportError as exc:
        missing = [f"ao demo needs the ao-testing package (the local fakes): pip install ao-testing ({exc})"]
        raise AoError("cannot run the demo:\n- " + "\n- ".join(missing + _missing_tools())) from exc
    problems = demo.check_prerequisites()
    if problems:
        raise AoError("cannot run the demo:\n- " + "\n- ".join(problems))

    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger("ao").addHandler(handler)
        logging.getLogger("ao").setLevel(logging.INFO)

    temporary = args.workdir is None
    if not temporary:
        workdir = args.workdir.expanduser().resolve()
        if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
            raise AoError(f"--workdir {workdir} is not an empty directory; give a new or empty one")
    else:
        workdir = Path(tempfile.mkdtemp(prefix="ao-demo-"))
    keep = args.keep or not temporary

    def out(line: str) -> None:
        print(line, flush=True)

    print(f"ao demo in {workdir}\n", flush=True)
    try:
        from ao_core.cli._context import run_async

        result = run_async(lambda: demo.run_demo(workdir, out=out))
        print("\n" + result.summary())
    finally:
        if keep:
            print(f"\nkept {workdir} (repository, fake GitHub repositories, ao state, model requests)", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0
