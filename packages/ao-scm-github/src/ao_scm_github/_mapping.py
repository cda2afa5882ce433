"""Pure mappings from GitHub's data to ao's models.

CI checks, their summary and log tails, reviews, review threads, mergeability blockers and pull-request snapshots.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ao_core.models import (
    AutomatedComment,
    CheckStatus,
    CICheck,
    CIStatus,
    PRSnapshot,
    PRState,
    ReviewComment,
    ReviewDecision,
    ReviewState,
    ReviewSummary,
)

__all__ = [
    "BOT_LOGINS",
    "blockers",
    "check_from_context",
    "check_from_run",
    "check_from_status",
    "ci_from_rollup",
    "ci_summary",
    "is_bot",
    "log_tail",
    "parse_time",
    "pr_state",
    "review_decision",
    "review_state",
    "severity",
    "snapshot_from_graphql",
    "thread_comment",
]

BOT_LOGINS = frozenset(
    {
        "cursor[bot]",
        "github-actions[bot]",
        "codecov[bot]",
        "sonarcloud[bot]",
        "dependabot[bot]",
        "renovate[bot]",
        "codeclimate[bot]",
        "deepsource-autofix[bot]",
        "snyk-bot",
        "lgtm-com[bot]",
    }
)
"""Known automated reviewers (REST spelling). GraphQL reports bots of type ``Bot`` without the suffix."""

_BOT_BARE = frozenset(login.removesuffix("[bot]") for login in BOT_LOGINS)

_FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "cancelled", "action_required", "startup_failure", "error"})
_PASSED_CONCLUSIONS = frozenset({"success", "neutral"})
_SKIPPED_CONCLUSIONS = frozenset({"skipped", "stale"})


def parse_time(value: Any) -> datetime | None:
    """A GitHub timestamp (``2024-05-01T12:00:00Z``) or a datetime, as an aware datetime."""
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def is_bot(login: str | None, typename: str | None = None) -> bool:
    """Whether an author is an automated reviewer: a ``Bot``, a ``[bot]`` login, or a known bot."""
    if not login:
        return False
    return typename == "Bot" or login.endswith("[bot]") or login in BOT_LOGINS or login in _BOT_BARE


# --------------------------------------------------------------------------- CI


def _run_status(status: str | None, conclusion: str | None) -> CheckStatus:
    status = (status or "").lower()
    conclusion = (conclusion or "").lower()
    if status != "completed":
        return CheckStatus.RUNNING if status == "in_progress" else CheckStatus.PENDING
    if conclusion in _PASSED_CONCLUSIONS:
        return CheckStatus.PASSED
    if conclusion in _SKIPPED_CONCLUSIONS:
        return CheckStatus.SKIPPED
    return CheckStatus.FAILED


def _status_state(state: str | None) -> CheckStatus:
    state = (state or "").lower()
    if state == "success":
        return CheckStatus.PASSED
    if state in ("failure", "error"):
        return CheckStatus.FAILED
    return CheckStatus.PENDING


LOG_TAIL_LINES = 30
LOG_TAIL_CHARS = 3000
_LOG_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_ACTIONS_MARKERS = {"##[group]": "", "##[error]": "Error: ", "##[warning]": "Warning: "}


def log_tail(text: str, lines: int = LOG_TAIL_LINES, chars: int = LOG_TAIL_CHARS) -> str:
    """The last ``lines`` non-blank lines of a log, without Actions' timestamps, markers and terminal colours.

    At most ``chars`` characters (whole lines, the oldest dropped first; one longer line is cut at its start).
    """
    kept: list[str] = []
    size = 0
    for raw in reversed(text.splitlines()):
        line = _ANSI.sub("", _LOG_TIMESTAMP.sub("", raw)).rstrip()
        if not line.strip() or line.startswith("##[endgroup]"):
            continue
        for marker, replacement in _ACTIONS_MARKERS.items():
            if line.startswith(marker):
                line = replacement + line[len(marker) :]
        if size + len(line) + 1 > chars:
            if not kept:
                kept.append("…" + line[-(chars - 1) :])
            break
        kept.append(line)
        size += len(line) + 1
        if len(kept) == lines:
            break
    return "\n".join(reversed(kept))


def check_from_run(run: Mapping[str, Any]) -> CICheck:
    """A REST check run as a :class:`CICheck`."""
    conclusion = run.get("conclusion")
    return CICheck(
        name=str(run.get("name") or ""),
        status=_run_status(run.get("status"), conclusion),
        url=run.get("details_url") or run.get("html_url"),
        conclusion=str(conclusion).lower() if conclusion else None,
        started_at=parse_time(run.get("started_at")),
        completed_at=parse_time(run.get("completed_at")),
    )


def check_from_status(status: Mapping[str, Any]) -> CICheck:
    """A REST commit status as a :class:`CICheck`."""
    state = status.get("state")
    return CICheck(
        name=str(status.get("context") or ""),
        status=_status_state(state),
        url=status.get("target_url"),
        conclusion=str(state).lower() if state else None,
        started_at=parse_time(status.get("created_at")),
        completed_at=parse_time(status.get("updated_at")) if state != "pending" else None,
    )


def check_from_context(node: Mapping[str, Any]) -> CICheck:
    """A GraphQL ``statusCheckRollup`` context (``CheckRun`` or ``StatusContext``) as a :class:`CICheck`."""
    if node.get("__typename") == "StatusContext" or "context" in node:
        return CICheck(
            name=str(node.get("context") or ""),
            status=_status_state(node.get("state")),
            url=node.get("targetUrl"),
            conclusion=str(node.get("state")).lower() if node.get("state") else None,
            started_at=parse_time(node.get("createdAt")),
        )
    conclusion = node.get("conclusion")
    return CICheck(
        name=str(node.get("name") or ""),
        status=_run_status(node.get("status"), conclusion),
        url=node.get("detailsUrl"),
        conclusion=str(conclusion).lower() if conclusion else None,
        started_at=parse_time(node.get("startedAt")),
        completed_at=parse_time(node.get("completedAt")),
    )


def ci_summary(checks: Iterable[CICheck]) -> CIStatus:
    """Failing if any failed, pending if any is pending or running, passing if any passed, else none."""
    statuses = {c.status for c in checks}
    if CheckStatus.FAILED in statuses:
        return CIStatus.FAILING
    if statuses & {CheckStatus.PENDING, CheckStatus.RUNNING}:
        return CIStatus.PENDING
    if CheckStatus.PASSED in statuses:
        return CIStatus.PASSING
    return CIStatus.NONE


def ci_from_rollup(state: str | None) -> CIStatus:
    """``statusCheckRollup.state`` as a :class:`CIStatus`."""
    state = (state or "").upper()
    if state == "SUCCESS":
        return CIStatus.PASSING
    if state in ("FAILURE", "ERROR", "TIMED_OUT", "CANCELLED", "ACTION_REQUIRED", "STARTUP_FAILURE"):
        return CIStatus.FAILING
    if state in ("PENDING", "EXPECTED", "QUEUED", "IN_PROGRESS", "WAITING", "REQUESTED"):
        return CIStatus.PENDING
    return CIStatus.NONE


# --------------------------------------------------------------------------- pull requests and reviews


def pr_state(state: str | None, merged: bool = False) -> PRState:
    """REST (``open``/``closed`` + merged) or GraphQL (``OPEN``/``CLOSED``/``MERGED``) state."""
    value = (state or "").upper()
    if merged or value == "MERGED":
        return PRState.MERGED
    if value == "CLOSED":
        return PRState.CLOSED
    return PRState.OPEN


def review_state(state: str | None) -> ReviewState:
    """A review's state: APPROVED, CHANGES_REQUESTED, DISMISSED, PENDING, else commented."""
    return {
        "APPROVED": ReviewState.APPROVED,
        "CHANGES_REQUESTED": ReviewState.CHANGES_REQUESTED,
        "DISMISSED": ReviewState.DISMISSED,
        "PENDING": ReviewState.PENDING,
    }.get((state or "").upper(), ReviewState.COMMENTED)


