"""ao notifier plugin ``slack``: Block Kit messages, one thread per session (bot token) or incoming webhooks.

ao finds it through the ``ao.notifier`` entry point in pyproject.toml and calls :func:`create` with the
validated options of the config section that names it. Importing this module is cheap: slack-sdk is
imported by :func:`create`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ._config import SlackNotifierConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Notifier

    from ._notifier import SlackNotifier

__all__ = ["SlackNotifier", "SlackNotifierConfig", "create", "manifest"]

manifest = PluginManifest(
    name="slack",
    slot=PluginSlot.NOTIFIER,
    description="Slack: Block Kit messages, one thread per session (bot token) or an incoming webhook",
    version="0.1.0",
    display_name="Slack",
)


def create(config: SlackNotifierConfig | None = None) -> Notifier:
    """Build the ``slack`` notifier from its options (``None``: every option at its default).

    Args:
        config: The plugin's options. Give ``token`` and ``channel`` (bot mode) or ``webhook_url``.

    Returns:
        A :class:`SlackNotifier`, which also implements ``SupportsActions`` and ``SupportsPost``.
    """
    # Imported here, not at the top: ao imports this module to read the manifest, and that must stay cheap.
    from ._notifier import SlackNotifier

    return SlackNotifier(config or SlackNotifierConfig())


def __getattr__(name: str) -> Any:
    # The implementation (and slack-sdk with it) is imported on first use.
    if name == "SlackNotifier":
        from ._notifier import SlackNotifier

        return SlackNotifier
    raise AttributeError(f"module 'ao_notifier_slack' has no attribute {name!r}")
