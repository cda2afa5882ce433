"""The fake agent as a plugin module."""

from ao_core.interfaces import Agent, PluginManifest
from ao_core.models import PluginSlot, PromptDelivery
from ao_core.testing._fakes_agent import FakeAgent
from ao_core.testing.plugins._config import FakeConfigBase

__all__ = ["FakeAgentConfig", "create", "manifest"]

manifest = PluginManifest(
    name="fake", slot=PluginSlot.AGENT, description="Scripted agent adapter for tests", display_name="Fake agent"
)


class FakeAgentConfig(FakeConfigBase):
    """Options of the fake agent."""

    process_name: str = "fake-agent"
    prompt_delivery: PromptDelivery = PromptDelivery.INLINE
    command: str | None = None
    """The start of the launch command (default: the process name)."""
    environment: dict[str, str] = {}
    """Extra environment variables for the agent."""


def create(config: FakeAgentConfig | None = None) -> Agent:
    """Build a :class:`~ao_core.testing.FakeAgent`."""
    config = config or FakeAgentConfig()
    return FakeAgent(
        manifest.name,
        process_name=config.process_name,
        prompt_delivery=config.prompt_delivery,
        command=config.command,
        environment=config.environment,
    )
