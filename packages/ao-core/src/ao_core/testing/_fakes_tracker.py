"""An issue tracker backed by a dict of issues."""

from __future__ import annotations

import re
from collections.abc import Iterable

import anyio.lowlevel

from ao_core.config._schema import ProjectConfig
from ao_core.errors import IssueNotFoundError
from ao_core.models import CreateIssueInput, Issue, IssueFilters, IssueState, IssueUpdate
from ao_core.testing._calls import CallRecorder

__all__ = ["FakeTracker"]

_OPEN_STATES = frozenset({IssueState.OPEN, IssueState.IN_PROGRESS})
_DONE_STATES = frozenset({IssueState.CLOSED, IssueState.CANCELLED})


def _branch_part(identifier: str) -> str:
    """Make an identifier safe inside a branch name (letters, digits, '.', '_' and '-')."""
    part = re.sub(r"[^A-Za-z0-9._-]+", "-", identifier).strip("-.")
    part = re.sub(r"\.{2,}", ".", part)
    return part.removesuffix(".lock").strip("-.") or "unnamed"


class FakeTracker(CallRecorder):
    """A tracker whose issues live in ``issues`` (a dict by id); ``#42`` and ``42`` name the same issue.

    Branches are ``feat/issue-<id>`` unless the issue has its own ``branch_name``. URLs are
    ``<base_url>/<id>``. Comments added by ``update_issue`` are kept in ``comments``.

    Implements :class:`~ao_core.interfaces.SupportsIssueLabel`, :class:`~ao_core.interfaces.SupportsListIssues`,
    :class:`~ao_core.interfaces.SupportsUpdateIssue` and :class:`~ao_core.interfaces.SupportsCreateIssue`.
    """

    def __init__(
        self,
        issues: Iterable[Issue] = (),
        *,
        name: str = "fake",
        base_url: str = "https://tracker.example.test/issues",
    ) -> None:
        super().__init__()
        self._name = name
        self.base_url = base_url.rstrip("/")
        self.issues: dict[str, Issue] = {issue.id: issue.model_copy(deep=True) for issue in issues}
        self.comments: dict[str, list[str]] = {}

    @property
    def name(self) -> str:
        """The plugin name (``fake`` unless given)."""
        return self._name

    # ------------------------------------------------------------------ Tracker

    async def get_issue(self, identifier: str, project: ProjectConfig) -> Issue:
        """A copy of the issue.

        Raises:
            IssueNotFoundError: when there is no such issue.
        """
        await self._enter("get_issue")
        return self._issue(identifier).model_copy(deep=True)

    async def is_completed(self, identifier: str, project: ProjectConfig) -> bool:
        """Whether the issue is closed or cancelled.

        Raises:
            IssueNotFoundError: when there is no such issue.
        """
        await self._enter("is_completed")
        return self._issue(identifier).state in _DONE_STATES

    def issue_url(self, identifier: str, project: ProjectConfig) -> str:
        """``<base_url>/<id>``."""
        self._record("issue_url")
        return f"{self.base_url}/{_normalize(identifier)}"

    def branch_name(self, identifier: str, project: ProjectConfig) -> str:
        """The issue's own branch name when it has one, else ``feat/issue-<id>``."""
        self._record("branch_name")
        issue = self.issues.get(_normalize(identifier))
        if issue is not None and issue.branch_name:
            return issue.branch_name
        return f"feat/issue-{_branch_part(_normalize(identifier))}"

    async def generate_prompt(self, identifier: str, project: ProjectConfig) -> str:
        """The issue as a task: title, URL, labels and description.

        Raises:
            IssueNotFoundError: when there is no such issue.
        """
        await self._enter("generate_prompt")
        issue = self._issue(identifier)
        lines = [f"Work on issue {issue.id}: {issue.title}", f"URL: {issue.url}"]
        if issue.labels:
            lines.append(f"Labels: {', '.join(issue.labels)}")
        if issue.description:
            lines += ["", issue.description]
        return "\n".join(lines)

    # ------------------------------------------------------------------ optional capabilities

    def issue_label(self, url: str, project: ProjectConfig) -> str:
        """``#<last part of the URL>``."""
        self._record("issue_label")
        return "#" + url.rstrip("/").rsplit("/", 1)[-1]

    async def list_issues(self, filters: IssueFilters, project: ProjectConfig) -> list[Issue]:
        """Issues matching state, every label, and assignee; at most ``filters.limit``, in id order."""
        await self._enter("list_issues")
        wanted = {"open": _OPEN_STATES, "closed": _DONE_STATES, "all": _OPEN_STATES | _DONE_STATES}[filters.state]
        found = [
            issue.model_copy(deep=True)
            for issue in sorted(self.issues.values(), key=lambda i: _sort_key(i.id))
            if issue.state in wanted
            and set(filters.labels) <= set(issue.labels)
            and (filters.assignee is None or issue.assignee == filters.assignee)
        ]
        return found[: max(filters.limit, 0)]

    async def update_issue(self, identifier: str, update: IssueUpdate, project: ProjectConfig) -> None:
        """Apply state, label, assignee and comment changes.

        Raises:
            IssueNotFoundError: when there is no such issue.
        """
        await self._enter("update_issue")
        issue = self._issue(identifier)
        if update.state is not None:
            issue.state = IssueState(update.state)
        labels = [label for label in issue.labels if label not in update.remove_labels]
        labels += [label for label in update.labels if label not in labels]
        issue.labels = labels
        if update.assignee is not None:
            issue.assignee = update.assignee
        if update.comment:
            self.comments.setdefault(issue.id, []).append(update.comment)

    async def create_issue(self, issue: CreateIssueInput, project: ProjectConfig) -> Issue:
        """Create an open issue with the next free number as id."""
        await self._enter("create_issue")
        numbers = [int(i) for i in self.issues if i.isdigit()]
        created = self.add_issue(
            str(max(numbers, default=0) + 1),
            issue.title,
            description=issue.description,
            labels=issue.labels,
            assignee=issue.assignee,
            priority=issue.priority,
        )
        return created.model_copy(deep=True)

    # ------------------------------------------------------------------ test controls

    def add_issue(
        self,
        identifier: str,
        title: str,
        *,
        description: str = "",
        state: IssueState = IssueState.OPEN,
        labels: Iterable[str] = (),
        assignee: str | None = None,
        priority: int | None = None,
        branch_name: str | None = None,
    ) -> Issue:
        """Add (or replace) an issue and return it (the stored object: changing it changes the tracker)."""
        ident = _normalize(identifier)
        issue = Issue(
            id=ident,
            title=title,
            description=description,
            url=f"{self.base_url}/{ident}",
            state=state,
            labels=list(labels),
            assignee=assignee,
            priority=priority,
            branch_name=branch_name,
        )
        self.issues[ident] = issue
        return issue

    def set_state(self, identifier: str, state: IssueState) -> None:
        """Change an issue's state.

        Raises:
            IssueNotFoundError: when there is no such issue.
        """
        self._issue(identifier).state = state

    # ------------------------------------------------------------------ internals

    def _issue(self, identifier: str) -> Issue:
        issue = self.issues.get(_normalize(identifier))
        if issue is None:
            raise IssueNotFoundError(identifier, f"fake tracker '{self._name}'")
        return issue

    async def _enter(self, method: str) -> None:
        await anyio.lowlevel.checkpoint()
        self._record(method)


def _normalize(identifier: str) -> str:
    return identifier.strip().removeprefix("#")


def _sort_key(identifier: str) -> tuple[int, int, str]:
    return (0, int(identifier), "") if identifier.isdigit() else (1, 0, identifier)
