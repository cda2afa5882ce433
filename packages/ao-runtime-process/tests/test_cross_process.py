"""A session outlives the process that created it and is driven by other, separate processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ao_core.models import RuntimeHandle
from ao_core.testing import wait_until
from ao_runtime_process import ProcessRuntime

pytestmark = pytest.mark.timeout(60)

_PRELUDE = """
import json, sys, anyio
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_runtime_process import ProcessRuntime, ProcessRuntimeConfig
args = json.loads(sys.argv[1])
runtime = ProcessRuntime(ProcessRuntimeConfig(baseDir=args["base_dir"], gracePeriodS=2))
"""

CREATE = (
    _PRELUDE
    + """
async def main():
    handle = await runtime.create(RuntimeCreateConfig(
        session_id=args["session_id"], workspace_path=args["workspace"], launch_command=args["command"]))
    print(handle.model_dump_json())
anyio.run(main)
"""
)

SEND = (
    _PRELUDE
    + """
async def main():
    await runtime.send_message(RuntimeHandle.model_validate_json(args["handle"]), args["message"])
anyio.run(main)
"""
)

READ_AND_DESTROY = (
    _PRELUDE
    + """
async def main():
    handle = RuntimeHandle.model_validate_json(args["handle"])
    output = ""
    with anyio.move_on_after(10):
        while args["message"] not in output:
            output = await runtime.get_output(handle, 20)
            await anyio.sleep(0.02)
    await runtime.destroy(handle)
    print(json.dumps({"output": output, "alive": await runtime.is_alive(handle)}))
anyio.run(main)
"""
)


def _run(script: str, env: dict[str, str] | None = None, **args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done


def _create_in_another_process(**args: str) -> tuple[int, str]:
    """Run CREATE in a new Python process until it exits; return its pid and its output (the handle)."""
    creator = subprocess.Popen(
        [sys.executable, "-c", CREATE, json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    stdout, stderr = creator.communicate(timeout=30)
    assert creator.returncode == 0, stderr
    return creator.pid, stdout


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), read independently of the code under test."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _running_in_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


@pytest.mark.anyio
async def test_session_is_driven_by_other_processes_after_its_creator_exited(
    runtime: ProcessRuntime, base_dir: Path, workspace: Path
) -> None:
    command = 'sleep 1000 & echo "grandchild=$!"; exec cat'
    creator_pid, stdout = _create_in_another_process(
        base_dir=str(base_dir), session_id="cross-1", workspace=str(workspace), command=command
    )
    handle = RuntimeHandle.model_validate_json(stdout)
    pid, pgid = handle.data["pid"], handle.data["pgid"]
    try:
        # The creator has exited; the session runs on, reparented away from both the creator and us.
        assert await runtime.is_alive(handle)
        fields = _stat(pid)
        assert fields is not None
        assert int(fields[1]) not in {creator_pid, os.getpid()}, "the session is still somebody's child"
        assert int(fields[3]) == pid == pgid, "the session leads its own session and process group"
        await wait_until(lambda: "grandchild=" in Path(handle.data["log"]).read_text(), within=10)
        match = re.search(r"grandchild=(\d+)", Path(handle.data["log"]).read_text())
        assert match is not None
        grandchild = int(match.group(1))
        assert _running(grandchild)

        message = "from another process: 'quotes' $(date) `id` \\ tab\there ünïcødé"
        _run(SEND, base_dir=str(base_dir), handle=handle.model_dump_json(), message=message)
        result = json.loads(
            _run(READ_AND_DESTROY, base_dir=str(base_dir), handle=handle.model_dump_json(), message=message).stdout
        )
        assert message in result["output"].splitlines()
        assert result["alive"] is False
        assert not await runtime.is_alive(handle)
        assert not _running(pid)
        assert not _running(grandchild)
        assert _running_in_group(pgid) == []
        assert not Path(handle.data["fifo"]).exists()
        assert Path(handle.data["log"]).exists(), "the log is kept after destroy"
    finally:
        await runtime.destroy(handle)


@pytest.mark.anyio
async def test_child_gets_exactly_the_creators_environment_and_default_signals(
    runtime: ProcessRuntime, base_dir: Path, workspace: Path
) -> None:
    # Without any locale variable, Python's startup sets LC_CTYPE (PEP 538 coercion). The creator is told
    # not to; the runtime's launcher (a Python process too) must not leak it into the session either, nor
    # the signals Python ignores (SIGPIPE, SIGXFSZ).
    env = {k: v for k, v in os.environ.items() if not (k.startswith("LC_") or k == "LANG")}
    env["PYTHONCOERCECLOCALE"] = "0"
    env["AO_TEST_MARKER"] = "it's $HOME `x`"
    command = (
        'printf "marker=%s\\n" "$AO_TEST_MARKER"; printf "lc=%s\\n" "${LC_CTYPE-unset}"; '
        'grep SigIgn /proc/self/status; printf "cwd=%s\\n" "$(pwd -P)"; exec cat'
    )
    stdout = _run(
        CREATE, env=env, base_dir=str(base_dir), session_id="env-1", workspace=str(workspace), command=command
    ).stdout
    handle = RuntimeHandle.model_validate_json(stdout)
    try:
        log = Path(handle.data["log"])
        await wait_until(lambda: "cwd=" in log.read_text(), within=10)
        lines = log.read_text().splitlines()
        assert "marker=it's $HOME `x`" in lines
        assert "lc=unset" in lines
        assert f"cwd={workspace.resolve()}" in lines
        (sig_ignored,) = [line.split()[1] for line in lines if line.startswith("SigIgn:")]
        assert int(sig_ignored, 16) == 0, f"signals ignored by the session: {sig_ignored}"
    finally:
        await runtime.destroy(handle)