def review_decision(decision: str | None) -> ReviewDecision:
    """GitHub's ``reviewDecision``: APPROVED, CHANGES_REQUESTED, REVIEW_REQUIRED → pending, null → none."""
    return {
        "APPROVED": ReviewDecision.APPROVED,
        "CHANGES_REQUESTED": ReviewDecision.CHANGES_REQUESTED,
        "REVIEW_REQUIRED": ReviewDecision.PENDING,
    }.get((decision or "").upper(), ReviewDecision.NONE)


def thread_comment(thread: Mapping[str, Any]) -> ReviewComment | None:
    """The first comment of a GraphQL review thread as a :class:`ReviewComment` (``None`` if empty)."""
    nodes = (thread.get("comments") or {}).get("nodes") or []
    if not nodes:
        return None
    first = nodes[0]
    author = first.get("author") or {}
    login = author.get("login") or "ghost"
    bot = is_bot(login, author.get("__typename"))
    if bot and author.get("__typename") == "Bot" and not login.endswith("[bot]"):
        login = f"{login}[bot]"  # GraphQL drops the suffix REST and humans use
    return ReviewComment(
        id=str(first.get("id") or ""),
        thread_id=thread.get("id"),
        author=login,
        body=str(first.get("body") or ""),
        path=first.get("path") or thread.get("path"),
        line=first.get("line") if first.get("line") is not None else thread.get("line"),
        is_resolved=bool(thread.get("isResolved")),
        created_at=parse_time(first.get("createdAt")),
        url=str(first.get("url") or ""),
        is_bot=bot,
    )


