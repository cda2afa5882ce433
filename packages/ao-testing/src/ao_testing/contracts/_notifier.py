"""The notifier contract suite."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import pytest
from ao_core.errors import NotifyError
from ao_core.interfaces import Notifier, SupportsActions, SupportsPost
from ao_core.models import EventPriority, EventType, NotifyAction, NotifyContext, OrchestratorEvent
from ao_core.testing import wait_until

from ao_testing.contracts._common import unique_id

__all__ = ["NotifierContract", "Received"]

Received = Callable[[], Sequence[str]]
"""Returns every delivery the backing receiver got so far, each rendered as text (e.g. a JSON body)."""


def _event(priority: EventPriority = EventPriority.ACTION) -> OrchestratorEvent:
    marker = unique_id("note")
    return OrchestratorEvent(
        type=EventType.CI_FAILING,
        priority=priority,
        session_id=f"aoc-{marker[-8:]}",
        project_id="contract",
        message=f"CI is failing on the pull request {marker}",
        data={"prUrl": "https://scm.example.test/acme/app/pull/1"},
    )


@pytest.mark.anyio
class NotifierContract:
    """What every notifier plugin must do. Subclass it in a ``Test*`` class and provide the fixtures.

    Fixtures the subclass provides:

    - ``notifier`` (required): the :class:`~ao_core.interfaces.Notifier` under test, wired to a receiver
      the test controls (a fake HTTP server, a recording D-Bus notification server...).
    - ``received`` (required): a :data:`Received` callable returning every delivery the receiver got so
      far, each as text in which the event's message and session id can be found.
    - ``failing_notifier`` (optional): a notifier of the same plugin wired to a receiver that fails (an
      HTTP 500, a refused connection); default ``None`` (that check is then skipped).
    - ``notifier_secrets`` (optional): strings (tokens, webhook URLs) that must never appear in an error;
      default none.

    Checked: ``notify`` delivers the message and session id of an event, for every priority; with
    ``SupportsActions``, ``notify_with_actions`` delivers the event; with ``SupportsPost``, ``post``
    delivers its text and returns ``None`` or a string id; a failing receiver gives ``NotifyError`` whose
    message holds none of the secrets.

    Class attribute ``delivery_timeout`` bounds each wait for the receiver (seconds).
    """

    delivery_timeout: ClassVar[float] = 10.0

    @pytest.fixture
    def failing_notifier(self) -> Notifier | None:
        """A notifier whose receiver fails (``None``: not checked)."""
        return None

    @pytest.fixture
    def notifier_secrets(self) -> Sequence[str]:
        """Strings that must not appear in error messages."""
        return ()

    async def _arrives(self, received: Received, *fragments: str) -> None:
        def delivered() -> bool:
            return any(all(fragment in item for fragment in fragments) for item in received())

        try:
            await wait_until(delivered, within=self.delivery_timeout, interval=0.02)
        except AssertionError:
            raise AssertionError(
                f"no delivery contained {fragments!r} within {self.delivery_timeout} s; received: {list(received())}"
            ) from None

    # ------------------------------------------------------------------ tests

    async def test_name_is_set(self, notifier: Notifier) -> None:
        assert isinstance(notifier.name, str)
        assert notifier.name

    @pytest.mark.parametrize("priority", list(EventPriority))
    async def test_notify_delivers_message_and_session(
        self, notifier: Notifier, received: Received, priority: EventPriority
    ) -> None:
        event = _event(priority)
        await notifier.notify(event)
        await self._arrives(received, event.message, event.session_id)

    async def test_notify_with_actions_when_supported(self, notifier: Notifier, received: Received) -> None:
        if not isinstance(notifier, SupportsActions):
            pytest.skip(f"notifier {notifier.name!r} does not implement SupportsActions")
        event = _event()
        actions = [
            NotifyAction(label="Open pull request", url="https://scm.example.test/acme/app/pull/1"),
            NotifyAction(label="Kill session", callback_endpoint="/api/sessions/aoc-1/kill"),
        ]
        await notifier.notify_with_actions(event, actions)
        await self._arrives(received, event.message, event.session_id)

    async def test_post_when_supported(self, notifier: Notifier, received: Received) -> None:
        if not isinstance(notifier, SupportsPost):
            pytest.skip(f"notifier {notifier.name!r} does not implement SupportsPost")
        text = f"All sessions are done {unique_id('post')}"
        message_id = await notifier.post(text, NotifyContext(session_id="aoc-1", project_id="contract"))
        assert message_id is None or isinstance(message_id, str)
        await self._arrives(received, text)

    async def test_failing_receiver_raises_notify_error_without_secrets(
        self, failing_notifier: Notifier | None, notifier_secrets: Sequence[str]
    ) -> None:
        if failing_notifier is None:
            pytest.skip("no failing_notifier fixture given")
        with pytest.raises(NotifyError) as caught:
            await failing_notifier.notify(_event())
        text = f"{caught.value} {caught.value.reason} {caught.value.code or ''} {caught.value!r}"
        for secret in notifier_secrets:
            assert secret not in text, "a secret leaked into the NotifyError message"
