"""Desktop notifications for ao: the D-Bus notification server on Linux, ``osascript`` on macOS.

The ao notifier plugin ``desktop``. ao finds it through the ``ao.notifier`` entry point and calls
:func:`create` with the validated options of the config section that names it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ._config import DesktopNotifierConfig

if TYPE_CHECKING:
    from ao_core.interfaces import Notifier

__all__ = ["DesktopNotifierConfig", "create", "manifest"]

manifest = PluginManifest(
    name="desktop",
    slot=PluginSlot.NOTIFIER,
    description="Desktop notifications: the D-Bus notification server (Linux) or osascript (macOS)",
    version="0.1.0",
    display_name="Desktop notifications",
)


def create(config: DesktopNotifierConfig | None = None) -> Notifier:
    """Build the desktop notifier from its options (``None``: every option at its default).

    Args:
        config: The validated options of the notifier's config section.

    Returns:
        A :class:`~ao_notifier_desktop._notifier.DesktopNotifier` (it also supports actions and ``post``).
    """
    # Imported here, not at the top: ao imports this module to read the manifest, and that must stay cheap.
    from ._notifier import DesktopNotifier

    return DesktopNotifier(config or DesktopNotifierConfig())
