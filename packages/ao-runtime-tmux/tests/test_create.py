from __future__ import annotations

import json
import shlex
import stat
import sys
from pathlib import Path

import pytest
from ao_core.errors import RuntimeFailedError
from ao_core.models import RuntimeCreateConfig
from ao_runtime_tmux import TmuxRuntime, TmuxRuntimeConfig
from tmux_helpers import DUMP_ENV, python_command, tmux, wait_for_file, wait_for_output

pytestmark = [pytest.mark.integration, pytest.mark.anyio, pytest.mark.timeout(60)]

TRICKY = 'it\'s "quoted" $(rm -rf /tmp/nothing) `uname` $HOME \\ back\\slash % ; & | < > * ? [a] {b} # é 日本 🎉'


async def test_long_launch_command_runs_exactly(runtime: TmuxRuntime, workspace: Path) -> None:
    payload = "".join(f"{i:05d} {TRICKY}\n" for i in range(120))
    out = workspace / "payload.txt"
    target = shlex.quote(str(out))
    command = f"printf '%s' {shlex.quote(payload)} > {target}.tmp && mv {target}.tmp {target}"
    assert len(command) > 10_000

    handle = await runtime.create(
        RuntimeCreateConfig(session_id="long", workspace_path=str(workspace), launch_command=command)
    )

    await wait_for_file(out)
    assert out.read_text(encoding="utf-8") == payload
    assert handle.id == "long"
    assert handle.runtime_name == "tmux"


async def test_environment_values_arrive_exactly(runtime: TmuxRuntime, workspace: Path) -> None:
    environment = {
        "AO_PLAIN": "value",
        "AO_SPACES": "a b  c ",
        "AO_QUOTES": "it's \"double\" and 'single'",
        "AO_SHELL": "$HOME $(id) `id` ${X:-y} \\n",
        "AO_FORMAT": "#{session_name} ## #(echo hi) %1",
        "AO_SEMICOLON": "ends with;",
        "AO_ESCAPED_SEMICOLON": "ends with\\;",
        "AO_NEWLINE": "line1\nline2",
        "AO_EQUALS": "a=b=c",
        "AO_EMPTY": "",
        "AO_UNICODE": "é 日本 🎉",
        "AO_TAB": "a\tb",
    }
    dump = workspace / "env.json"
    await runtime.create(
        RuntimeCreateConfig(
            session_id="env",
            workspace_path=str(workspace),
            launch_command=python_command(DUMP_ENV, str(dump)),
            environment=environment,
        )
    )

    await wait_for_file(dump)
    seen = json.loads(dump.read_text(encoding="utf-8"))
    assert {key: seen["env"].get(key) for key in environment} == environment
    assert Path(seen["cwd"]).resolve() == workspace.resolve()


async def test_workspace_with_special_characters_is_the_working_directory(runtime: TmuxRuntime, tmp_path: Path) -> None:
    workspace = tmp_path / "my ws #{session_name} it's ; $(x)"
    workspace.mkdir()
    dump = tmp_path / "cwd.json"

    await runtime.create(
        RuntimeCreateConfig(
            session_id="cwd", workspace_path=str(workspace), launch_command=python_command(DUMP_ENV, str(dump))
        )
    )

    await wait_for_file(dump)
    assert Path(json.loads(dump.read_text(encoding="utf-8"))["cwd"]).resolve() == workspace.resolve()


async def test_history_limit_and_window_size_apply_to_the_agent_pane(socket_name: str, workspace: Path) -> None:
    runtime = TmuxRuntime(
        TmuxRuntimeConfig(socket_name=socket_name, history_limit=1234, window_width=120, window_height=40)
    )

    handle = await runtime.create(
        RuntimeCreateConfig(session_id="sized", workspace_path=str(workspace), launch_command="exec sleep 60")
    )

    shown = tmux(
        socket_name,
        "display-message",
        "-p",
        "-t",
        handle.data["pane_id"],
        "#{history_limit} #{window_width}x#{window_height}",
    )
    assert shown.stdout.split() == ["1234", "120x40"]
    windows = tmux(socket_name, "list-windows", "-t", "=sized", "-F", "#{pane_id}").stdout.split()
    assert windows == [handle.data["pane_id"]]  # the placeholder window is gone


