"""ao notifier plugin ``composio``: notifications to Slack, Discord or Gmail through Composio.

ao finds it through the ``ao.notifier`` entry point in pyproject.toml and calls :func:`create` with the
validated options of the config section that names it. Importing this module is cheap: the ``composio``
SDK is imported on the first delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ._config import ComposioApp, ComposioNotifierConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Notifier

    from ._notifier import ComposioNotifier

__all__ = ["ComposioApp", "ComposioNotifier", "ComposioNotifierConfig", "create", "manifest"]

manifest = PluginManifest(
    name="composio",
    slot=PluginSlot.NOTIFIER,
    description="Composio: messages to Slack, Discord or Gmail through a Composio connected account",
    version="0.1.0",
    display_name="Composio",
)


def create(config: ComposioNotifierConfig | None = None) -> Notifier:
    """Build the ``composio`` notifier from its options (``None``: every option at its default).

    Args:
        config: The plugin's options; the API key falls back to ``COMPOSIO_API_KEY``.

    Returns:
        A :class:`ComposioNotifier`, which also implements ``SupportsActions`` and ``SupportsPost``.
    """
    from ._notifier import ComposioNotifier

    return ComposioNotifier(config or ComposioNotifierConfig())


def __getattr__(name: str) -> Any:
    if name == "ComposioNotifier":
        from ._notifier import ComposioNotifier

        return ComposioNotifier
    raise AttributeError(f"module 'ao_notifier_composio' has no attribute {name!r}")
