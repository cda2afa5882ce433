"""What reactions say, and the fingerprints that keep them from saying the same thing twice.

A fingerprint names the *content* a reaction acted on: the failing CI run of a head commit, the set of
unresolved review comments, the conflicting head. A reaction fires again when its fingerprint changes and
never twice for the same fingerprint (the store keeps the last one, so this survives restarts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ao_core.models import CheckStatus, CICheck, PRInfo, ReviewComment, ReviewSummary

__all__ = [
    "FALLBACK_MESSAGES",
    "ReviewData",
    "ci_fingerprint",
    "ci_message",
    "closing",
    "conflict_fingerprint",
    "conflict_message",
    "failing_checks",
    "fingerprint",
    "instruction",
    "review_fingerprint",
    "review_message",
]

FALLBACK_MESSAGES: dict[str, str] = {
    "ci-failed": "CI is failing on your pull request. Find the cause, fix it, and push again.",
    "changes-requested": "A reviewer requested changes on your pull request. Address each comment and push.",
    "bugbot-comments": "Automated reviewers left comments on your pull request. Address them and push.",
    "merge-conflicts": "Your branch conflicts with the base branch. Rebase onto it, resolve the conflicts, and push.",
    "agent-idle": "You seem to have stopped. If the task is done, open a pull request; otherwise carry on.",
}
"""Built-in instructions for ``send-to-agent`` reactions configured without a ``message``."""

_GENERIC_FALLBACK = "Please check the state of your task and your pull request, and carry on."
_MAX_BODY = 2000
_MAX_ITEMS = 50


@dataclass
class ReviewData:
    """Unresolved review threads and review bodies of a pull request, read in this poll.

    Attributes:
        human: Unresolved threads started by people.
        bots: Unresolved threads started by bots.
        reviews: Submitted reviews with a body.
    """

    human: list[ReviewComment] = field(default_factory=list)
    bots: list[ReviewComment] = field(default_factory=list)
    reviews: list[ReviewSummary] = field(default_factory=list)


def fingerprint(kind: str, parts: Iterable[str]) -> str:
    """A short stable name for some content: ``<kind>:<16 hex digits of sha256>``."""
    digest = hashlib.sha256("\n".join(parts).encode("utf-8", errors="surrogatepass")).hexdigest()
    return f"{kind}:{digest[:16]}"


def failing_checks(checks: Iterable[CICheck]) -> list[CICheck]:
    """The failed checks, sorted by name."""
    return sorted((c for c in checks if c.status is CheckStatus.FAILED), key=lambda c: (c.name, c.url or ""))


def ci_fingerprint(head_sha: str | None, failing: Sequence[CICheck]) -> str:
    """The CI failure's identity: head commit + the failing checks' names and run URLs (which carry run ids)."""
    return fingerprint("ci", [head_sha or "-", *sorted(f"{c.name}@{c.url or ''}" for c in failing)])


def review_fingerprint(comments: Sequence[ReviewComment], reviews: Sequence[ReviewSummary] = ()) -> str:
    """The review feedback's identity: sorted comment ids, plus changes-requested reviews (author and time)."""
    parts = sorted(c.id for c in comments)
    parts += sorted(
        f"review:{r.author}@{r.submitted_at.isoformat() if r.submitted_at else ''}"
        for r in reviews
        if r.state.lower() == "changes_requested"
    )
    return fingerprint("review", parts)


def conflict_fingerprint(head_sha: str | None, base_branch: str, base_sha: str | None = None) -> str:
    """The conflict's identity: head commit and base (commit when known, else branch)."""
    return fingerprint("conflict", [head_sha or "-", base_sha or base_branch])


def _clip(text: str, limit: int = _MAX_BODY) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CLOSINGS: dict[str, str] = {
    "ci-failed": "Find the cause of each failure, fix it, and push again.",
    "changes-requested": "Address each comment and push.",
    "bugbot-comments": "Address each comment (or say why it does not apply) and push.",
    "merge-conflicts": "",
}
"""What closes a content message (the content already says what happened) when no message is configured."""