async def test_handle_data_describes_the_session(
    runtime: TmuxRuntime, socket_name: str, workspace: Path, tmp_path: Path
) -> None:
    session_dir = tmp_path / "session-dir"

    handle = await runtime.create(
        RuntimeCreateConfig(
            session_id="data",
            workspace_path=str(workspace),
            launch_command="exec sleep 60",
            session_dir=str(session_dir),
        )
    )

    data = handle.data
    assert data["socket_name"] == socket_name
    assert data["workspace_path"] == str(workspace)
    assert data["created_at"].endswith("+00:00")
    assert data["pane_id"].startswith("%")
    assert data["session_id"].startswith("$")
    assert data["temp_dir"] is None
    script = Path(data["script_path"])
    assert script.parent == session_dir
    assert stat.S_IMODE(script.stat().st_mode) == 0o700
    assert script.read_text(encoding="utf-8").endswith("\nexec sleep 60\n")
    json.dumps(data)  # plain JSON: the store persists it

    await runtime.destroy(handle)
    assert not script.exists()
    assert session_dir.is_dir()  # the kernel's directory stays


async def test_script_without_session_dir_lives_in_a_private_directory_removed_on_destroy(
    runtime: TmuxRuntime, workspace: Path, private_tempdir: Path
) -> None:
    handle = await runtime.create(
        RuntimeCreateConfig(session_id="tmpdir", workspace_path=str(workspace), launch_command="exec sleep 60")
    )

    temp_dir = Path(handle.data["temp_dir"])
    assert temp_dir.parent == private_tempdir
    assert Path(handle.data["script_path"]).parent == temp_dir
    assert stat.S_IMODE(temp_dir.stat().st_mode) == 0o700

    await runtime.destroy(handle)
    assert not temp_dir.exists()


async def test_first_output_is_visible(runtime: TmuxRuntime, workspace: Path) -> None:
    handle = await runtime.create(
        RuntimeCreateConfig(
            session_id="hello", workspace_path=str(workspace), launch_command="echo hello from the agent; exec sleep 60"
        )
    )

    assert "hello from the agent" in await wait_for_output(runtime, handle, "hello from the agent")


@pytest.mark.parametrize("name", ["bad name", "a.b", "x:y", "", "semi;colon", "ünï", "trailing\n"])
async def test_invalid_session_name_is_refused(
    runtime: TmuxRuntime, socket_name: str, workspace: Path, name: str
) -> None:
    with pytest.raises(RuntimeFailedError, match="invalid tmux session name"):
        await runtime.create(
            RuntimeCreateConfig(session_id=name, workspace_path=str(workspace), launch_command="sleep 1")
        )

    assert await runtime.alive_sessions(socket_name) == set()


async def test_missing_workspace_is_refused(runtime: TmuxRuntime, tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailedError, match="not an existing directory"):
        await runtime.create(
            RuntimeCreateConfig(session_id="nows", workspace_path=str(tmp_path / "missing"), launch_command="sleep 1")
        )


async def test_invalid_environment_name_is_refused(runtime: TmuxRuntime, workspace: Path) -> None:
    with pytest.raises(RuntimeFailedError, match="'BAD-NAME'"):
        await runtime.create(
            RuntimeCreateConfig(
                session_id="env", workspace_path=str(workspace), launch_command="sleep 1", environment={"BAD-NAME": "x"}
            )
        )


async def test_unwritable_session_dir_is_reported(runtime: TmuxRuntime, socket_name: str, workspace: Path) -> None:
    not_a_dir = workspace / "file"
    not_a_dir.write_text("")

    with pytest.raises(RuntimeFailedError, match="cannot write the launch script"):
        await runtime.create(
            RuntimeCreateConfig(
                session_id="nodir", workspace_path=str(workspace), launch_command="sleep 1", session_dir=str(not_a_dir)
            )
        )

    assert await runtime.alive_sessions(socket_name) == set()


