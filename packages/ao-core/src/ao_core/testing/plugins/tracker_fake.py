"""The fake tracker as a plugin module."""

from pydantic import Field

from ao_core.interfaces import PluginManifest, Tracker
from ao_core.models import Issue, PluginSlot
from ao_core.testing._fakes_tracker import FakeTracker
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["FakeTrackerConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake", slot=PluginSlot.TRACKER, description="In-memory issue tracker for tests", display_name="Fake tracker"
)


class FakeTrackerConfig(FakeConfigBase):
    """Options of the fake tracker."""

    base_url: str = "https://tracker.example.test/issues"
    issues: list[Issue] = Field(default_factory=list)
    """Issues the tracker starts with."""


def create(config: FakeTrackerConfig | None = None) -> Tracker:
    """Build a :class:`~ao_core.testing.FakeTracker`."""
    config = config or FakeTrackerConfig()
    return FakeTracker(config.issues, name=manifest.name, base_url=config.base_url)
