from __future__ import annotations

import json
from typing import Any

import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import SCMError
from ao_core.interfaces import (
    SupportsClaimPR,
    SupportsPRSnapshots,
    SupportsPRSummary,
    SupportsReviewThreads,
    SupportsWebhooks,
)
from ao_core.models import (
    CheckStatus,
    CIStatus,
    MergeMethod,
    PRState,
    ReviewDecision,
    ReviewState,
    WebhookEventKind,
    WebhookRequest,
)
from ao_core.testing import FakeSCM, make_session

pytestmark = pytest.mark.anyio

PROJECT = ProjectConfig(path="/repo", repo="acme/app")


def test_fake_scm_has_every_capability(fake_scm: FakeSCM) -> None:
    for capability in (
        SupportsPRSnapshots,
        SupportsPRSummary,
        SupportsReviewThreads,
        SupportsClaimPR,
        SupportsWebhooks,
    ):
        assert isinstance(fake_scm, capability)


async def test_detect_pr_by_branch_repo_and_state(fake_scm: FakeSCM) -> None:
    session = make_session(branch="feat/issue-42")
    assert await fake_scm.detect_pr(session, PROJECT) is None
    assert await fake_scm.detect_pr(make_session(), PROJECT) is None
    fake_scm.open_pr("feat/issue-42", owner="other", repo="repo")
    assert await fake_scm.detect_pr(session, PROJECT) is None
    first = fake_scm.open_pr("feat/issue-42")
    second = fake_scm.open_pr("feat/issue-42")
    assert (await fake_scm.detect_pr(session, PROJECT)) == second
    fake_scm.set_state(second, PRState.CLOSED)
    assert (await fake_scm.detect_pr(session, PROJECT)) == first
    assert first.url == "https://scm.example.test/acme/app/pull/2"
    assert first.key == "acme/app#2"


@pytest.mark.parametrize(
    ("statuses", "summary"),
    [
        ([], CIStatus.NONE),
        ([CheckStatus.SKIPPED], CIStatus.NONE),
        ([CheckStatus.PASSED, CheckStatus.SKIPPED], CIStatus.PASSING),
        ([CheckStatus.PASSED, CheckStatus.RUNNING], CIStatus.PENDING),
        ([CheckStatus.PENDING], CIStatus.PENDING),
        ([CheckStatus.PASSED, CheckStatus.RUNNING, CheckStatus.FAILED], CIStatus.FAILING),
    ],
)
async def test_ci_summary_from_checks(fake_scm: FakeSCM, statuses: list[CheckStatus], summary: CIStatus) -> None:
    pr = fake_scm.open_pr("b")
    for n, status in enumerate(statuses):
        fake_scm.add_check(pr, f"check-{n}", status)
    assert await fake_scm.get_ci_summary(pr) is summary
    assert [c.status for c in await fake_scm.get_ci_checks(pr)] == statuses


