"""Webhook notifications for ao: each notification is POSTed as versioned, optionally signed JSON.

The ao notifier plugin ``webhook``. ao finds it through the ``ao.notifier`` entry point and calls
:func:`create` with the validated options of the config section that names it. The payload schema
(``ao.notification/v1``) is the contract with receivers; the package README documents it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ao_core.interfaces import PluginManifest
from ao_core.models import PluginSlot

from ._config import WebhookNotifierConfig
from ._payload import DELIVERY_HEADER, EVENT_HEADER, SCHEMA, SIGNATURE_HEADER

if TYPE_CHECKING:
    from ao_core.interfaces import Notifier

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SCHEMA",
    "SIGNATURE_HEADER",
    "WebhookNotifierConfig",
    "create",
    "manifest",
]

manifest = PluginManifest(
    name="webhook",
    slot=PluginSlot.NOTIFIER,
    description="POST each notification as versioned, optionally HMAC-signed JSON to an HTTP endpoint",
    version="0.1.0",
    display_name="Webhook",
)


def create(config: WebhookNotifierConfig | None = None) -> Notifier:
    """Build the webhook notifier from its options.

    Args:
        config: The validated options of the notifier's config section. ``url`` has no default, so ``None``
            (no options at all) is refused.

    Returns:
        A :class:`~ao_notifier_webhook._notifier.WebhookNotifier` (it also supports actions and ``post``).

    Raises:
        ConfigError: when no options are given.
    """
    if config is None:
        from ao_core.errors import ConfigError

        raise ConfigError("the webhook notifier needs options: at least 'url', the endpoint to POST notifications to")
    # Imported here, not at the top: ao imports this module to read the manifest, and httpx is not cheap.
    from ._notifier import WebhookNotifier

    return WebhookNotifier(config)
