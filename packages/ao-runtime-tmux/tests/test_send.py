from __future__ import annotations

import shlex
from pathlib import Path

import anyio
import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.models import RuntimeCreateConfig
from ao_core.testing import require_executable
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig
from tmux_helpers import EchoSession, start_echo_agent, tmux, wait_for_file, wait_for_output, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(60)]

PASTE_START = b"\x1b[200~"
STYLES = ["line", "tui", "tui-spinner"]
"""Echo agent styles: a prompt line, a full-screen input box, the same with a spinner."""


def long_message(size: int = 5000) -> str:
    line = (
        'Fix it\'s "broken" build: $(rm -rf /tmp/nothing) `uname -a` \ttab\\back\\slash 100% ; done; '
        "café 日本語 🎉🚀 {braces} [brackets] #{session_name} ~ & | > <\n"
    )
    text = ""
    index = 0
    while len(text) < size:
        text += f"{index:03d} {line}"
        index += 1
    return text[:size]


@pytest.mark.parametrize("style", STYLES)
async def test_long_multiline_message_arrives_once_byte_for_byte(
    runtime: TmuxRuntime, workspace: Path, style: str
) -> None:
    agent = await start_echo_agent(runtime, workspace, style=style)
    message = long_message()
    assert len(message) == 5000
    assert message.count("\n") > 20

    await runtime.send_message(agent.handle, message)

    assert agent.submissions() == [message.encode("utf-8")]
    assert agent.count("empty-enter") == 0
    assert agent.events()[-1]["pastes"] == 1  # one bracketed paste
    assert agent.raw().count(message.encode("utf-8")) == 1
    assert "[received #1: " in await runtime.get_output(agent.handle)


@pytest.mark.parametrize(
    "message",
    [
        "say 'hi' and \"bye\" $(rm -rf /tmp/nothing) `id` 100% \\n é 日本 🎉",
        "-n starts with a dash",
        "ends with a semicolon;",
        "ends with an escaped semicolon\\;",
        ";",
        "#{session_name} %1 ~",
        "x" * 200,
    ],
)
@pytest.mark.parametrize("style", STYLES)
async def test_short_message_is_typed_as_literal_keys(
    runtime: TmuxRuntime, workspace: Path, message: str, style: str
) -> None:
    agent = await start_echo_agent(runtime, workspace, style=style)

    await runtime.send_message(agent.handle, message)

    assert agent.submissions() == [message.encode("utf-8")]
    assert agent.events()[-1]["pastes"] == 0
    assert PASTE_START not in agent.raw()


@pytest.mark.parametrize("style", STYLES)
async def test_messages_in_a_row_each_arrive_once(runtime: TmuxRuntime, workspace: Path, style: str) -> None:
    agent = await start_echo_agent(runtime, workspace, style=style)
    messages = ["first", "second\nwith a second line", "third 'one'", long_message(300), "fifth"]

    for message in messages:
        await runtime.send_message(agent.handle, message)

    assert agent.submissions() == [message.encode("utf-8") for message in messages]


async def test_concurrent_messages_to_one_session_each_arrive_whole(runtime: TmuxRuntime, workspace: Path) -> None:
    agent = await start_echo_agent(runtime, workspace)
    messages = ["first concurrent message", "second\nconcurrent message", long_message(400)]

    async with anyio.create_task_group() as group:
        for message in messages:
            group.start_soon(runtime.send_message, agent.handle, message)

    assert sorted(agent.submissions()) == sorted(message.encode("utf-8") for message in messages)


async def test_single_line_with_a_tab_is_pasted(runtime: TmuxRuntime, workspace: Path) -> None:
    # A typed tab would be completion in most agents; pasted, it is text.
    agent = await start_echo_agent(runtime, workspace)

    await runtime.send_message(agent.handle, "a\tb")

    assert agent.submissions() == [b"a\tb"]
    assert agent.events()[-1]["pastes"] == 1