def instruction(key: str, configured: str | None) -> str:
    """What a ``send-to-agent`` reaction sends when it has no content: the configured message, else a built-in one."""
    return (configured or "").strip() or FALLBACK_MESSAGES.get(key, _GENERIC_FALLBACK)


def closing(key: str, configured: str | None) -> str:
    """The instruction closing a content message: a message the user configured, else a built-in closing.

    The built-in table's own messages (``DEFAULT_REACTIONS``) restate what the content already says, so they
    count as not configured.
    """
    from ao_core.config import DEFAULT_REACTIONS

    text = (configured or "").strip()
    default = DEFAULT_REACTIONS.get(key)
    if not text or (default is not None and text == (default.message or "").strip()):
        return _CLOSINGS.get(key, FALLBACK_MESSAGES.get(key, _GENERIC_FALLBACK))
    return text


def ci_message(pr: PRInfo, head_sha: str | None, failing: Sequence[CICheck], closing: str) -> str:
    """Tell the agent which checks fail, with links."""
    at = f" at {head_sha[:10]}" if head_sha else ""
    lines = [f"CI is failing on your pull request #{pr.number} ({pr.url}){at}."]
    if failing:
        lines.append("Failing checks:")
        for check in failing[:_MAX_ITEMS]:
            result = check.conclusion or check.status.value
            lines.append(f"- {check.name}: {result}" + (f" — {check.url}" if check.url else ""))
            if check.log_tail:
                lines += [
                    "  The end of its log:",
                    "  ```",
                    *(f"  {line}" for line in check.log_tail.splitlines()),
                    "  ```",
                ]
    else:
        lines.append("The failing checks could not be listed; look at the pull request's checks.")
    if closing:
        lines += ["", closing]
    return "\n".join(lines)


def review_message(
    pr: PRInfo,
    comments: Sequence[ReviewComment],
    reviews: Sequence[ReviewSummary],
    closing: str,
    *,
    automated: bool = False,
) -> str:
    """Tell the agent every unresolved comment with ``path:line``, author and body, plus review summaries."""
    who = "automated review" if automated else "review"
    lines = [f"There is {who} feedback on your pull request #{pr.number} ({pr.url})."]
    summaries = [r for r in reviews if r.body.strip()]
    if summaries and not automated:
        lines += ["", "Reviews:"]
        for review in summaries[:_MAX_ITEMS]:
            lines.append(f"- @{review.author} ({review.state.lower()}): {_clip(review.body, 800)}")
    if comments:
        lines += ["", f"{len(comments)} unresolved {who} comment(s):"]
        for n, comment in enumerate(comments[:_MAX_ITEMS], start=1):
            where = comment.path or "(general)"
            if comment.path and comment.line:
                where += f":{comment.line}"
            lines.append(f'{n}. {where} (@{comment.author}): "{_clip(comment.body)}"')
            if comment.url:
                lines.append(f"   {comment.url}")
            if comment.thread_id:
                lines.append(f"   thread: {comment.thread_id}")
        if len(comments) > _MAX_ITEMS:
            lines.append(f"... and {len(comments) - _MAX_ITEMS} more on the pull request.")
    lines += ["", closing] if closing else [""]
    if comments:
        lines.append("Resolve each thread once it is addressed.")
    return "\n".join(lines)


def conflict_message(pr: PRInfo, is_behind: bool, closing: str) -> str:
    """Tell the agent its branch conflicts with the base branch, naming it."""
    behind = f"is behind {pr.base_branch} and " if is_behind else ""
    text = (
        f"Your pull request #{pr.number} ({pr.url}): branch {pr.branch} {behind}has merge conflicts with "
        f"{pr.base_branch}. Rebase onto origin/{pr.base_branch}, resolve the conflicts, and push."
    )
    if closing.strip():
        text += f"\n\n{closing.strip()}"
    return text