async def test_empty_launch_command_is_refused(runtime: TmuxRuntime, workspace: Path) -> None:
    with pytest.raises(RuntimeFailedError, match="launch command"):
        await runtime.create(
            RuntimeCreateConfig(session_id="empty", workspace_path=str(workspace), launch_command="  \n")
        )


async def test_duplicate_name_fails_and_leaves_the_existing_session_alone(
    runtime: TmuxRuntime, workspace: Path, tmp_path: Path
) -> None:
    session_dir = tmp_path / "dir"
    first = await runtime.create(
        RuntimeCreateConfig(
            session_id="dup",
            workspace_path=str(workspace),
            launch_command="echo first; exec sleep 60",
            session_dir=str(session_dir),
        )
    )
    await wait_for_output(runtime, first, "first")

    with pytest.raises(RuntimeFailedError, match="duplicate session: dup"):
        await runtime.create(
            RuntimeCreateConfig(
                session_id="dup",
                workspace_path=str(workspace),
                launch_command="echo second",
                session_dir=str(session_dir),
            )
        )

    assert await runtime.is_alive(first)
    assert "first" in await runtime.get_output(first)
    assert sorted(session_dir.iterdir()) == [Path(first.data["script_path"])]


async def test_failure_after_the_session_was_made_removes_it(socket_name: str, workspace: Path, tmp_path: Path) -> None:
    # A tmux wrapper that sends the window step to a session that does not exist: new-session succeeds,
    # then the same tmux call fails, as any later step could.
    wrapper = tmp_path / "tmux-wrapper"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import os, shutil, sys\n"
        "args = ['=nosuch:^' if a.endswith(':^') else a for a in sys.argv[1:]]\n"
        "os.execv(shutil.which('tmux'), ['tmux', *args])\n"
    )
    wrapper.chmod(0o755)
    runtime = TmuxRuntime(TmuxRuntimeConfig(socket_name=socket_name, tmux_path=str(wrapper)))
    session_dir = tmp_path / "dir"

    with pytest.raises(RuntimeFailedError, match="can't find session: nosuch"):
        await runtime.create(
            RuntimeCreateConfig(
                session_id="half",
                workspace_path=str(workspace),
                launch_command="sleep 60",
                session_dir=str(session_dir),
            )
        )

    assert await runtime.alive_sessions(socket_name) == set()
    assert list(session_dir.iterdir()) == []


async def test_create_that_times_out_leaves_nothing_behind(socket_name: str, workspace: Path, tmp_path: Path) -> None:
    # A tmux wrapper whose new-session call does its work, then hangs past the runtime's command timeout.
    wrapper = tmp_path / "slow-tmux"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import shutil, subprocess, sys, time\n"
        "code = subprocess.run([shutil.which('tmux'), *sys.argv[1:]]).returncode\n"
        "if 'new-session' in sys.argv: time.sleep(5)\n"
        "sys.exit(code)\n"
    )
    wrapper.chmod(0o755)
    runtime = TmuxRuntime(TmuxRuntimeConfig(socket_name=socket_name, tmux_path=str(wrapper), command_timeout_ms=1000))
    session_dir = tmp_path / "dir"

    with pytest.raises(RuntimeFailedError, match="did not answer"):
        await runtime.create(
            RuntimeCreateConfig(
                session_id="slow",
                workspace_path=str(workspace),
                launch_command="sleep 60",
                session_dir=str(session_dir),
            )
        )

    assert await runtime.alive_sessions(socket_name) == set()
    assert list(session_dir.iterdir()) == []


async def test_missing_tmux_is_reported(workspace: Path, tmp_path: Path) -> None:
    runtime = TmuxRuntime(TmuxRuntimeConfig(socket_name="unused", tmux_path=str(tmp_path / "no-tmux")))

    with pytest.raises(RuntimeFailedError, match="cannot run tmux"):
        await runtime.create(
            RuntimeCreateConfig(session_id="x", workspace_path=str(workspace), launch_command="sleep 1")
        )
