from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from ao_core.config import ProjectConfig
from ao_core.models import PRInfo, WebhookEventKind, WebhookRequest
from ao_scm_github import GitHubSCMConfig, GitHubWebhookConfig, create
from ao_scm_github._scm import GitHubSCM
from ao_testing.fakes.github import FakeGitHub, WebhookDelivery
from ao_testing.fakes.github import sign as github_signature

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"
SECRET = "a-webhook-secret-for-tests"
OpenPR = Callable[..., PRInfo]
AsRequest = Callable[[WebhookDelivery], WebhookRequest]


def deliveries_of_every_kind(github: FakeGitHub, pr: PRInfo) -> dict[str, WebhookDelivery]:
    """One signed delivery per event type ao handles, built by the fake from real state."""
    github.request_changes(REPO, pr.number, [("app.py", 1, "Rename")])
    github.comment(REPO, pr.number, "Any news?")
    github.fail_ci(REPO, pr.number)
    github.set_status(REPO, pr.number, "codecov/patch", "success")
    github.commit(REPO, pr.branch, {"later.py": "LATER = 1\n"})
    github.pass_ci(REPO, pr.number)
    github.set_status(REPO, pr.number, "codecov/patch", "success")
    events = [
        ("pull_request", "synchronize"),
        ("pull_request_review", None),
        ("pull_request_review_comment", None),
        ("issue_comment", None),
        ("check_run", None),
        ("check_suite", None),
        ("status", None),
        ("push", None),
    ]
    return {
        event: github.webhook(event, REPO, number=pr.number, action=action, secret=SECRET) for event, action in events
    }


async def test_every_event_type_is_verified_and_parsed(
    github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig, open_pr: OpenPR, as_request: AsRequest
) -> None:
    pr = open_pr("feat/issue-5")
    deliveries = deliveries_of_every_kind(github, pr)
    head = github.head_sha(REPO, pr.number)
    expected_kind = {
        "pull_request": WebhookEventKind.PULL_REQUEST,
        "pull_request_review": WebhookEventKind.REVIEW,
        "pull_request_review_comment": WebhookEventKind.COMMENT,
        "issue_comment": WebhookEventKind.COMMENT,
        "check_run": WebhookEventKind.CI,
        "check_suite": WebhookEventKind.CI,
        "status": WebhookEventKind.CI,
        "push": WebhookEventKind.PUSH,
    }
    for event, delivery in deliveries.items():
        request = as_request(delivery)
        verdict = await scm.verify_webhook(request, project)
        assert verdict.ok, (event, verdict.reason)
        assert (verdict.event_type, verdict.delivery_id) == (event, delivery.delivery_id)
        parsed = await scm.parse_webhook(request, project)
        assert parsed is not None, event
        assert parsed.kind is expected_kind[event], event
        assert (parsed.provider, parsed.raw_event_type, parsed.delivery_id) == ("github", event, delivery.delivery_id)
        assert (parsed.owner, parsed.repo) == ("octo", "app"), event
        if event not in ("push", "status"):
            assert parsed.pr_number == pr.number, event
        if event in ("pull_request", "pull_request_review", "check_run", "check_suite", "push"):
            assert parsed.branch == "feat/issue-5", event
        if event in ("pull_request", "check_run", "check_suite", "status", "push"):
            assert parsed.sha == head, event
    review = await scm.parse_webhook(as_request(github.webhook("pull_request_review", REPO, number=pr.number)), project)
    assert review is not None
    assert review.data["review_state"] == "CHANGES_REQUESTED"


async def test_comment_on_a_plain_issue_is_of_no_use(
    github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig, as_request: AsRequest
) -> None:
    number = github.create_issue(REPO, "Question")
    github.comment(REPO, number, "Hello")
    request = as_request(github.webhook("issue_comment", REPO, number=number, secret=SECRET))
    assert (await scm.verify_webhook(request, project)).ok
    assert await scm.parse_webhook(request, project) is None


def signed(body: bytes, event: str = "push", secret: str = SECRET) -> WebhookRequest:
    return WebhookRequest(
        method="POST",
        path="/api/webhooks/github",
        headers={
            "x-github-event": event,
            "x-github-delivery": "d-1",
            "x-hub-signature-256": github_signature(secret, body),
            "content-type": "application/json",
        },
        body=body,
    )