async def test_half_typed_input_is_cleared_first(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    agent = await start_echo_agent(runtime, workspace)
    tmux(socket_name, "send-keys", "-t", agent.handle.data["pane_id"], "-l", "half typed garbage")
    await wait_for_output(runtime, agent.handle, "half typed garbage")

    await runtime.send_message(agent.handle, "the real message")

    assert agent.submissions() == [b"the real message"]


@pytest.mark.parametrize("style", STYLES)
async def test_swallowed_enter_is_pressed_again_without_retyping(
    runtime: TmuxRuntime, workspace: Path, style: str
) -> None:
    agent = await start_echo_agent(runtime, workspace, swallow_enters=1, style=style)
    message = long_message(1200)

    await runtime.send_message(agent.handle, message)

    assert agent.submissions() == [message.encode("utf-8")]
    assert agent.count("swallowed-enter") == 1
    assert agent.raw().count(PASTE_START) == 1


@pytest.mark.parametrize("style", ["tui", "tui-spinner"])
async def test_text_echoed_late_after_another_redraw_is_confirmed(
    runtime: TmuxRuntime, workspace: Path, style: str
) -> None:
    # Right after resuming, OpenCode redraws its transcript first and shows typed text a moment later:
    # the input line must be learnt from where the text shows, not from the first row that changed.
    agent = await start_echo_agent(runtime, workspace, style=style, late_echo=0.3)

    await runtime.send_message(agent.handle, "are you back?")

    assert agent.submissions() == [b"are you back?"]
    assert agent.raw().count(b"are you back?") == 1


async def test_a_menu_choice_taken_without_echo_or_enter_is_confirmed(runtime: TmuxRuntime, workspace: Path) -> None:
    # Claude Code's permission prompt takes "1" at once; the Enter after it meets an empty input and changes
    # nothing, so the change the key itself made is the evidence.
    agent = await start_echo_agent(runtime, workspace, style="tui", menu=True)

    await runtime.send_message(agent.handle, "1")

    assert agent.submissions() == [b"1"]


@pytest.mark.parametrize("style", STYLES)
async def test_unconfirmed_message_raises_after_bounded_enters_and_is_typed_once(
    socket_name: str, workspace: Path, style: str
) -> None:
    runtime = TmuxRuntime(TmuxRuntimeConfig(socket_name=socket_name, send_confirm_timeout_ms=600, enter_retries=2))
    agent = await start_echo_agent(runtime, workspace, swallow_enters=100, style=style)

    with pytest.raises(RuntimeFailedError, match="after 3 Enter presses"):
        await runtime.send_message(agent.handle, "line one\nline two")

    assert agent.submissions() == []
    assert agent.count("swallowed-enter") == 3
    assert agent.raw().count(b"line one\nline two") == 1


async def test_message_reaches_the_agent_when_a_human_opened_another_window(
    runtime: TmuxRuntime, socket_name: str, workspace: Path
) -> None:
    agent = await start_echo_agent(runtime, workspace)
    tmux(socket_name, "new-window", "-t", "=echo:", "cat")  # now the session's current window

    await runtime.send_message(agent.handle, "still for the agent")

    assert agent.submissions() == [b"still for the agent"]


async def test_copy_mode_is_left_before_typing(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    agent = await start_echo_agent(runtime, workspace)
    pane = agent.handle.data["pane_id"]
    tmux(socket_name, "copy-mode", "-t", pane)
    assert tmux(socket_name, "display-message", "-p", "-t", pane, "#{pane_in_mode}").stdout.strip() == "1"

    await runtime.send_message(agent.handle, "after scrolling back")

    assert agent.submissions() == [b"after scrolling back"]


async def test_bracketed_paste_markers_in_the_text_are_removed(runtime: TmuxRuntime, workspace: Path) -> None:
    agent = await start_echo_agent(runtime, workspace)

    await runtime.send_message(agent.handle, "before\x1b[201~\nafter\x1b[200~ end")

    assert agent.submissions() == [b"before\nafter end"]
    assert agent.count("empty-enter") == 0


async def test_message_to_a_line_based_program_is_confirmed(runtime: TmuxRuntime, workspace: Path) -> None:
    # A plain shell reader: the typed line stays on screen and the cursor moves on.
    out = workspace / "line.txt"
    handle = await runtime.create(
        RuntimeCreateConfig(
            session_id="reader",
            workspace_path=str(workspace),
            launch_command=f'echo ready; IFS= read -r line; printf %s "$line" > {shlex.quote(str(out))}; sleep 60',
        )
    )
    await wait_for_output(runtime, handle, "ready")

    await runtime.send_message(handle, 'it\'s a "plain" $(line) reader')

    async def written() -> bool:
        return out.exists() and out.stat().st_size > 0

    await wait_until(written, "the reader to write its line")
    assert out.read_text(encoding="utf-8") == 'it\'s a "plain" $(line) reader'


async def test_multiline_message_to_bash_readline_runs_once(runtime: TmuxRuntime, workspace: Path) -> None:
    # A real line editor with bracketed paste: the pasted here-document is one input, run once on Enter.
    bash = require_executable("bash")
    out = workspace / "heredoc.txt"
    handle = await runtime.create(
        RuntimeCreateConfig(
            session_id="bash",
            workspace_path=str(workspace),
            launch_command=f"exec {shlex.quote(bash)} --norc --noprofile -i",
            environment={"PS1": "ready$ "},
        )
    )
    await wait_for_output(runtime, handle, "ready$")
    body = 'line 1 it\'s "q" $(x) `y`\n\tline 2 é 日本 🎉\nline 3 ; % \\ end'

    await runtime.send_message(handle, f"cat >> {shlex.quote(str(out))} <<'AO_EOF'\n{body}\nAO_EOF")
    await runtime.send_message(handle, "echo done > done.txt")

    await wait_for_file(workspace / "done.txt")
    assert out.read_text(encoding="utf-8") == body + "\n"


async def test_empty_message_is_refused(runtime: TmuxRuntime, workspace: Path) -> None:
    agent = await start_echo_agent(runtime, workspace)

    with pytest.raises(RuntimeFailedError, match="empty message"):
        await runtime.send_message(agent.handle, "")

    assert agent.raw() == b""


async def test_send_to_a_dead_session_raises(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    agent: EchoSession = await start_echo_agent(runtime, workspace)
    tmux(socket_name, "kill-server")

    with pytest.raises(RuntimeFailedError, match="cannot send a message to tmux session 'echo'"):
        await runtime.send_message(agent.handle, "hello")
