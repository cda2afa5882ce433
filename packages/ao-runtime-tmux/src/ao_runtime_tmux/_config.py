"""The plugin's configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["TmuxRuntimeConfig"]


class TmuxRuntimeConfig(BaseModel):
    """Options of the ``tmux`` runtime (YAML keys in camelCase: ``socketName``, ``historyLimit``).

    Attributes:
        socket_name: Run sessions on a dedicated tmux server (``tmux -L <name>``); ``None`` uses the
            default server of the user running ao.
        history_limit: Lines of scrollback each session keeps (tmux ``history-limit``, set before the
            agent starts).
        window_width: Columns of the session's window until a client attaches and resizes it.
        window_height: Rows of the session's window until a client attaches and resizes it.
        send_confirm_timeout_ms: How long ``send_message`` waits in total, over all Enter presses, for the
            agent to show that it took the message.
        enter_retries: How many more times ``send_message`` presses Enter when the typed message still sits
            unsubmitted on the agent's input line (the text itself is never typed twice).
        command_timeout_ms: Timeout of each ``tmux`` command.
        shell: The POSIX shell that runs the launch script (``<shell> <script>``).
        tmux_path: The ``tmux`` executable: a name looked up on ``PATH`` or an absolute path.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    socket_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    history_limit: int = Field(default=10000, ge=0)
    window_width: int = Field(default=200, ge=20, le=10000)
    window_height: int = Field(default=50, ge=5, le=10000)
    send_confirm_timeout_ms: int = Field(default=3000, ge=100)
    enter_retries: int = Field(default=2, ge=0, le=10)
    command_timeout_ms: int = Field(default=5000, ge=100)
    shell: str = Field(default="/bin/sh", min_length=1)
    tmux_path: str = Field(default="tmux", min_length=1)
