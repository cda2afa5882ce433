"""Contract suites: one class per plugin slot that a plugin's tests subclass to prove the plugin conforms.

::

    from ao_testing.contracts import RuntimeContract

    class TestTmuxContract(RuntimeContract):
        @pytest.fixture
        def runtime(self) -> Runtime:
            return create(TmuxRuntimeConfig(socket_name="ao-test"))

Each suite's docstring lists the fixtures the subclass provides. The suites are ``@pytest.mark.anyio``
async tests; the ao pytest plugin runs them on asyncio. A check that a plugin's medium cannot honour may
be overridden in the subclass, with a comment saying why.
"""

import pytest

# Assertions in the suites are rewritten by pytest (for readable failures) when registered before import.
pytest.register_assert_rewrite(
    "ao_testing.contracts._agent",
    "ao_testing.contracts._common",
    "ao_testing.contracts._notifier",
    "ao_testing.contracts._runtime",
    "ao_testing.contracts._scm",
    "ao_testing.contracts._terminal",
    "ao_testing.contracts._tracker",
    "ao_testing.contracts._workspace",
)

from ao_testing.contracts._agent import AgentContract  # noqa: E402 - after register_assert_rewrite
from ao_testing.contracts._checks import (  # noqa: E402 - after register_assert_rewrite
    active_shell_syntax,
    branch_name_problem,
    is_valid_branch_name,
)
from ao_testing.contracts._common import (  # noqa: E402 - after register_assert_rewrite
    MethodCall,
    exercise_methods,
    protocol_methods,
)
from ao_testing.contracts._notifier import NotifierContract, Received  # noqa: E402 - after register_assert_rewrite
from ao_testing.contracts._runtime import (  # noqa: E402 - see above
    DEFAULT_LAUNCH_COMMAND,
    DEFAULT_READY_TEXT,
    RuntimeContract,
)
from ao_testing.contracts._scm import PRFactory, SCMBackdoor, SCMContract  # noqa: E402 - see above
from ao_testing.contracts._terminal import TerminalContract  # noqa: E402 - see above
from ao_testing.contracts._tracker import TrackerContract  # noqa: E402 - see above
from ao_testing.contracts._workspace import (  # noqa: E402 - see above
    BranchReader,
    WorkspaceConfigFactory,
    WorkspaceContract,
)

__all__ = [
    "DEFAULT_LAUNCH_COMMAND",
    "DEFAULT_READY_TEXT",
    "AgentContract",
    "BranchReader",
    "MethodCall",
    "NotifierContract",
    "PRFactory",
    "Received",
    "RuntimeContract",
    "SCMBackdoor",
    "SCMContract",
    "TerminalContract",
    "TrackerContract",
    "WorkspaceConfigFactory",
    "WorkspaceContract",
    "active_shell_syntax",
    "branch_name_problem",
    "exercise_methods",
    "is_valid_branch_name",
    "protocol_methods",
]
