"""The ``composio`` notifier: one tool execution per notification, through the ``composio`` SDK.

The SDK is synchronous (httpx underneath) and slow to import, so it is imported on the first delivery and
runs in a worker thread. Two things are switched off on purpose: the SDK's usage telemetry (a background
thread posting to Composio's telemetry host), and retries of the execution itself (the SDK never retries
an execution: a repeated one would send a message twice).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from ao_core.errors import NotifyError
from ao_core.models import EventPriority, NotifyAction, NotifyContext, OrchestratorEvent

from ._config import ComposioApp, ComposioNotifierConfig

if TYPE_CHECKING:
    from composio import Composio

__all__ = ["DEFAULT_TOOLS", "ComposioNotifier", "format_event"]

DEFAULT_TOOLS: dict[ComposioApp, str] = {
    "slack": "SLACK_SEND_MESSAGE",
    "discord": "DISCORDBOT_CREATE_MESSAGE",
    "gmail": "GMAIL_SEND_EMAIL",
}
"""The Composio tool each app is reached with."""

EMOJI: dict[EventPriority, str] = {
    EventPriority.URGENT: "\N{POLICE CARS REVOLVING LIGHT}",
    EventPriority.ACTION: "\N{WHITE RIGHT POINTING BACKHAND INDEX}",
    EventPriority.WARNING: "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}",
    EventPriority.INFO: "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}",
}

_KEY_HELP = (
    "set `apiKey: ${COMPOSIO_API_KEY}` in the notifier's config or export COMPOSIO_API_KEY "
    "(Composio dashboard → Settings → API keys)"
)


def format_event(event: OrchestratorEvent) -> str:
    """``<emoji> *<type>* — <session>`` then the message and, when known, ``PR: <url>``."""
    text = f"{EMOJI[event.priority]} *{event.type}* — {event.session_id}\n{event.message}"
    pr_url = event.data.get("prUrl")
    if isinstance(pr_url, str) and pr_url:
        text += f"\nPR: {pr_url}"
    return text


class ComposioNotifier:
    """Sends notifications through a Composio connected account: Slack, Discord or Gmail.

    Each notification is one execution of the app's tool (``SLACK_SEND_MESSAGE``,
    ``DISCORDBOT_CREATE_MESSAGE``, ``GMAIL_SEND_EMAIL``) for ``user_id``. A missing API key, channel or
    recipient is a :class:`~ao_core.errors.NotifyError` that says what to set, not a silent no-op.

    Implements ``SupportsActions`` (actions are appended as lines) and ``SupportsPost``.
    """

    def __init__(self, config: ComposioNotifierConfig) -> None:
        self._config = config

    @property
    def name(self) -> str:
        """The plugin name."""
        return "composio"

    @property
    def tool_slug(self) -> str:
        """The tool notifications are sent with."""
        return self._config.tool_slug or DEFAULT_TOOLS[self._config.default_app]

    async def notify(self, event: OrchestratorEvent) -> None:
        """Send the event as ``<emoji> *<type>* — <session>`` + message (+ ``PR: <url>``).

        Raises:
            NotifyError: when it cannot be sent; ``code`` is Composio's error slug when it gave one.
        """
        await self._send(format_event(event))

    async def notify_with_actions(self, event: OrchestratorEvent, actions: Sequence[NotifyAction]) -> None:
        """Send the event with one line per action (``label: url``, or just the label).

        Raises:
            NotifyError: as :meth:`notify`.
        """
        lines = [f"{a.label}: {a.url}" if a.url else a.label for a in actions]
        text = format_event(event) + ("\n" + "\n".join(lines) if lines else "")
        await self._send(text)

    async def post(self, message: str, context: NotifyContext | None = None) -> str | None:
        """Send a free-form message (with ``PR: <url>`` when the context has one).

        Returns:
            The message's id on the medium when the tool reports one (Slack ``ts``, Discord/Gmail ``id``).

        Raises:
            NotifyError: as :meth:`notify`.
        """
        text = message
        if context is not None and context.pr_url:
            text += f"\nPR: {context.pr_url}"
        data = await self._send(text)
        for key in ("ts", "id"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
        return None

    # ------------------------------------------------------------------ delivery

    async def _send(self, text: str) -> dict[str, Any]:
        api_key = self._api_key()
        arguments = self._arguments(text)
        return await anyio.to_thread.run_sync(self._execute, api_key, self.tool_slug, arguments)

    def _api_key(self) -> str:
        configured = self._config.api_key.get_secret_value() if self._config.api_key is not None else None
        key = configured or os.environ.get("COMPOSIO_API_KEY", "").strip()
        if not key:
            raise NotifyError(self.name, f"no Composio API key: {_KEY_HELP}", code="not_configured")
        return key

    def _arguments(self, text: str) -> dict[str, Any]:
        config = self._config
        if config.default_app == "gmail":
            if not config.email_to:
                raise NotifyError(self.name, "defaultApp gmail needs a recipient: set `emailTo`", code="not_configured")
            return {"recipient_email": config.email_to, "subject": config.email_subject, "body": text}
        channel = config.channel_id or config.channel_name
        if not channel:
            raise NotifyError(
                self.name,
                f"defaultApp {config.default_app} needs a channel: set `channelId` (or `channelName` for Slack)",
                code="not_configured",
            )
        if config.default_app == "discord":
            return {"channel_id": channel, "content": text}
        # Slack reads the text as mrkdwn: escape its three control characters so "<!channel>" pings nobody.
        return {"channel": channel, "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}

    # ------------------------------------------------------------------ blocking calls (worker threads)

    def _sdk_client(self, api_key: str) -> Composio[Any, Any]:
        from composio import Composio

        # allow_tracking=False also sets the SDK's telemetry switch, a context variable, in the context of
        # this worker thread: the one that then executes the tool.
        if self._config.base_url:
            return Composio(
                api_key=api_key, base_url=self._config.base_url, timeout=self._config.timeout_s, allow_tracking=False
            )
        # No base URL configured: the SDK's default, or COMPOSIO_BASE_URL.
        return Composio(api_key=api_key, timeout=self._config.timeout_s, allow_tracking=False)

    def _execute(self, api_key: str, slug: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            import composio_client
            from composio.exceptions import ComposioError
        except ImportError as exc:
            raise NotifyError(
                self.name, f"the composio SDK cannot be imported ({exc}); install it: pip install composio"
            ) from None
        config = self._config
        options: dict[str, Any] = {"user_id": config.user_id}
        if config.connected_account_id:
            options["connected_account_id"] = config.connected_account_id
        if config.toolkit_version:
            options["version"] = config.toolkit_version
        else:
            # "latest" without the SDK's guard: a notification has two string arguments that have not changed
            # across tool versions; pin `toolkitVersion` to opt out.
            options["dangerously_skip_version_check"] = True
        try:
            # A client per delivery, closed after it: notifications are rare, and a cached client would keep
            # idle connections open for the life of the process.
            sdk = self._sdk_client(api_key)
            try:
                result = sdk.tools.execute(slug, arguments, **options)
            finally:
                sdk.client.close()
        except composio_client.APIStatusError as exc:
            raise self._status_error(slug, exc.status_code, exc.details, api_key) from None
        except composio_client.APIConnectionError as exc:
            where = config.base_url or os.environ.get("COMPOSIO_BASE_URL") or "the Composio API"
            reason = f"cannot reach {where}: {type(exc).__name__}"
            raise NotifyError(self.name, _scrub(reason, api_key), code="unreachable") from None
        except ComposioError as exc:
            cause = exc.__cause__
            if isinstance(cause, composio_client.APIStatusError):
                raise self._status_error(slug, cause.status_code, cause.details, api_key) from None
            reason = f"the Composio SDK refused to execute {slug}: {exc}"
            raise NotifyError(self.name, _scrub(reason, api_key), code=type(exc).__name__) from None
        data = result.get("data")
        if not result.get("successful"):
            error = result.get("error") or "no error message"
            reason = f"{slug} ran but failed: {error}"
            raise NotifyError(self.name, _scrub(reason, api_key), code="execution_failed")
        return data if isinstance(data, dict) else {}

    def _status_error(self, slug: str, status: int, details: dict[str, Any] | None, api_key: str) -> NotifyError:
        message = str(details.get("message")) if details else ""
        code = str(details["slug"]) if details and details.get("slug") else f"http_{status}"
        config = self._config
        if status == 401:
            reason = f"Composio rejected the API key ({message or 'HTTP 401'}); {_KEY_HELP}"
        elif status == 403:
            reason = f"the API key may not execute {slug} ({message or 'HTTP 403'})"
        elif "connected account" in message.lower():
            toolkit = slug.split("_", 1)[0].lower()
            reason = (
                f"{message}: connect {toolkit} for user {config.user_id!r} in Composio "
                "(or set `userId` / `connectedAccountId`)"
            )
        elif status == 404 and message.lower().startswith("tool"):
            reason = f"{message}; set `toolSlug` to the tool's current name"
        else:
            reason = f"Composio refused to execute {slug} (HTTP {status}): {message or 'no message'}"
        fix = details.get("suggested_fix") if details else None
        if isinstance(fix, str) and fix and fix not in reason:
            reason += f" — {fix}"
        errors = details.get("errors") if details else None
        if isinstance(errors, list) and errors:
            reason += " (" + "; ".join(str(e) for e in errors[:3]) + ")"
        return NotifyError(self.name, _scrub(reason, api_key), code=code)


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
