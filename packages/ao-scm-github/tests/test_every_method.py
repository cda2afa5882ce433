"""Every method the plugin owes (``SCM`` and each optional capability it has), once, over real HTTP.

``protocol_methods`` lists what the plugin owes and ``exercise_methods`` fails when one is not called.
Each call runs on a fresh plugin (no cache can answer for it) and must reach the fake GitHub's API, except
the webhook methods, which read only the delivery, and ``checkout_pr``, which is git's work.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from ao_core.config import ProjectConfig
from ao_core.interfaces import SCM
from ao_core.models import (
    CheckStatus,
    CICheck,
    CIStatus,
    MergeMethod,
    PRInfo,
    PRState,
    ReviewDecision,
    Session,
    WebhookEventKind,
    WebhookRequest,
)
from ao_scm_github import GitHubSCMConfig, create
from ao_testing.contracts import MethodCall, exercise_methods, protocol_methods
from ao_testing.fakes.github import FakeGitHub, WebhookDelivery

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"
SECRET = "a-webhook-secret-for-tests"  # the conftest puts it in the environment
OpenPR = Callable[..., PRInfo]


async def test_every_method_over_real_http(
    github: FakeGitHub,
    config: GitHubSCMConfig,
    open_pr: OpenPR,
    project: ProjectConfig,
    as_request: Callable[[WebhookDelivery], WebhookRequest],
    workspace: Path,
) -> None:
    pr = open_pr("feat/issue-1")
    github.fail_ci(REPO, pr.number, "tests", log="FAILED test_app.py::test_main\n")
    github.request_changes(REPO, pr.number, [("app.py", 1, "Rename main")])
    github.add_bot_comment(REPO, pr.number, "app.py", 1, "Potential bug: unchecked value", bot="cursor[bot]")
    to_merge, to_close, to_claim = open_pr(), open_pr(), open_pr("fix/login")
    github.pass_ci(REPO, to_merge.number)
    github.approve(REPO, to_merge.number)
    session = Session(id="app-1", project_id="app", branch="feat/issue-1")
    delivery = as_request(github.webhook("pull_request", REPO, number=pr.number, secret=SECRET))
    failing = [CICheck(name="tests", status=CheckStatus.FAILED, conclusion="failure")]

    calls = {
        "detect_pr": MethodCall(lambda s: s.detect_pr(session, project), lambda r: r == pr),
        "get_pr_state": MethodCall(lambda s: s.get_pr_state(pr), lambda r: r is PRState.OPEN),
        "get_pr_summary": MethodCall(lambda s: s.get_pr_summary(pr), lambda r: r.title == pr.title),
        "get_pr_snapshots": MethodCall(
            lambda s: s.get_pr_snapshots([pr]), lambda r: r[pr.key].ci_status is CIStatus.FAILING
        ),
        "get_ci_checks": MethodCall(lambda s: s.get_ci_checks(pr), lambda r: [c.name for c in r] == ["tests"]),
        "get_ci_summary": MethodCall(lambda s: s.get_ci_summary(pr), lambda r: r is CIStatus.FAILING),
        "get_ci_log_tails": MethodCall(
            lambda s: s.get_ci_log_tails(pr, failing), lambda r: r == {"tests": "FAILED test_app.py::test_main"}
        ),
        "get_reviews": MethodCall(
            lambda s: s.get_reviews(pr), lambda r: [x.author for x in r] == ["octo-reviewer", "cursor[bot]"]
        ),
        "get_review_decision": MethodCall(
            lambda s: s.get_review_decision(pr), lambda r: r is ReviewDecision.CHANGES_REQUESTED
        ),
        "get_pending_comments": MethodCall(
            lambda s: s.get_pending_comments(pr), lambda r: [c.body for c in r] == ["Rename main"]
        ),
        "get_automated_comments": MethodCall(lambda s: s.get_automated_comments(pr), lambda r: len(r) == 1),
        "get_review_threads": MethodCall(lambda s: s.get_review_threads(pr), lambda r: len(r.threads) == 2),
        "get_mergeability": MethodCall(lambda s: s.get_mergeability(pr), lambda r: not r.mergeable and r.blockers),
        "merge_pr": MethodCall(lambda s: s.merge_pr(to_merge, MergeMethod.SQUASH), lambda r: r is None),
        "close_pr": MethodCall(lambda s: s.close_pr(to_close), lambda r: r is None),
        "resolve_pr": MethodCall(lambda s: s.resolve_pr(str(to_claim.number), project), lambda r: r == to_claim),
        "checkout_pr": MethodCall(lambda s: s.checkout_pr(to_claim, str(workspace)), lambda r: r is True, False),
        "assign_pr_to_current_user": MethodCall(lambda s: s.assign_pr_to_current_user(to_claim), lambda r: r is None),
        "verify_webhook": MethodCall(lambda s: s.verify_webhook(delivery, project), lambda r: r.ok, False),
        "parse_webhook": MethodCall(
            lambda s: s.parse_webhook(delivery, project),
            lambda r: r.kind is WebhookEventKind.PULL_REQUEST and r.pr_number == pr.number,
            False,
        ),
    }
    await exercise_methods(
        protocol_methods(create(config), SCM), calls, lambda: create(config), lambda: len(github.requests)
    )

    assert github.pr(REPO, to_merge.number).merged
    assert github.pr(REPO, to_close.number).state == "closed"
    assert github.pr(REPO, to_claim.number).issue.assignees == ["ao-user"], "the token's user"
    branch = await anyio.run_process(["git", "branch", "--show-current"], cwd=workspace)
    assert branch.stdout.decode().strip() == "fix/login"
