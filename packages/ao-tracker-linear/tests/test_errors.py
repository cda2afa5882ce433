"""Bad input and failures: each one a TrackerError that says what was wrong, and never shows the key."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import IssueNotFoundError, RateLimitedError, TrackerError
from ao_core.models import IssueUpdate
from ao_testing.fakes.linear import FakeLinear
from ao_tracker_linear import LinearTracker, LinearTrackerConfig
from pydantic import SecretStr

pytestmark = pytest.mark.anyio

WRONG_KEY = "lin_api_this_key_is_wrong_0000000000"


async def test_a_missing_issue_names_identifier_team_and_workspace(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    with pytest.raises(IssueNotFoundError) as caught:
        await tracker.get_issue("int-9999", project)
    assert caught.value.identifier == "INT-9999"
    message = str(caught.value)
    assert "INT-9999" in message
    assert "team INT" in message
    assert "workspace 'acme'" in message
    assert [r.error_codes for r in linear.requests] == [("INPUT_ERROR",)]


async def test_missing_issue_in_every_method(tracker: LinearTracker, project: ProjectConfig) -> None:
    with pytest.raises(IssueNotFoundError, match="ZZZ-1"):
        await tracker.is_completed("ZZZ-1", project)
    with pytest.raises(IssueNotFoundError, match="ZZZ-1"):
        await tracker.generate_prompt("ZZZ-1", project)
    with pytest.raises(IssueNotFoundError, match="ZZZ-1"):
        await tracker.update_issue("ZZZ-1", IssueUpdate(comment="hello"), project)


@pytest.mark.parametrize(
    "identifier",
    [
        "100",
        "#5",
        "INT_100",
        "INT-",
        "-100",
        "INT-10a",
        "1NT-100",
        "INT 100",
        "https://linear.app/x",
        "",
        "I" * 50 + "-1",
    ],
)
async def test_a_malformed_identifier_is_refused_without_a_request(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear, identifier: str
) -> None:
    with pytest.raises(TrackerError, match="not a Linear issue identifier; use the team key, a dash and the number"):
        await tracker.get_issue(identifier, project)
    with pytest.raises(TrackerError, match="not a Linear issue identifier"):
        tracker.issue_url(identifier, project)
    with pytest.raises(TrackerError, match="not a Linear issue identifier"):
        tracker.branch_name(identifier, project)
    with pytest.raises(TrackerError, match="not a Linear issue identifier"):
        await tracker.update_issue(identifier, IssueUpdate(comment="x"), project)
    assert linear.requests == []


async def test_a_missing_api_key_names_the_variable_and_the_option(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINEAR_API_KEY", raising=False)
    tracker = LinearTracker(config.model_copy(update={"api_key": None}))
    with pytest.raises(TrackerError) as caught:
        await tracker.get_issue("INT-100", project)
    message = str(caught.value)
    assert "no Linear API key" in message
    assert "LINEAR_API_KEY" in message
    assert "apiKey" in message
    assert linear.requests == []


async def test_the_key_comes_from_the_environment_when_the_config_has_none(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINEAR_API_KEY", linear.default_api_key)
    tracker = LinearTracker(config.model_copy(update={"api_key": None}))
    assert (await tracker.get_issue("INT-100", project)).title == "Fix login timeout"
    assert [r.user for r in linear.requests] == ["alice"]


async def test_the_configured_key_wins_over_the_environment(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear, monkeypatch: pytest.MonkeyPatch
) -> None:
    linear.add_api_key("lin_api_bobs_key_123456789", "bob")
    monkeypatch.setenv("LINEAR_API_KEY", linear.default_api_key)
    tracker = LinearTracker(config.model_copy(update={"api_key": SecretStr("lin_api_bobs_key_123456789")}))
    issue = await tracker.get_issue("INT-100", project)
    assert issue.branch_name == "bob/int-100-fix-login-timeout"  # Linear's branch names follow the viewer
    assert [r.user for r in linear.requests] == ["bob"]


async def test_a_wrong_api_key_is_a_clear_error_without_the_key(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    tracker = LinearTracker(config.model_copy(update={"api_key": SecretStr(WRONG_KEY)}))
    with pytest.raises(TrackerError) as caught:
        await tracker.get_issue("INT-100", project)
    message = str(caught.value)
    assert "Linear refused the API key (HTTP 401, AUTHENTICATION_ERROR) for AoIssue" in message
    assert "LINEAR_API_KEY" in message
    assert WRONG_KEY not in message
    assert WRONG_KEY not in repr(caught.value)
    assert not isinstance(caught.value, IssueNotFoundError)
    assert [r.status for r in linear.requests] == [401]


async def test_a_revoked_key_fails_the_same_way(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    await tracker.get_issue("INT-100", project)
    linear.revoke_api_key(linear.default_api_key)
    with pytest.raises(TrackerError, match="refused the API key"):
        await tracker.update_issue("INT-100", IssueUpdate(comment="x"), project)


async def test_a_server_error_names_the_status_and_code(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.fail_next(500)
    with pytest.raises(TrackerError) as caught:
        await tracker.get_issue("INT-100", project)
    assert "Linear answered AoIssue with an error (HTTP 500, INTERNAL_SERVER_ERROR): Internal server error" in str(
        caught.value
    )
    assert not isinstance(caught.value, IssueNotFoundError)
    assert (await tracker.get_issue("INT-100", project)).id == "INT-100"  # errors are not cached


async def test_a_bad_gateway_without_json(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    tracker = LinearTracker(tracker.config.model_copy(update={"base_url": f"http://127.0.0.1:{port}/graphql"}))

    import threading

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            body = b"<html>502 Bad Gateway</html>"
            conn.sendall(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        with pytest.raises(TrackerError, match=r"Linear answered AoIssue with HTTP 502 .*502 Bad Gateway"):
            await tracker.get_issue("INT-100", project)
    finally:
        thread.join(timeout=5)
        server.close()


async def test_rate_limiting_says_when_it_resets(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    reset = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    linear.fail_next(
        400,
        code="RATELIMITED",
        type="ratelimited",
        message="Rate limit exceeded",
        headers={"X-RateLimit-Requests-Reset": str(int(reset.timestamp() * 1000))},
    )
    with pytest.raises(
        RateLimitedError, match=r"Linear rate limit exhausted \(HTTP 400, for AoIssue\); it resets at 2030-01-02"
    ) as caught:
        await tracker.get_issue("INT-100", project)
    assert isinstance(caught.value, TrackerError)
    assert caught.value.reset_at == reset


async def test_a_429_is_a_rate_limit_whatever_the_error_code(
    tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.fail_next(429, headers={"X-RateLimit-Requests-Reset": "1893553445000"})
    with pytest.raises(RateLimitedError, match=r"HTTP 429") as caught:
        await tracker.get_issue("INT-100", project)
    assert caught.value.reset_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_a_forbidden_answer(tracker: LinearTracker, project: ProjectConfig, linear: FakeLinear) -> None:
    linear.fail_next(403, code="FORBIDDEN", type="forbidden", message="Forbidden")
    with pytest.raises(TrackerError, match=r"Linear forbids AoIssue for this API key \(HTTP 403, FORBIDDEN\)"):
        await tracker.get_issue("INT-100", project)


async def test_an_unreachable_endpoint(config: LinearTrackerConfig, project: ProjectConfig) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens on this port now
    tracker = LinearTracker(config.model_copy(update={"base_url": f"http://127.0.0.1:{port}/graphql"}))
    with pytest.raises(TrackerError, match=rf"cannot reach Linear at http://127.0.0.1:{port}/graphql for AoIssue"):
        await tracker.get_issue("INT-100", project)


async def test_a_slow_answer_times_out_and_names_the_option(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    linear.latency = 1.0
    tracker = LinearTracker(config.model_copy(update={"timeout_s": 0.2}))
    with pytest.raises(TrackerError, match=r"did not answer AoIssue within 0.2s .*timeoutS"):
        await tracker.get_issue("INT-100", project)


async def test_a_wrong_endpoint_path(config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear) -> None:
    tracker = LinearTracker(config.model_copy(update={"base_url": linear.url.replace("/graphql", "/v1/gql")}))
    with pytest.raises(TrackerError, match=r"HTTP 404"):
        await tracker.get_issue("INT-100", project)


async def test_no_message_ever_contains_the_key(
    config: LinearTrackerConfig, project: ProjectConfig, linear: FakeLinear
) -> None:
    key = linear.default_api_key
    linear.fail_next(500, message=f"echo of the header: {key}")  # a server that echoes the key back
    tracker = LinearTracker(config)
    with pytest.raises(TrackerError) as caught:
        await tracker.get_issue("INT-100", project)
    assert key not in str(caught.value)
    assert "***" in str(caught.value)
