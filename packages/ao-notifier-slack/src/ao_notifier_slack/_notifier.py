"""The ``slack`` notifier: Block Kit messages, one thread per session, through slack-sdk.

slack-sdk's async clients need aiohttp, which ao does not otherwise depend on; the sync clients
(``WebClient``, ``WebhookClient``, urllib underneath) run in worker threads instead.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
from ao_core.errors import NotifyError
from ao_core.models import EventPriority, NotifyAction, NotifyContext, OrchestratorEvent
from ao_core.paths import state_dir
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from ._blocks import escape, event_blocks, event_text, post_blocks
from ._config import SlackNotifierConfig
from ._threads import ThreadRef, ThreadStore

__all__ = ["SlackNotifier"]

_T = TypeVar("_T")

DEFAULT_BASE_URL = "https://slack.com/api/"

# slack-sdk's WebhookClient logs the full webhook URL (a secret) at DEBUG and INFO: give it a logger of its
# own that only passes warnings and errors, which carry no URL.
_webhook_log = logging.getLogger("ao_notifier_slack.webhook")
_webhook_log.setLevel(logging.WARNING)

_AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "not_allowed_token_type",
}


class _BoundedRateLimitHandler(RateLimitErrorRetryHandler):
    """Retry a 429 after its ``Retry-After``, but only when that wait is not longer than ``max_wait`` seconds."""

    def __init__(self, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = _retry_after({k: v[0] for k, v in response.headers.items() if v})
        return wait is None or wait <= self.max_wait


def _retry_after(headers: Any) -> int | None:
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            text = value[0] if isinstance(value, list) and value else value
            try:
                return int(str(text))
            except ValueError:
                return None
    return None


class SlackNotifier:
    """Tells humans in Slack: one Block Kit message per event, a session's events in one thread.

    Bot mode (``token`` + ``channel``) posts with ``chat.postMessage``; the first message about a session
    becomes the thread's parent and later ones reply to it (the mapping is kept in ``state_file``, so it
    survives restarts). Webhook mode (``webhookUrl``) posts every message top-level: incoming webhooks
    neither return a message id nor thread. A ``429`` is retried after its ``Retry-After``.

    Implements ``SupportsActions`` (URL actions become buttons) and ``SupportsPost`` (returns the ``ts``).
    """

    def __init__(self, config: SlackNotifierConfig) -> None:
        self._config = config
        self._store = ThreadStore(config.state_file or state_dir() / "slack-threads.json")
        self._session_locks: dict[str, anyio.Lock] = {}
        self._web: WebClient | None = None
        self._hook: WebhookClient | None = None
        secrets = []
        if config.token is not None:
            secrets.append(config.token.get_secret_value())
        if config.webhook_url is not None:
            url = config.webhook_url.get_secret_value()
            path = urlsplit(url).path
            secrets += [url, path, path.rsplit("/", 1)[-1]]
        # Longest first, so that the whole URL is replaced before any of its parts.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    @property
    def name(self) -> str:
        """The plugin name."""
        return "slack"

    @property
    def state_file(self) -> str:
        """The file that remembers each session's thread."""
        return str(self._store.path)

    # ------------------------------------------------------------------ the Notifier protocol

    async def notify(self, event: OrchestratorEvent) -> None:
        """Post the event (in its session's thread in bot mode).

        Raises:
            NotifyError: when Slack refuses or cannot be reached; ``code`` is Slack's error code.
        """
        await self._send(event.session_id, event_text(event), event_blocks(event), event.priority)

    async def notify_with_actions(self, event: OrchestratorEvent, actions: Sequence[NotifyAction]) -> None:
        """Post the event with its URL actions as link buttons (other actions are named in a context line).

        Raises:
            NotifyError: as :meth:`notify`.
        """
        await self._send(event.session_id, event_text(event), event_blocks(event, actions), event.priority)

    async def post(self, message: str, context: NotifyContext | None = None) -> str | None:
        """Post a free-form message; with ``context.session_id``, in that session's thread (bot mode).

        ``context.channel`` sends it to another channel (bot mode; not threaded there).

        Returns:
            The message's ``ts`` in bot mode; ``None`` in webhook mode (webhooks do not return one).

        Raises:
            NotifyError: as :meth:`notify`.
        """
        blocks = post_blocks(message, context)
        text = escape(message)
        if context is not None and context.channel and context.channel != self._config.channel:
            if self._config.token is None:
                self._require_bot_mode()  # raises: says what to configure
            ts, _ = await self._run(self._post_api, context.channel, None, text, blocks, False)
            return ts
        session_id = context.session_id if context is not None else None
        return await self._send(session_id, text, blocks, None)

    # ------------------------------------------------------------------ delivery

    async def _send(
        self, session_id: str | None, text: str, blocks: list[dict[str, Any]], priority: EventPriority | None
    ) -> str | None:
        config = self._config
        if config.webhook_url is not None:
            await self._run(self._post_webhook, config.webhook_url, text, blocks)
            return None
        channel = self._require_bot_mode()
        if session_id is None or not config.thread_per_session:
            ts, _ = await self._run(self._post_api, channel, None, text, blocks, False)
            return ts
        lock = self._session_locks.setdefault(session_id, anyio.Lock())
        try:
            # One at a time per session: two first events must not both become a thread's parent.
            async with lock:
                return await self._send_in_thread(channel, session_id, text, blocks, priority)
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._session_locks.pop(session_id, None)

    async def _send_in_thread(
        self, channel: str, session_id: str, text: str, blocks: list[dict[str, Any]], priority: EventPriority | None
    ) -> str:
        ref = await anyio.to_thread.run_sync(self._store.get, channel, session_id)
        if ref is not None:
            broadcast = priority is EventPriority.URGENT and self._config.broadcast_urgent
            try:
                ts, _ = await self._run(self._post_api, ref.channel, ref.ts, text, blocks, broadcast)
            except NotifyError as exc:
                if exc.code != "thread_not_found":
                    raise
                # The parent is gone (deleted, or the channel was reset): start a new thread.
                await self._record(self._store.forget, channel, session_id)
            else:
                return ts
        ts, channel_id = await self._run(self._post_api, channel, None, text, blocks, False)
        await self._record(self._store.put, channel, session_id, ThreadRef(ts, channel_id))
        return ts

    async def _record(self, change: Callable[..., None], *args: Any) -> None:
        try:
            await anyio.to_thread.run_sync(change, *args)
        except OSError as exc:
            # Messages are delivered regardless; only the threading of later events suffers.
            logging.getLogger(__name__).warning("cannot update the Slack thread file %s: %s", self._store.path, exc)

    def _require_bot_mode(self) -> str:
        config = self._config
        if config.token is None:
            if config.webhook_url is not None:
                raise NotifyError(
                    self.name, "posting to another channel needs bot mode (token + channel)", code="not_configured"
                )
            raise NotifyError(
                self.name,
                "no Slack destination configured: set `token: ${SLACK_BOT_TOKEN}` and `channel: '#agents'` "
                "(bot mode, threads per session) or `webhookUrl: ${SLACK_WEBHOOK_URL}` (incoming webhook)",
                code="not_configured",
            )
        if not config.channel:
            raise NotifyError(
                self.name,
                "bot mode needs a channel: set `channel` to a channel id (C0123ABCD) or name ('#agents')",
                code="not_configured",
            )
        return config.channel

    async def _run(self, func: Callable[..., _T], *args: Any) -> _T:
        return await anyio.to_thread.run_sync(func, *args)

    # ------------------------------------------------------------------ blocking calls (worker threads)

    def _retry_handlers(self) -> list[RetryHandler]:
        config = self._config
        return [
            ConnectionErrorRetryHandler(max_retry_count=1),
            _BoundedRateLimitHandler(config.max_rate_limit_retries, config.max_retry_after_s),
        ]

    def _web_client(self) -> WebClient:
        if self._web is None:
            token = self._config.token
            self._web = WebClient(
                token=token.get_secret_value() if token is not None else None,
                base_url=self._config.base_url or DEFAULT_BASE_URL,
                timeout=self._config.timeout_s,
                retry_handlers=self._retry_handlers(),
            )
        return self._web

    def _webhook_client(self, url: SecretStr) -> WebhookClient:
        if self._hook is None:
            self._hook = WebhookClient(
                url.get_secret_value(),
                timeout=self._config.timeout_s,
                logger=_webhook_log,
                retry_handlers=self._retry_handlers(),
            )
        return self._hook

    def _post_api(
        self, channel: str, thread_ts: str | None, text: str, blocks: list[dict[str, Any]], broadcast: bool
    ) -> tuple[str, str]:
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks, "unfurl_links": False}
        if thread_ts is not None:
            kwargs["thread_ts"] = thread_ts
            if broadcast:
                kwargs["reply_broadcast"] = True
        if self._config.username:
            kwargs["username"] = self._config.username
        if self._config.icon_emoji:
            kwargs["icon_emoji"] = self._config.icon_emoji
        try:
            response = self._web_client().chat_postMessage(**kwargs)
        except SlackApiError as exc:
            raise self._api_error(exc, channel) from None
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            where = urlsplit(self._config.base_url or DEFAULT_BASE_URL).netloc
            raise NotifyError(
                self.name, self._scrub(f"cannot reach the Slack API at {where}: {_describe(exc)}"), code="unreachable"
            ) from None
        ts, channel_id = response.get("ts"), response.get("channel")
        if not isinstance(ts, str) or not isinstance(channel_id, str):
            raise NotifyError(self.name, "Slack answered chat.postMessage without ts/channel", code="bad_response")
        return ts, channel_id

    def _post_webhook(self, url: SecretStr, text: str, blocks: list[dict[str, Any]]) -> None:
        body: dict[str, Any] = {"text": text, "blocks": blocks, "unfurl_links": False}
        if self._config.username:
            body["username"] = self._config.username
        if self._config.icon_emoji:
            body["icon_emoji"] = self._config.icon_emoji
        try:
            response = self._webhook_client(url).send_dict(body)
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise NotifyError(
                self.name, self._scrub(f"cannot reach the Slack incoming webhook: {_describe(exc)}"), code="unreachable"
            ) from None
        if response.status_code == 200:
            return
        raise self._webhook_error(response.status_code, response.body or "", response.headers)

    # ------------------------------------------------------------------ errors

    def _api_error(self, exc: SlackApiError, channel: str) -> NotifyError:
        response = exc.response
        status = response.status_code
        error = response.get("error")
        code = error if isinstance(error, str) and error else f"http_{status}"
        if status == 429 or code in {"ratelimited", "rate_limited"}:
            reason = self._rate_limited_reason(_retry_after(response.headers))
            return NotifyError(self.name, reason, code="ratelimited")
        reasons = {
            "channel_not_found": f"channel {channel!r} does not exist or the bot cannot see it; check `channel` "
            "(an id like C0123ABCD or a name like '#agents') and invite the bot to a private channel",
            "not_in_channel": f"the bot is not a member of channel {channel!r}; invite it there (/invite @<bot>)",
            "is_archived": f"channel {channel!r} is archived; unarchive it or set another `channel`",
            "missing_scope": "the bot token lacks a scope chat.postMessage needs"
            + (f" ({response.get('needed')})" if response.get("needed") else " (chat:write)")
            + "; add it to the Slack app and reinstall it",
            "thread_not_found": "the session's thread no longer exists in Slack",
            "invalid_blocks": "Slack refused the message's Block Kit blocks"
            + _metadata(response.get("response_metadata")),
            "msg_too_long": "the message is longer than Slack accepts",
        }
        if code in _AUTH_ERRORS:
            reason = "Slack rejected the bot token; set `token` to a valid bot token (xoxb-...) of an installed app"
        else:
            reason = reasons.get(code, f"Slack refused chat.postMessage (HTTP {status})")
        return NotifyError(self.name, self._scrub(reason), code=code)

    def _webhook_error(self, status: int, body: str, headers: Any) -> NotifyError:
        text = body.strip()
        code = text if text and len(text) <= 64 and text.replace("_", "").isalnum() else f"http_{status}"
        if status == 429:
            return NotifyError(self.name, self._rate_limited_reason(_retry_after(headers)), code="rate_limited")
        reasons = {
            "no_service": "the incoming webhook does not exist (removed or disabled); create a new one and update "
            "`webhookUrl`",
            "no_team": "the incoming webhook's workspace is gone; create a new webhook and update `webhookUrl`",
            "team_disabled": "the incoming webhook's workspace is disabled",
            "channel_not_found": "the incoming webhook's channel no longer exists; create a new webhook",
            "channel_is_archived": "the incoming webhook's channel is archived",
            "action_prohibited": "a workspace admin restricted posting to the webhook's channel",
            "invalid_payload": "Slack refused the message as malformed",
            "no_text": "Slack refused the message: it has no text",
            "invalid_blocks": "Slack refused the message's Block Kit blocks",
            "invalid_token": "the incoming webhook's token is invalid; create a new webhook and update `webhookUrl`",
        }
        reason = reasons.get(code, f"the incoming webhook answered HTTP {status}")
        return NotifyError(self.name, self._scrub(reason), code=code)

    def _rate_limited_reason(self, retry_after: int | None) -> str:
        config = self._config
        wait = f" (Retry-After: {retry_after} s)" if retry_after is not None else ""
        if retry_after is not None and retry_after > config.max_retry_after_s:
            return f"Slack is rate limiting this app{wait}, longer than maxRetryAfterS={config.max_retry_after_s:g}"
        return f"Slack is still rate limiting this app{wait} after {config.max_rate_limit_retries} retries"

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # urllib's URLError wraps the socket error
    inner = reason if isinstance(reason, BaseException) else exc
    detail = getattr(inner, "strerror", None) or str(inner) or type(inner).__name__
    return f"{type(inner).__name__}: {detail}"


def _metadata(metadata: Any) -> str:
    if isinstance(metadata, dict):
        messages = metadata.get("messages")
        if isinstance(messages, list) and messages:
            return ": " + "; ".join(str(m) for m in messages[:3])
    return ""
