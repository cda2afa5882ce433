"""Webhook deliveries: verification (size, HMAC-SHA256 signature, JSON) and parsing into ``WebhookEvent``."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from ao_core.models import WebhookEvent, WebhookEventKind, WebhookRequest, WebhookVerification

from ao_scm_github._config import GitHubWebhookConfig
from ao_scm_github._mapping import parse_time

__all__ = ["parse", "verify"]

_KINDS = {
    "pull_request": WebhookEventKind.PULL_REQUEST,
    "pull_request_review": WebhookEventKind.REVIEW,
    "pull_request_review_comment": WebhookEventKind.COMMENT,
    "pull_request_review_thread": WebhookEventKind.COMMENT,
    "issue_comment": WebhookEventKind.COMMENT,
    "check_run": WebhookEventKind.CI,
    "check_suite": WebhookEventKind.CI,
    "status": WebhookEventKind.CI,
    "push": WebhookEventKind.PUSH,
}


def verify(request: WebhookRequest, config: GitHubWebhookConfig) -> WebhookVerification:
    """Check method, size, signature (HMAC-SHA256 with the secret from ``config.secret_env``) and JSON.

    Answers: 405 for a method other than POST, 413 when larger than ``max_body_bytes``, 401 when the
    secret is not configured or the signature is missing or wrong, 400 when the body is not JSON.
    """
    headers = {k.lower(): v for k, v in request.headers.items()}
    delivery = headers.get("x-github-delivery")
    event = headers.get("x-github-event")

    def refuse(status: int, reason: str) -> WebhookVerification:
        return WebhookVerification(ok=False, status_code=status, reason=reason, delivery_id=delivery, event_type=event)

    if request.method.upper() != "POST":
        return refuse(405, f"webhooks are POSTed, not sent with {request.method.upper()}")
    if len(request.body) > config.max_body_bytes:
        return refuse(413, f"the body has {len(request.body)} bytes; the limit is {config.max_body_bytes}")
    secret = os.environ.get(config.secret_env, "")
    if not secret:
        return refuse(401, f"no webhook secret is configured: set the environment variable {config.secret_env}")
    signature = headers.get("x-hub-signature-256", "")
    if not signature:
        return refuse(401, "the X-Hub-Signature-256 header is missing")
    if not signature.startswith("sha256="):
        return refuse(401, "the X-Hub-Signature-256 header is not sha256=<hex>")
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return refuse(401, "the signature does not match the body (wrong secret, or the body was changed)")
    if not event:
        return refuse(400, "the X-GitHub-Event header is missing")
    try:
        json.loads(request.body)
    except ValueError:
        return refuse(400, "the body is not JSON")
    return WebhookVerification(ok=True, delivery_id=delivery, event_type=event)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def parse(request: WebhookRequest) -> WebhookEvent | None:
    """The event of a verified delivery; ``None`` for deliveries ao has no use for (``ping``, plain issues)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    event = headers.get("x-github-event", "")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or event == "ping":
        return None
    action = str(payload.get("action") or "")
    pr_number: int | None = None
    branch: str | None = None
    sha: str | None = None
    timestamp = None
    data: dict[str, Any] = {}
    if event in ("pull_request", "pull_request_review", "pull_request_review_comment", "pull_request_review_thread"):
        pull = payload.get("pull_request") or {}
        pr_number = pull.get("number") or payload.get("number")
        branch = _get(pull, "head", "ref")
        sha = _get(pull, "head", "sha")
        timestamp = parse_time(pull.get("updated_at"))
        data = {"state": pull.get("state"), "merged": pull.get("merged_at") is not None, "draft": pull.get("draft")}
        if event == "pull_request_review":
            data |= {
                "review_state": _get(payload, "review", "state"),
                "reviewer": _get(payload, "review", "user", "login"),
            }
            timestamp = parse_time(_get(payload, "review", "submitted_at")) or timestamp
        elif event == "pull_request_review_comment":
            comment = payload.get("comment") or {}
            data |= {"comment_id": comment.get("id"), "path": comment.get("path"), "line": comment.get("line")}
            data["author"] = _get(comment, "user", "login")
            timestamp = parse_time(comment.get("created_at")) or timestamp
    elif event == "issue_comment":
        issue = payload.get("issue") or {}
        if not issue.get("pull_request"):
            return None
        pr_number = issue.get("number")
        comment = payload.get("comment") or {}
        data = {"comment_id": comment.get("id"), "author": _get(comment, "user", "login")}
        timestamp = parse_time(comment.get("created_at"))
    elif event == "check_run":
        run = payload.get("check_run") or {}
        sha = run.get("head_sha")
        branch = _get(run, "check_suite", "head_branch")
        pulls = run.get("pull_requests") or _get(run, "check_suite", "pull_requests") or []
        pr_number = pulls[0].get("number") if pulls and isinstance(pulls[0], dict) else None
        data = {"name": run.get("name"), "status": run.get("status"), "conclusion": run.get("conclusion")}
        timestamp = parse_time(run.get("completed_at") or run.get("started_at"))
    elif event == "check_suite":
        suite = payload.get("check_suite") or {}
        sha = suite.get("head_sha")
        branch = suite.get("head_branch")
        pulls = suite.get("pull_requests") or []
        pr_number = pulls[0].get("number") if pulls and isinstance(pulls[0], dict) else None
        data = {"status": suite.get("status"), "conclusion": suite.get("conclusion")}
    elif event == "status":
        sha = payload.get("sha")
        branches = payload.get("branches") or []
        branch = branches[0].get("name") if len(branches) == 1 and isinstance(branches[0], dict) else None
        data = {
            "context": payload.get("context"),
            "state": payload.get("state"),
            "target_url": payload.get("target_url"),
        }
        timestamp = parse_time(payload.get("updated_at"))
    elif event == "push":
        ref = str(payload.get("ref") or "")
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        sha = payload.get("after")
        data = {"before": payload.get("before"), "created": payload.get("created"), "deleted": payload.get("deleted")}
        timestamp = parse_time(_get(payload, "head_commit", "timestamp"))
    else:
        pull = payload.get("pull_request") or {}
        pr_number = pull.get("number")
        branch = _get(pull, "head", "ref")
        sha = _get(pull, "head", "sha")
    repository = payload.get("repository") or {}
    return WebhookEvent(
        provider="github",
        kind=_KINDS.get(event, WebhookEventKind.UNKNOWN),
        action=action,
        raw_event_type=event,
        delivery_id=headers.get("x-github-delivery"),
        owner=_get(repository, "owner", "login"),
        repo=repository.get("name"),
        pr_number=int(pr_number) if isinstance(pr_number, int) else None,
        branch=branch,
        sha=sha,
        timestamp=timestamp,
        data={k: v for k, v in data.items() if v is not None},
    )
