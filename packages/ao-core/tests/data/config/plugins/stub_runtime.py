"""A runtime plugin that only exists to be found: `ao config validate` imports it but never creates it."""

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

manifest = PluginManifest(name="stub-runtime", slot=PluginSlot.RUNTIME, description="test stub")


def create() -> object:
    raise NotImplementedError("a stub for config validation tests")
