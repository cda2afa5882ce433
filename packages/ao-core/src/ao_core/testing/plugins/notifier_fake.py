"""The recording notifier as a plugin module."""

from ao_core.interfaces import Notifier, PluginManifest
from ao_core.models import PluginSlot
from ao_core.testing._fakes_notifier import RecordingNotifier
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["RecordingNotifierConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake",
    slot=PluginSlot.NOTIFIER,
    description="Notifier that records deliveries, for tests",
    display_name="Recording notifier",
)


class RecordingNotifierConfig(FakeConfigBase):
    """Options of the recording notifier."""

    fail_with: str | None = None
    """When set, every delivery fails with a ``NotifyError`` giving this reason."""
    hang_seconds: float | None = None
    """When set, every delivery sleeps this long first."""


def create(config: RecordingNotifierConfig | None = None) -> Notifier:
    """Build a :class:`~ao_core.testing.RecordingNotifier`."""
    config = config or RecordingNotifierConfig()
    notifier = RecordingNotifier(manifest.name)
    notifier.fail_with(config.fail_with)
    notifier.hang_for(config.hang_seconds)
    return notifier