async def test_bad_signatures_are_401(github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig) -> None:
    body = b'{"ref": "refs/heads/main"}'
    assert (await scm.verify_webhook(signed(body), project)).ok
    wrong_secret = await scm.verify_webhook(signed(body, secret="not-the-secret"), project)
    assert (wrong_secret.ok, wrong_secret.status_code) == (False, 401)
    tampered = signed(body).model_copy(update={"body": body.replace(b"main", b"evil")})
    assert (await scm.verify_webhook(tampered, project)).status_code == 401
    unsigned = signed(body)
    del unsigned.headers["x-hub-signature-256"]
    missing = await scm.verify_webhook(unsigned, project)
    assert (missing.status_code, missing.reason) == (401, "the X-Hub-Signature-256 header is missing")
    sha1 = signed(body)
    sha1.headers["x-hub-signature-256"] = "sha1=" + "0" * 40
    assert (await scm.verify_webhook(sha1, project)).status_code == 401
    assert SECRET not in str(wrong_secret.reason)


async def test_no_configured_secret_refuses(
    github: FakeGitHub, project: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AO_TEST_UNSET_SECRET", raising=False)
    scm = create(GitHubSCMConfig(base_url=github.url, webhook=GitHubWebhookConfig(secret_env="AO_TEST_UNSET_SECRET")))
    assert isinstance(scm, GitHubSCM)
    verdict = await scm.verify_webhook(signed(b"{}"), project)
    assert (verdict.ok, verdict.status_code) == (False, 401)
    assert "AO_TEST_UNSET_SECRET" in str(verdict.reason)


async def test_oversize_is_413(github: FakeGitHub, config: GitHubSCMConfig, project: ProjectConfig) -> None:
    small = create(config.model_copy(update={"webhook": config.webhook.model_copy(update={"max_body_bytes": 64})}))
    assert isinstance(small, GitHubSCM)
    body = json.dumps({"padding": "x" * 100}).encode()
    verdict = await small.verify_webhook(signed(body), project)
    assert (verdict.ok, verdict.status_code) == (False, 413)
    assert (await small.verify_webhook(signed(b'{"a": 1}'), project)).ok


async def test_malformed_json_is_400(github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig) -> None:
    verdict = await scm.verify_webhook(signed(b"{not json"), project)
    assert (verdict.ok, verdict.status_code) == (False, 400)
    assert await scm.parse_webhook(signed(b"{not json"), project) is None


async def test_other_methods_are_405(github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig) -> None:
    request = signed(b"{}").model_copy(update={"method": "GET"})
    assert (await scm.verify_webhook(request, project)).status_code == 405


async def test_ping_and_unknown_events(github: FakeGitHub, scm: GitHubSCM, project: ProjectConfig) -> None:
    assert await scm.parse_webhook(signed(b'{"zen": "Keep it simple."}', event="ping"), project) is None
    body = json.dumps({"action": "created", "repository": {"name": "app", "owner": {"login": "octo"}}}).encode()
    event = await scm.parse_webhook(signed(body, event="release"), project)
    assert event is not None
    assert event.kind is WebhookEventKind.UNKNOWN
    assert (event.owner, event.repo, event.action) == ("octo", "app", "created")


# --------------------------------------------------------------------------- delivered over HTTP, as GitHub does


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/webhooks/github", received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def test_deliveries_sent_by_the_fake_verify(
    github: FakeGitHub,
    scm: GitHubSCM,
    project: ProjectConfig,
    open_pr: OpenPR,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, received = receiver
    github.add_webhook(url, SECRET)
    pr = open_pr()
    github.approve(REPO, pr.number)
    github.fail_ci(REPO, pr.number)
    github.wait_for_deliveries()
    events = [headers["x-github-event"] for headers, _ in received]
    assert {"push", "pull_request", "pull_request_review", "check_run", "check_suite"} <= set(events), events
    assert all(d.status == 204 for d in github.deliveries)
    for headers, body in received:
        request = WebhookRequest(method="POST", path="/api/webhooks/github", headers=headers, body=body)
        assert (await scm.verify_webhook(request, project)).ok, headers["x-github-event"]
        assert await scm.parse_webhook(request, project) is not None
