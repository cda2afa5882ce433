"""Webhook deliveries shaped and signed like GitHub's (``X-Hub-Signature-256: sha256=<hmac>``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

from ao_testing.fakes.github._model import (
    CheckRun,
    CommitStatus,
    FakeIssue,
    FakePullRequest,
    FakeRepo,
    IssueComment,
    Review,
    ReviewComment,
    User,
)
from ao_testing.fakes.github._payloads import (
    check_run_json,
    issue_comment_json,
    issue_json,
    pull_json,
    repo_json,
    review_comment_json,
    review_json,
    status_json,
    user_json,
)

__all__ = [
    "WebhookDelivery",
    "check_run_payload",
    "check_suite_payload",
    "deliver",
    "issue_comment_payload",
    "pull_request_payload",
    "push_payload",
    "review_comment_payload",
    "review_payload",
    "sign",
    "status_payload",
]


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookDelivery:
    """One delivery: the event name, its id, the exact body bytes and the headers GitHub sends."""

    event: str
    payload: dict[str, Any]
    secret: str | None = None
    delivery_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    body: bytes = b""
    status: int | None = None
    """The receiver's answer, once delivered."""

    def __post_init__(self) -> None:
        if not self.body:
            self.body = json.dumps(self.payload, separators=(",", ":")).encode()

    @property
    def headers(self) -> dict[str, str]:
        """The headers of the delivery (names as GitHub sends them)."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/fake",
            "X-GitHub-Event": self.event,
            "X-GitHub-Delivery": self.delivery_id,
            "X-GitHub-Hook-ID": "1",
        }
        if self.secret is not None:
            headers["X-Hub-Signature-256"] = sign(self.secret, self.body)
        return headers


def deliver(url: str, delivery: WebhookDelivery, timeout: float = 10.0) -> int:
    """POST a delivery to ``url`` (loopback only) and return the HTTP status of the answer."""
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        raise ValueError(f"the fake delivers webhooks to loopback addresses only, not {url!r}")
    request = urllib.request.Request(url, data=delivery.body, headers=delivery.headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            delivery.status = int(response.status)
    except urllib.error.HTTPError as exc:
        delivery.status = exc.code
    return delivery.status


def _envelope(base: str, repo: FakeRepo, sender: User, action: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if action is not None:
        data["action"] = action
    data["repository"] = repo_json(base, repo)
    data["sender"] = user_json(base, sender)
    return data


def pull_request_payload(base: str, repo: FakeRepo, pr: FakePullRequest, action: str, sender: User) -> dict[str, Any]:
    """``pull_request`` (opened, closed, reopened, synchronize, edited, ready_for_review, ...)."""
    return {"number": pr.number, "pull_request": pull_json(base, repo, pr, full=False)} | _envelope(
        base, repo, sender, action
    )


def review_payload(base: str, repo: FakeRepo, pr: FakePullRequest, review: Review, action: str) -> dict[str, Any]:
    """``pull_request_review`` (submitted, dismissed)."""
    return {
        "review": review_json(base, repo, pr, review),
        "pull_request": pull_json(base, repo, pr, full=False),
    } | _envelope(base, repo, review.user, action)


def review_comment_payload(
    base: str, repo: FakeRepo, pr: FakePullRequest, comment: ReviewComment, action: str
) -> dict[str, Any]:
    """``pull_request_review_comment`` (created)."""
    return {
        "comment": review_comment_json(base, repo, pr, comment),
        "pull_request": pull_json(base, repo, pr, full=False),
    } | _envelope(base, repo, comment.user, action)


def issue_comment_payload(
    base: str, repo: FakeRepo, issue: FakeIssue, comment: IssueComment, action: str
) -> dict[str, Any]:
    """``issue_comment`` (created); the issue carries ``pull_request`` when it is one."""
    return {
        "issue": issue_json(base, repo, issue),
        "comment": issue_comment_json(base, repo, issue, comment),
    } | _envelope(base, repo, comment.user, action)


def _pr_refs(base: str, repo: FakeRepo, prs: list[FakePullRequest]) -> list[dict[str, Any]]:
    return [
        {
            "url": f"{base}/repos/{repo.full_name}/pulls/{p.number}",
            "id": p.id,
            "number": p.number,
            "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": {"id": repo.id, "name": repo.name}},
            "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": {"id": repo.id, "name": repo.name}},
        }
        for p in prs
    ]


def check_run_payload(
    base: str, repo: FakeRepo, run: CheckRun, prs: list[FakePullRequest], action: str, sender: User
) -> dict[str, Any]:
    """``check_run`` (created, completed, rerequested)."""
    data = check_run_json(base, repo, run, prs)
    data["check_suite"] = {
        "id": run.id + 500_000,
        "head_branch": prs[0].head_ref if prs else None,
        "head_sha": run.head_sha,
        "status": run.status,
        "conclusion": run.conclusion,
        "pull_requests": _pr_refs(base, repo, prs),
    }
    return {"check_run": data} | _envelope(base, repo, sender, action)


def check_suite_payload(
    base: str, repo: FakeRepo, sha: str, prs: list[FakePullRequest], conclusion: str | None, sender: User
) -> dict[str, Any]:
    """``check_suite`` (completed): every check run of the head commit finished."""
    suite_id = zlib.crc32(sha.encode())
    suite = {
        "id": suite_id,
        "node_id": "CS_fake",
        "head_branch": prs[0].head_ref if prs else None,
        "head_sha": sha,
        "status": "completed",
        "conclusion": conclusion,
        "url": f"{base}/repos/{repo.full_name}/check-suites/{suite_id}",
        "pull_requests": _pr_refs(base, repo, prs),
        "app": {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"},
    }
    return {"check_suite": suite} | _envelope(base, repo, sender, "completed")


def status_payload(base: str, repo: FakeRepo, status: CommitStatus, branches: list[str]) -> dict[str, Any]:
    """``status``: no ``action``; ``sha``, ``state``, ``context`` and the branches containing the commit."""
    data = status_json(base, repo, status)
    return {
        "id": status.id,
        "sha": status.sha,
        "name": repo.full_name,
        "target_url": status.target_url,
        "context": status.context,
        "description": status.description,
        "state": status.state,
        "commit": {"sha": status.sha, "url": f"{base}/repos/{repo.full_name}/commits/{status.sha}"},
        "branches": [
            {"name": b, "commit": {"sha": status.sha, "url": f"{base}/repos/{repo.full_name}/commits/{status.sha}"}}
            for b in branches
        ],
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    } | _envelope(base, repo, status.creator, None)


def push_payload(
    base: str, repo: FakeRepo, branch: str, before: str | None, after: str | None, sender: User
) -> dict[str, Any]:
    """``push`` to a branch (``before``/``after`` SHAs; all zeros for a created or deleted branch)."""
    zero = "0" * 40
    commits: list[dict[str, Any]] = []
    if after is not None:
        shas = repo.git.commits_between(before, after) if before is not None else [after]
        for sha in shas[-20:]:
            info = repo.git.commit_info(sha)
            commits.append(
                {
                    "id": sha,
                    "tree_id": info["tree"],
                    "message": info["message"],
                    "timestamp": info["committer_date"],
                    "url": f"{base}/{repo.full_name}/commit/{sha}",
                    "author": {"name": info["author_name"], "email": info["author_email"]},
                    "committer": {"name": info["committer_name"], "email": info["committer_email"]},
                    "distinct": True,
                }
            )
    return {
        "ref": f"refs/heads/{branch}",
        "before": before or zero,
        "after": after or zero,
        "created": before is None,
        "deleted": after is None,
        "forced": False,
        "base_ref": None,
        "compare": f"{base}/{repo.full_name}/compare/{(before or zero)[:12]}...{(after or zero)[:12]}",
        "commits": commits,
        "head_commit": commits[-1] if commits else None,
        "pusher": {"name": sender.login, "email": f"{sender.login}@users.noreply.fake-github.invalid"},
    } | _envelope(base, repo, sender, None)
