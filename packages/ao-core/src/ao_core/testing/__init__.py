"""In-memory fakes of every plugin slot, and helpers for tests of ao and of its plugins.

::

    from ao_core.testing import FakeRuntime, FakeSCM, require_executable

The fakes implement the slot Protocols (and the optional capabilities that make sense), keep their state
in plain attributes that tests read and change, and count every call in ``calls`` (see
:class:`CallRecorder`). The pytest plugin (:mod:`ao_core.testing.pytest_plugin`, loaded automatically)
provides one fixture per fake plus ``ao_state_dir`` and ``git_repo``.

Every fake can also be loaded as a local-path plugin: ``plugins: [{path: <ao_core/testing/plugins/runtime_fake.py>}]``.

Names are imported lazily, so importing this package (the pytest plugin does, in every test run) is cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ao_core.testing._calls import CallRecorder
    from ao_core.testing._fakes_agent import FakeAgent
    from ao_core.testing._fakes_notifier import RecordingNotifier
    from ao_core.testing._fakes_runtime import FakeRuntime, FakeRuntimeSession
    from ao_core.testing._fakes_scm import FakePR, FakeSCM
    from ao_core.testing._fakes_terminal import FakeTerminal
    from ao_core.testing._fakes_tracker import FakeTracker
    from ao_core.testing._fakes_workspace import FakeWorkspace
    from ao_core.testing._helpers import (
        in_ci,
        init_git_repo,
        make_event,
        make_project,
        make_session,
        require_env,
        require_executable,
        run_git,
        wait_until,
    )

_EXPORTS: dict[str, str] = {
    "CallRecorder": "ao_core.testing._calls",
    "FakeAgent": "ao_core.testing._fakes_agent",
    "FakePR": "ao_core.testing._fakes_scm",
    "FakeRuntime": "ao_core.testing._fakes_runtime",
    "FakeRuntimeSession": "ao_core.testing._fakes_runtime",
    "FakeSCM": "ao_core.testing._fakes_scm",
    "FakeTerminal": "ao_core.testing._fakes_terminal",
    "FakeTracker": "ao_core.testing._fakes_tracker",
    "FakeWorkspace": "ao_core.testing._fakes_workspace",
    "RecordingNotifier": "ao_core.testing._fakes_notifier",
    "in_ci": "ao_core.testing._helpers",
    "init_git_repo": "ao_core.testing._helpers",
    "make_event": "ao_core.testing._helpers",
    "make_project": "ao_core.testing._helpers",
    "make_session": "ao_core.testing._helpers",
    "require_env": "ao_core.testing._helpers",
    "require_executable": "ao_core.testing._helpers",
    "run_git": "ao_core.testing._helpers",
    "wait_until": "ao_core.testing._helpers",
}

__all__ = [
    "CallRecorder",
    "FakeAgent",
    "FakePR",
    "FakeRuntime",
    "FakeRuntimeSession",
    "FakeSCM",
    "FakeTerminal",
    "FakeTracker",
    "FakeWorkspace",
    "RecordingNotifier",
    "in_ci",
    "init_git_repo",
    "make_event",
    "make_project",
    "make_session",
    "require_env",
    "require_executable",
    "run_git",
    "wait_until",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ao_core.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
