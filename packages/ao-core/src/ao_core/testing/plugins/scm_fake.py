"""The fake SCM as a plugin module."""

from ao_core.interfaces import SCM, PluginManifest
from ao_core.models import PluginSlot
from ao_core.testing._fakes_scm import FakeSCM
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["FakeSCMConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake", slot=PluginSlot.SCM, description="In-memory pull request host for tests", display_name="Fake SCM"
)


class FakeSCMConfig(FakeConfigBase):
    """Options of the fake SCM."""

    owner: str = "acme"
    repo: str = "app"
    webhook_secret: str | None = None
    """The HMAC-SHA256 secret of webhook deliveries (unsigned deliveries are refused without one)."""


def create(config: FakeSCMConfig | None = None) -> SCM:
    """Build a :class:`~ao_core.testing.FakeSCM`."""
    config = config or FakeSCMConfig()
    return FakeSCM(manifest.name, owner=config.owner, repo=config.repo, webhook_secret=config.webhook_secret)