def severity(body: str) -> str:
    """A bot comment's severity from its wording (``error``, ``warning``, else ``info``)."""
    lowered = body.lower()
    if any(word in lowered for word in ("error", "bug", "critical", "security", "vulnerab")):
        return "error"
    if any(word in lowered for word in ("warning", "consider", "should", "potential")):
        return "warning"
    return "info"


def automated(comment: ReviewComment) -> AutomatedComment:
    """A bot's thread comment as an :class:`AutomatedComment`."""
    level = severity(comment.body)
    return AutomatedComment(
        id=comment.id,
        bot_name=comment.author,
        body=comment.body,
        path=comment.path,
        line=comment.line,
        severity="error" if level == "error" else "warning" if level == "warning" else "info",
        created_at=comment.created_at,
        url=comment.url,
    )


def review_summaries(nodes: Iterable[Mapping[str, Any]]) -> list[ReviewSummary]:
    """Reviews with a non-empty body."""
    result = []
    for node in nodes:
        body = str(node.get("body") or "").strip()
        if body:
            login = (node.get("author") or {}).get("login") or "ghost"
            result.append(
                ReviewSummary(
                    author=login,
                    state=str(node.get("state") or ""),
                    body=body,
                    submitted_at=parse_time(node.get("submittedAt")),
                )
            )
    return result


def blockers(
    *,
    state: PRState,
    ci: CIStatus,
    decision: str | None,
    mergeable: str | None,
    merge_state: str | None,
    draft: bool,
) -> list[str]:
    """Everything that stands between a pull request and a merge, named as upstream names it."""
    found: list[str] = []
    if state is PRState.CLOSED:
        found.append("PR is closed")
    if ci not in (CIStatus.PASSING, CIStatus.NONE):
        found.append(f"CI is {ci.value}")
    decision = (decision or "").upper()
    if decision == "CHANGES_REQUESTED":
        found.append("Changes requested in review")
    elif decision == "REVIEW_REQUIRED":
        found.append("Review required")
    mergeable = (mergeable or "").upper()
    if mergeable == "CONFLICTING":
        found.append("Merge conflicts")
    elif mergeable != "MERGEABLE":
        found.append("Merge status unknown (GitHub is computing)")
    merge_state = (merge_state or "").upper()
    if merge_state == "BEHIND":
        found.append("Branch is behind base branch")
    elif merge_state == "BLOCKED":
        found.append("Merge is blocked by branch protection")
    elif merge_state == "UNSTABLE":
        found.append("Required checks are failing")
    if draft:
        found.append("PR is still a draft")
    return found


def snapshot_from_graphql(node: Mapping[str, Any]) -> PRSnapshot:
    """A :class:`PRSnapshot` from the batch query's ``pullRequest`` object.

    ``mergeable`` = open ∧ CI passing or none ∧ review approved or none ∧ no conflicts (GitHub says
    MERGEABLE) ∧ not behind ∧ not draft. ``ci_checks`` is ``None`` when the contexts were paginated.
    """
    state = pr_state(node.get("state"))
    commits = ((node.get("commits") or {}).get("nodes") or [{}])[-1] or {}
    rollup = (commits.get("commit") or {}).get("statusCheckRollup")
    checks: list[CICheck] | None = []
    ci = CIStatus.NONE
    if rollup:
        ci = ci_from_rollup(rollup.get("state"))
        contexts = rollup.get("contexts") or {}
        if (contexts.get("pageInfo") or {}).get("hasNextPage"):
            checks = None
        else:
            checks = [check_from_context(n) for n in contexts.get("nodes") or [] if n]
    decision = review_decision(node.get("reviewDecision"))
    mergeable_raw = str(node.get("mergeable") or "UNKNOWN").upper()
    merge_state = str(node.get("mergeStateStatus") or "UNKNOWN").upper()
    draft = bool(node.get("isDraft"))
    has_conflicts = mergeable_raw == "CONFLICTING"
    is_behind = merge_state == "BEHIND"
    ready = (
        state is PRState.OPEN
        and ci in (CIStatus.PASSING, CIStatus.NONE)
        and decision in (ReviewDecision.APPROVED, ReviewDecision.NONE)
        and mergeable_raw == "MERGEABLE"
        and not is_behind
        and not draft
    )
    found = (
        []
        if state is PRState.MERGED
        else blockers(
            state=state,
            ci=ci,
            decision=node.get("reviewDecision"),
            mergeable=mergeable_raw,
            merge_state=merge_state,
            draft=draft,
        )
    )
    return PRSnapshot(
        state=state,
        ci_status=ci,
        review_decision=decision,
        mergeable=ready,
        title=str(node.get("title") or ""),
        additions=int(node.get("additions") or 0),
        deletions=int(node.get("deletions") or 0),
        is_draft=draft,
        has_conflicts=has_conflicts,
        is_behind=is_behind,
        head_sha=node.get("headRefOid"),
        blockers=found,
        ci_checks=checks,
    )
