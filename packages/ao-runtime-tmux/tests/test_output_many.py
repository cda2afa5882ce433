from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from unittest import mock

import pytest
from ao_core.interfaces import SupportsOutputMany
from ao_core.models import RuntimeCreateConfig, RuntimeHandle
from ao_runtime_tmux import TmuxRuntime
from ao_runtime_tmux._tmux import TmuxClient, TmuxResult
from tmux_helpers import tmux, wait_for_output

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(60)]


async def start_printing(runtime: TmuxRuntime, workspace: Path, name: str, rows: int) -> RuntimeHandle:
    """A session that prints ``rows`` numbered lines naming itself (some with trailing blanks), then waits."""
    command = f"for i in $(seq 1 {rows}); do printf '{name} row %s   \\n' \"$i\"; done; printf '\\n\\n'; exec sleep 60"
    handle = await runtime.create(
        RuntimeCreateConfig(session_id=name, workspace_path=str(workspace), launch_command=command)
    )
    await wait_for_output(runtime, handle, f"{name} row {rows}")
    return handle


def counting_run(calls: list[int]) -> Callable[..., Awaitable[TmuxResult]]:
    """``TmuxClient.run`` that also records how many tmux commands each call chains."""
    real = TmuxClient.run

    async def run(self: TmuxClient, *commands: Sequence[str], input: bytes | None = None) -> TmuxResult:
        calls.append(len(commands))
        return await real(self, *commands, input=input)

    return run


async def test_twenty_sessions_read_in_one_call_equal_their_own_output(runtime: TmuxRuntime, workspace: Path) -> None:
    handles = [await start_printing(runtime, workspace, f"out-{i}", 3 + i) for i in range(20)]
    assert isinstance(runtime, SupportsOutputMany)
    single = {handle.id: await runtime.get_output(handle, 5) for handle in handles}

    calls: list[int] = []
    with mock.patch.object(TmuxClient, "run", counting_run(calls)):  # observed at the process boundary
        many = await runtime.get_output_many(handles, 5)

    assert many == single
    assert calls == [60]  # one tmux call: a start line, the capture and an end line per session
    assert many["out-7"].split("\n")[-1] == "out-7 row 10"  # trailing blanks and blank lines trimmed
    assert len(many["out-19"].split("\n")) == 5
    assert len({*many.values()}) == 20
    assert await runtime.get_output_many(handles, 0) == {handle.id: "" for handle in handles}
    assert await runtime.get_output_many([]) == {}


async def test_many_sessions_are_read_in_calls_tmux_accepts(runtime: TmuxRuntime, workspace: Path) -> None:
    # tmux rejects a command line of more than 16 KiB ("command too long"): 150 sessions need several calls.
    handles = [
        await runtime.create(
            RuntimeCreateConfig(
                session_id=f"wide-{i}", workspace_path=str(workspace), launch_command=f"echo wide {i}; exec sleep 60"
            )
        )
        for i in range(150)
    ]
    for handle in handles:
        await wait_for_output(runtime, handle, f"wide {handle.id.removeprefix('wide-')}")

    calls: list[int] = []
    with mock.patch.object(TmuxClient, "run", counting_run(calls)):
        many = await runtime.get_output_many(handles, 30)

    assert many == {handle.id: f"wide {i}" for i, handle in enumerate(handles)}
    assert 1 < len(calls) < 10
    assert sum(calls) == 3 * 150


async def test_a_gone_session_reads_empty_and_the_others_are_still_read(
    runtime: TmuxRuntime, socket_name: str, workspace: Path
) -> None:
    handles = [await start_printing(runtime, workspace, f"mix-{i}", 2) for i in range(6)]
    await runtime.destroy(handles[0])
    await runtime.destroy(handles[3])
    tmux(socket_name, "kill-session", "-t", "=mix-5")  # the last one, ended from outside
    stale = RuntimeHandle(id="never", runtime_name="tmux", data={"pane_id": "%999"})
    elsewhere = RuntimeHandle(id="mix-1", runtime_name="tmux", data={"socket_name": f"{socket_name}-none"})

    many = await runtime.get_output_many([*handles, stale])
    alone = await runtime.get_output_many([elsewhere])

    assert many == {
        "mix-0": "",
        "mix-1": "mix-1 row 1\nmix-1 row 2",
        "mix-2": "mix-2 row 1\nmix-2 row 2",
        "mix-3": "",
        "mix-4": "mix-4 row 1\nmix-4 row 2",
        "mix-5": "",
        "never": "",
    }
    assert alone == {"mix-1": ""}


async def test_a_pane_id_now_owned_by_another_session_reads_empty(runtime: TmuxRuntime, workspace: Path) -> None:
    owner = await start_printing(runtime, workspace, "owner", 1)
    borrowed = RuntimeHandle(id="borrower", runtime_name="tmux", data=dict(owner.data))

    many = await runtime.get_output_many([borrowed, owner])

    assert many == {"borrower": "", "owner": "owner row 1"}
