"""The fake workspace as a plugin module."""

import tempfile

from ao_core.interfaces import PluginManifest, Workspace
from ao_core.models import PluginSlot
from ao_core.testing._fakes_workspace import FakeWorkspace
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["FakeWorkspaceConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake",
    slot=PluginSlot.WORKSPACE,
    description="Plain-directory workspaces for tests",
    display_name="Fake workspace",
)


class FakeWorkspaceConfig(FakeConfigBase):
    """Options of the fake workspace."""

    base_dir: str | None = None
    """Where workspaces go when the kernel gives no directory (default: a new temporary directory)."""
    fail_create: bool = False


def create(config: FakeWorkspaceConfig | None = None) -> Workspace:
    """Build a :class:`~ao_core.testing.FakeWorkspace`."""
    config = config or FakeWorkspaceConfig()
    base_dir = config.base_dir or tempfile.mkdtemp(prefix="ao-fake-workspaces-")
    return FakeWorkspace(base_dir, name=manifest.name, fail_create=config.fail_create)