async def test_unreadable_pr_fails_closed(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b")
    fake_scm.set_readable(pr, False)
    with pytest.raises(SCMError, match="cannot read"):
        await fake_scm.get_ci_checks(pr)
    assert await fake_scm.get_ci_summary(pr) is CIStatus.FAILING
    assert await fake_scm.get_pr_snapshots([pr]) == {}


async def test_review_decision_uses_the_latest_review_per_author(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b", review_required=True)
    assert await fake_scm.get_review_decision(pr) is ReviewDecision.PENDING
    fake_scm.add_review(pr, "ann", ReviewState.CHANGES_REQUESTED)
    fake_scm.add_review(pr, "bo", ReviewState.APPROVED)
    assert await fake_scm.get_review_decision(pr) is ReviewDecision.CHANGES_REQUESTED
    fake_scm.add_review(pr, "ann", ReviewState.COMMENTED)
    assert await fake_scm.get_review_decision(pr) is ReviewDecision.CHANGES_REQUESTED
    fake_scm.add_review(pr, "ann", ReviewState.APPROVED)
    assert await fake_scm.get_review_decision(pr) is ReviewDecision.APPROVED
    fake_scm.set_review_decision(pr, ReviewDecision.NONE)
    assert await fake_scm.get_review_decision(pr) is ReviewDecision.NONE
    assert len(await fake_scm.get_reviews(pr)) == 4


async def test_mergeability_names_every_blocker(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b", review_required=True, is_draft=True)
    await fake_scm.set_ci(pr, CIStatus.PENDING)
    fake_scm.set_conflicts(pr)
    fake_scm.set_behind(pr)
    readiness = await fake_scm.get_mergeability(pr)
    assert readiness.blockers == [
        "CI is pending",
        "Review required",
        "Merge conflicts",
        "Branch is behind base branch",
        "PR is still a draft",
    ]
    assert (readiness.mergeable, readiness.ci_passing, readiness.approved, readiness.no_conflicts) == (
        False,
        False,
        False,
        False,
    )
    with pytest.raises(SCMError, match=r"cannot merge acme/app#1: CI is pending; Review required"):
        await fake_scm.merge_pr(pr)
    assert await fake_scm.get_pr_state(pr) is PRState.OPEN


async def test_backdoor_and_merge(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b", review_required=True)
    await fake_scm.request_changes(pr, ["rename x", "add a test"])
    assert [c.body for c in await fake_scm.get_pending_comments(pr)] == ["rename x", "add a test"]
    assert (await fake_scm.get_mergeability(pr)).blockers == ["Changes requested in review"]
    await fake_scm.approve(pr)
    await fake_scm.set_ci(pr, CIStatus.FAILING)
    assert (await fake_scm.get_mergeability(pr)).blockers == ["CI is failing"]
    await fake_scm.set_ci(pr, CIStatus.PASSING)
    readiness = await fake_scm.get_mergeability(pr)
    assert (readiness.mergeable, readiness.approved) == (True, True)
    await fake_scm.merge_pr(pr, MergeMethod.REBASE)
    assert await fake_scm.get_pr_state(pr) is PRState.MERGED
    assert fake_scm.pr(pr).merged_with is MergeMethod.REBASE
    assert (await fake_scm.get_mergeability(pr)).mergeable is True
    with pytest.raises(SCMError, match="it is merged"):
        await fake_scm.merge_pr(pr)
    with pytest.raises(SCMError, match="already merged"):
        await fake_scm.close_pr(pr)


async def test_close_then_merge_is_refused(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b")
    await fake_scm.close_pr(pr)
    assert await fake_scm.get_pr_state(pr) is PRState.CLOSED
    with pytest.raises(SCMError, match="it is closed"):
        await fake_scm.merge_pr(pr)


async def test_comments_resolve_and_threads(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b")
    human = fake_scm.add_pending_comment(pr, "why?", path="a.py", line=3)
    bot = fake_scm.add_automated_comment(pr, "unused import", severity="error")
    fake_scm.add_review(pr, "ann", ReviewState.COMMENTED, body="Some notes")
    threads = await fake_scm.get_review_threads(pr)
    assert [(t.body, t.is_bot) for t in threads.threads] == [("why?", False), ("unused import", True)]
    assert [r.body for r in threads.reviews] == ["Some notes"]
    assert [c.id for c in await fake_scm.get_automated_comments(pr)] == [bot.id]
    fake_scm.resolve_comment(pr, human.id)
    fake_scm.resolve_comment(pr, bot.id)
    assert await fake_scm.get_pending_comments(pr) == []
    assert await fake_scm.get_automated_comments(pr) == []
    assert (await fake_scm.get_review_threads(pr)).threads == []


async def test_snapshots_in_one_call(fake_scm: FakeSCM) -> None:
    green = fake_scm.open_pr("green", additions=5, deletions=2)
    await fake_scm.set_ci(green, CIStatus.PASSING)
    red = fake_scm.open_pr("red")
    await fake_scm.set_ci(red, CIStatus.FAILING)
    missing = green.model_copy(update={"number": 99})
    fake_scm.reset_calls()
    snapshots = await fake_scm.get_pr_snapshots([green, red, missing])
    assert fake_scm.calls == {"get_pr_snapshots": 1}
    assert set(snapshots) == {green.key, red.key}
    assert (snapshots[green.key].mergeable, snapshots[green.key].additions) == (True, 5)
    assert snapshots[green.key].ci_checks is not None
    assert (snapshots[red.key].ci_status, snapshots[red.key].blockers) == (CIStatus.FAILING, ["CI is failing"])
    summary = await fake_scm.get_pr_summary(green)
    assert (summary.state, summary.additions, summary.deletions) == (PRState.OPEN, 5, 2)


async def test_claim_pr(fake_scm: FakeSCM) -> None:
    pr = fake_scm.open_pr("b")
    assert await fake_scm.resolve_pr("1", PROJECT) == pr
    assert await fake_scm.resolve_pr("#1", PROJECT) == pr
    assert await fake_scm.resolve_pr(pr.url, PROJECT) == pr
    with pytest.raises(SCMError, match="no pull request acme/app#5"):
        await fake_scm.resolve_pr("5", PROJECT)
    with pytest.raises(SCMError, match="give a number"):
        await fake_scm.resolve_pr("main", PROJECT)
    assert await fake_scm.checkout_pr(pr, "/w") is True
    assert await fake_scm.checkout_pr(pr, "/w") is False
    await fake_scm.assign_pr_to_current_user(pr)
    await fake_scm.assign_pr_to_current_user(pr)
    assert fake_scm.pr(pr).assignees == ["fake-user"]


def test_open_pr_refuses_a_taken_number(fake_scm: FakeSCM) -> None:
    fake_scm.open_pr("a", number=3)
    with pytest.raises(SCMError, match="already exists"):
        fake_scm.open_pr("b", number=3)
    assert fake_scm.open_pr("c").number == 1


PR_PAYLOAD = {
    "action": "synchronize",
    "number": 7,
    "pull_request": {"number": 7, "head": {"ref": "feat/issue-42", "sha": "abc"}},
    "repository": {"full_name": "acme/app"},
}


async def test_webhook_verification(fake_scm: FakeSCM) -> None:
    good = fake_scm.make_webhook_request("pull_request", PR_PAYLOAD, delivery_id="d-1")
    verdict = await fake_scm.verify_webhook(good, PROJECT)
    assert (verdict.ok, verdict.delivery_id, verdict.event_type) == (True, "d-1", "pull_request")
    cases = {
        "tampered": (good.model_copy(update={"body": good.body + b" "}), 401),
        "unsigned": (fake_scm.make_webhook_request("pull_request", PR_PAYLOAD, signed=False), 401),
        "get": (good.model_copy(update={"method": "GET"}), 405),
    }
    for name, (request, status) in cases.items():
        verdict = await fake_scm.verify_webhook(request, PROJECT)
        assert (verdict.ok, verdict.status_code) == (False, status), name
        assert "test-secret" not in (verdict.reason or "")
    headers = dict(good.headers)
    del headers["x-github-event"]
    no_event = good.model_copy(update={"headers": headers})
    assert (await fake_scm.verify_webhook(no_event, PROJECT)).status_code == 400


async def test_webhook_limits_and_missing_secret() -> None:
    small = FakeSCM(webhook_secret="s", max_webhook_bytes=10)
    big = small.make_webhook_request("push", {"ref": "refs/heads/" + "x" * 50})
    assert (await small.verify_webhook(big, PROJECT)).status_code == 413
    no_secret = FakeSCM()
    request = WebhookRequest(method="POST", path="/", headers={"x-hub-signature-256": "sha256=00"}, body=b"{}")
    verdict = await no_secret.verify_webhook(request, PROJECT)
    assert (verdict.ok, verdict.status_code) == (False, 401)
    with pytest.raises(ValueError, match="no webhook_secret"):
        no_secret.sign(b"{}")


@pytest.mark.parametrize(
    ("event_type", "payload", "expected"),
    [
        ("pull_request", PR_PAYLOAD, (WebhookEventKind.PULL_REQUEST, 7, "feat/issue-42", "abc")),
        (
            "pull_request_review",
            {**PR_PAYLOAD, "action": "submitted"},
            (WebhookEventKind.REVIEW, 7, "feat/issue-42", "abc"),
        ),
        (
            "check_suite",
            {"action": "completed", "check_suite": {"head_branch": "b", "head_sha": "s1"}},
            (WebhookEventKind.CI, None, "b", "s1"),
        ),
        (
            "check_run",
            {"check_run": {"check_suite": {"head_branch": "b", "head_sha": "s2"}}},
            (WebhookEventKind.CI, None, "b", "s2"),
        ),
        ("status", {"sha": "s3", "branches": [{"name": "b"}]}, (WebhookEventKind.CI, None, "b", "s3")),
        ("push", {"ref": "refs/heads/b", "after": "s4"}, (WebhookEventKind.PUSH, None, "b", "s4")),
        (
            "issue_comment",
            {"issue": {"number": 7, "pull_request": {"url": "x"}}},
            (WebhookEventKind.COMMENT, 7, None, None),
        ),
    ],
)
async def test_parse_webhook(
    fake_scm: FakeSCM,
    event_type: str,
    payload: dict[str, Any],
    expected: tuple[WebhookEventKind, int | None, str | None, str | None],
) -> None:
    event = await fake_scm.parse_webhook(fake_scm.make_webhook_request(event_type, payload), PROJECT)
    assert event is not None
    assert (event.kind, event.pr_number, event.branch, event.sha) == expected
    assert (event.provider, event.raw_event_type) == ("fake", event_type)


async def test_parse_webhook_ignores_what_ao_cannot_use(fake_scm: FakeSCM) -> None:
    ignored: list[tuple[str, dict[str, Any]]] = [("ping", {"zen": "hi"}), ("issue_comment", {"issue": {"number": 3}})]
    for event_type, payload in ignored:
        assert await fake_scm.parse_webhook(fake_scm.make_webhook_request(event_type, payload), PROJECT) is None
    for body in (b"not json", json.dumps([1, 2]).encode()):
        request = WebhookRequest(method="POST", path="/", headers={"x-github-event": "push"}, body=body)
        assert await fake_scm.parse_webhook(request, PROJECT) is None
