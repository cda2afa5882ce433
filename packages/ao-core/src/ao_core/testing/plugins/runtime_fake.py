"""The fake runtime as a plugin module."""

from ao_core.interfaces import PluginManifest, Runtime
from ao_core.models import PluginSlot
from ao_core.testing._fakes_runtime import FakeRuntime
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["FakeRuntimeConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake", slot=PluginSlot.RUNTIME, description="In-memory runtime for tests", display_name="Fake runtime"
)


class FakeRuntimeConfig(FakeConfigBase):
    """Options of the fake runtime."""

    fail_create: bool = False
    """Make every ``create`` fail."""


def create(config: FakeRuntimeConfig | None = None) -> Runtime:
    """Build a :class:`~ao_core.testing.FakeRuntime`."""
    config = config or FakeRuntimeConfig()
    return FakeRuntime(manifest.name, fail_create=config.fail_create)
