"""``LinearTracker``: the Tracker protocol over Linear's GraphQL API."""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from ao_core.config import ProjectConfig
from ao_core.errors import IssueNotFoundError, TrackerError
from ao_core.models import CreateIssueInput, Issue, IssueFilters, IssueState, IssueUpdate

from ao_tracker_linear import _queries as q
from ao_tracker_linear._client import GraphQLErrors, LinearConnection, LinearTransport
from ao_tracker_linear._config import LinearTrackerConfig, is_uuid

__all__ = ["PRIORITY_NAMES", "STATE_TYPES", "LinearTracker", "normalize_identifier"]

log = logging.getLogger("ao.tracker.linear")

STATE_TYPES: Mapping[str, IssueState] = {
    "triage": IssueState.OPEN,
    "backlog": IssueState.OPEN,
    "unstarted": IssueState.OPEN,
    "started": IssueState.IN_PROGRESS,
    "completed": IssueState.CLOSED,
    "canceled": IssueState.CANCELLED,
}
"""Linear's workflow-state types and the ao state each one means."""

PRIORITY_NAMES: Mapping[int, str] = {0: "No priority", 1: "Urgent", 2: "High", 3: "Normal", 4: "Low"}
"""Linear's priority numbers as the prompt names them."""

_TARGET_TYPES: Mapping[str, tuple[str, ...]] = {
    "open": ("unstarted", "backlog", "triage"),
    "in_progress": ("started",),
    "closed": ("completed",),
}
"""For ``update_issue(state=...)``: the state types to move to, in order of preference."""

_OPEN_TYPES = ["triage", "backlog", "unstarted", "started"]
_DONE_TYPES = ["completed", "canceled"]
_IDENTIFIER = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")
_URL_IDENTIFIER = re.compile(r"/issue/([A-Za-z][A-Za-z0-9]*-[0-9]+)(?:[/?#]|$)")
_SAFE_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
_CACHE_MAX = 500
_PAGE_MAX = 250


def normalize_identifier(identifier: str) -> str:
    """``int-100 `` → ``INT-100``.

    Raises:
        TrackerError: when the text is not a Linear identifier (team key, ``-``, number).
    """
    value = identifier.strip().upper()
    if len(value) > 40 or not _IDENTIFIER.match(value):
        raise TrackerError(
            f"{identifier[:60]!r} is not a Linear issue identifier; "
            "use the team key, a dash and the number, like INT-100"
        )
    return value


def _is_safe_branch(name: str) -> bool:
    """A conservative subset of git's branch rules, enough for Linear's ``user/team-123-slug`` names."""
    return (
        bool(_SAFE_BRANCH.match(name))
        and len(name) <= 200
        and ".." not in name
        and "//" not in name
        and not name.endswith(("/", ".", ".lock"))
        and "/." not in name
        and ".lock/" not in name
    )


@dataclass(frozen=True)
class _Team:
    id: str
    key: str
    name: str


class _Flight:
    """A fetch in progress that concurrent callers of ``get_issue`` wait for instead of fetching again."""

    __slots__ = ("done", "error", "issue")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.issue: Issue | None = None
        self.error: Exception | None = None


class LinearTracker:
    """Linear issues through Linear's GraphQL API.

    Issues are named by their identifier (``INT-100``); :attr:`Issue.id` is the identifier and
    :attr:`Issue.branch_name` is Linear's own branch name, which the kernel prefers for the session's branch.
    ``get_issue`` keeps fetched issues for ``cacheTtlS`` seconds and makes concurrent callers of the same
    issue share one request; ``update_issue`` and ``create_issue`` refresh what they change.

    Implements :class:`~ao_core.interfaces.SupportsIssueLabel`, :class:`~ao_core.interfaces.SupportsListIssues`,
    :class:`~ao_core.interfaces.SupportsUpdateIssue` and :class:`~ao_core.interfaces.SupportsCreateIssue`.

    Args:
        config: The plugin's options; defaults (key from ``$LINEAR_API_KEY``, no team) when ``None``.
        clock: Monotonic seconds, for the cache (tests pass their own).
    """

    def __init__(
        self, config: LinearTrackerConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or LinearTrackerConfig()
        self._transport = LinearTransport(self.config)
        self._clock = clock
        self._cache: OrderedDict[str, tuple[float, Issue]] = OrderedDict()
        self._branches: OrderedDict[str, str] = OrderedDict()
        self._flights: dict[str, _Flight] = {}
        self._team_found: _Team | None = None

    @property
    def name(self) -> str:
        """``linear``."""
        return "linear"

    # ------------------------------------------------------------------ Tracker

    async def get_issue(self, identifier: str, project: ProjectConfig) -> Issue:
        """Fetch an issue by identifier (``INT-100``, any case), from the cache when fresh.

        Raises:
            IssueNotFoundError: Linear has no such issue (or the key's user cannot see it).
            TrackerError: a malformed identifier, no API key, or a failed request.
        """
        ident = normalize_identifier(identifier)
        while True:
            cached = self._cached(ident)
            if cached is not None:
                return cached
            flight = self._flights.get(ident)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.issue is not None:
                return flight.issue.model_copy(deep=True)
            # the fetch we waited for was cancelled: fetch again

        flight = _Flight()
        self._flights[ident] = flight
        try:
            async with self._transport.connect() as conn:
                issue = _issue_from(await self._fetch(conn, ident))
            flight.issue = issue
            self._remember(issue)
            return issue.model_copy(deep=True)
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            if self._flights.get(ident) is flight:
                del self._flights[ident]
            flight.done.set()

    async def is_completed(self, identifier: str, project: ProjectConfig) -> bool:
        """Whether the issue is in a completed or canceled state."""
        issue = await self.get_issue(identifier, project)
        return issue.state in (IssueState.CLOSED, IssueState.CANCELLED)

    def issue_url(self, identifier: str, project: ProjectConfig) -> str:
        """``https://linear.app/<workspaceSlug>/issue/<ID>`` (without the slug when none is configured).

        Raises:
            TrackerError: for a malformed identifier.
        """
        ident = normalize_identifier(identifier)
        slug = self.config.workspace_slug
        return f"https://linear.app/{slug}/issue/{ident}" if slug else f"https://linear.app/issue/{ident}"

    def branch_name(self, identifier: str, project: ProjectConfig) -> str:
        """Linear's own branch name when this tracker has fetched the issue, else ``feat/<ID>``.

        Raises:
            TrackerError: for a malformed identifier.
        """
        ident = normalize_identifier(identifier)
        return self._branches.get(ident) or f"feat/{ident}"

    async def generate_prompt(self, identifier: str, project: ProjectConfig) -> str:
        """The issue as a task: identifier, title, URL, priority, labels, description."""
        issue = await self.get_issue(identifier, project)
        priority = PRIORITY_NAMES.get(issue.priority or 0, "No priority")
        lines = [
            f"You are working on Linear issue {issue.id}: {issue.title}",
            f"Issue URL: {issue.url}",
            f"Priority: {priority}",
        ]
        if issue.labels:
            lines.append(f"Labels: {', '.join(issue.labels)}")
        lines += ["", "## Description", "", issue.description.strip() or "(The issue has no description.)", ""]
        lines.append(
            "The issue above is the whole brief. Implement it, add or update tests, commit your work on your "
            "branch, and push."
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------ optional capabilities

    def issue_label(self, url: str, project: ProjectConfig) -> str:
        """The identifier in an issue URL (``https://linear.app/acme/issue/INT-100/...`` → ``INT-100``).

        Raises:
            TrackerError: when the URL names no Linear issue.
        """
        match = _URL_IDENTIFIER.search(url)
        if match is not None:
            return match.group(1).upper()
        try:
            return normalize_identifier(url)
        except TrackerError:
            raise TrackerError(
                f"{url[:200]!r} is not a Linear issue URL; expected https://linear.app/<workspace>/issue/INT-100"
            ) from None

    async def list_issues(self, filters: IssueFilters, project: ProjectConfig) -> list[Issue]:
        """Issues matching state, every label, and assignee, within the configured team (newest first).

        ``assignee`` is ``me``, an email, or a display or full name. At most ``filters.limit`` issues;
        pages of up to 250 are fetched until the limit is reached.
        """
        if filters.limit <= 0:
            return []
        conditions: list[dict[str, Any]] = []
        if filters.state != "all":
            types = _OPEN_TYPES if filters.state == "open" else _DONE_TYPES
            conditions.append({"state": {"type": {"in": types}}})
        conditions += [{"labels": {"some": {"name": {"eqIgnoreCase": label}}}} for label in filters.labels]
        if filters.assignee:
            conditions.append({"assignee": _user_filter(filters.assignee)})
        team = self.config.team_id
        if team is not None:
            conditions.append({"team": {"id": {"eq": team}} if is_uuid(team) else {"key": {"eq": team}}})
        issue_filter: dict[str, Any] | None = {"and": conditions} if conditions else None

        found: list[Issue] = []
        after: str | None = None
        async with self._transport.connect() as conn:
            while len(found) < filters.limit:
                first = min(_PAGE_MAX, filters.limit - len(found))
                data = await conn.execute(
                    "AoIssues", q.ISSUES, {"filter": issue_filter, "first": first, "after": after}
                )
                nodes = _nodes(data, "issues")
                found += [_issue_from(node) for node in nodes]
                info = _field(_field(data, "issues"), "pageInfo")
                after = info.get("endCursor")
                if not info.get("hasNextPage") or not nodes or after is None:
                    break
        for issue in found:
            self._remember_branch(issue)
        return found[: filters.limit]

    async def update_issue(self, identifier: str, update: IssueUpdate, project: ProjectConfig) -> None:
        """Change state (to the team's first workflow state of the matching type), labels, assignee; comment.

        ``state``: ``open`` → an unstarted (else backlog or triage) state, ``in_progress`` → started,
        ``closed`` → completed; nothing moves when the issue already is in that kind of state. Labels are
        names of the issue's team or of the workspace; an unknown label to add is an error, an unknown
        one to remove is ignored.

        Raises:
            IssueNotFoundError: Linear has no such issue.
            TrackerError: an unknown label, user or state, or a failed request.
        """
        ident = normalize_identifier(identifier)
        try:
            async with self._transport.connect() as conn:
                node = await self._fetch(conn, ident)
                team = _team_of(node)
                changes: dict[str, Any] = {}
                if update.state is not None:
                    current = STATE_TYPES.get(str(_field(node, "state").get("type")))
                    if current != IssueState(update.state):
                        changes["stateId"] = await self._state_id(conn, team, update.state)
                if update.labels or update.remove_labels:
                    current_ids = [label["id"] for label in _nodes(node, "labels")]
                    wanted = await self._label_ids(conn, team, update.labels, current_ids, update.remove_labels)
                    if wanted != current_ids:
                        changes["labelIds"] = wanted
                if update.assignee is not None:
                    changes["assigneeId"] = await self._user_id(conn, update.assignee)
                if changes:
                    data = await conn.execute("AoIssueUpdate", q.ISSUE_UPDATE, {"id": node["id"], "input": changes})
                    if not _field(data, "issueUpdate").get("success"):
                        raise TrackerError(f"Linear did not apply the update of {ident}; try again")
                if update.comment:
                    data = await conn.execute(
                        "AoCommentCreate", q.COMMENT_CREATE, {"input": {"issueId": node["id"], "body": update.comment}}
                    )
                    if not _field(data, "commentCreate").get("success"):
                        raise TrackerError(f"Linear did not add the comment to {ident}; try again")
        finally:
            self._forget(ident)

    async def create_issue(self, issue: CreateIssueInput, project: ProjectConfig) -> Issue:
        """Create an issue in the configured team and return it.

        Raises:
            TrackerError: no ``teamId`` configured, an empty title, a priority outside 0-4, an unknown label
                or user, or a failed request.
        """
        if not issue.title.strip():
            raise TrackerError("cannot create a Linear issue with an empty title")
        if issue.priority is not None and not 0 <= issue.priority <= 4:
            raise TrackerError(
                f"priority {issue.priority} is not a Linear priority; use 0 (none), 1 (urgent), 2 (high), "
                "3 (normal) or 4 (low)"
            )
        async with self._transport.connect() as conn:
            team = await self._team(conn)
            data: dict[str, Any] = {"teamId": team.id, "title": issue.title}
            if issue.description:
                data["description"] = issue.description
            if issue.labels:
                data["labelIds"] = await self._label_ids(conn, team, issue.labels, [], [])
            if issue.assignee:
                data["assigneeId"] = await self._user_id(conn, issue.assignee)
            if issue.priority is not None:
                data["priority"] = issue.priority
            answer = _field(await conn.execute("AoIssueCreate", q.ISSUE_CREATE, {"input": data}), "issueCreate")
        node = answer.get("issue")
        if not answer.get("success") or not isinstance(node, dict):
            raise TrackerError(f"Linear did not create the issue {issue.title[:80]!r} in team {team.key}; try again")
        created = _issue_from(node)
        self._remember(created)
        return created.model_copy(deep=True)

    # ------------------------------------------------------------------ cache

    def clear_cache(self) -> None:
        """Forget every cached issue (branch names already seen are kept)."""
        self._cache.clear()

    def _cached(self, ident: str) -> Issue | None:
        entry = self._cache.get(ident)
        if entry is None:
            return None
        expires, issue = entry
        if self._clock() >= expires:
            del self._cache[ident]
            return None
        return issue.model_copy(deep=True)

    def _remember(self, issue: Issue) -> None:
        self._remember_branch(issue)
        ttl = self.config.cache_ttl_s
        if ttl <= 0:
            return
        self._cache[issue.id] = (self._clock() + ttl, issue.model_copy(deep=True))
        self._cache.move_to_end(issue.id)
        while len(self._cache) > _CACHE_MAX:
            self._cache.popitem(last=False)

    def _remember_branch(self, issue: Issue) -> None:
        if issue.branch_name:
            self._branches[issue.id] = issue.branch_name
            self._branches.move_to_end(issue.id)
            while len(self._branches) > _CACHE_MAX:
                self._branches.popitem(last=False)

    def _forget(self, ident: str) -> None:
        self._cache.pop(ident, None)

    # ------------------------------------------------------------------ lookups

    def _where(self, ident: str) -> str:
        team_key = ident.split("-", 1)[0]
        slug = self.config.workspace_slug
        workspace = f" of workspace '{slug}'" if slug else ""
        return f"Linear team {team_key}{workspace} (as the API key's user sees it)"

    async def _fetch(self, conn: LinearConnection, ident: str) -> dict[str, Any]:
        try:
            data = await conn.execute("AoIssue", q.ISSUE, {"id": ident})
        except GraphQLErrors as exc:
            if exc.is_not_found():
                raise IssueNotFoundError(ident, self._where(ident)) from exc
            raise
        node = data.get("issue")
        if not isinstance(node, dict):
            raise IssueNotFoundError(ident, self._where(ident))
        return node

    async def _team(self, conn: LinearConnection) -> _Team:
        ref = self.config.team_id
        if ref is None:
            raise TrackerError(
                "creating a Linear issue needs a team: set the tracker option teamId to a team key (like INT) "
                "or a team UUID"
            )
        if self._team_found is None:
            wanted = {"id": {"eq": ref}} if is_uuid(ref) else {"key": {"eq": ref}}
            nodes = _nodes(await conn.execute("AoTeams", q.TEAMS, {"filter": wanted}), "teams")
            if not nodes:
                raise TrackerError(
                    f"Linear has no team '{ref}' that this API key can see; check the tracker option teamId"
                )
            self._team_found = _Team(id=nodes[0]["id"], key=nodes[0]["key"], name=nodes[0].get("name") or "")
        return self._team_found

    async def _state_id(self, conn: LinearConnection, team: _Team, state: str) -> str:
        data = await conn.execute("AoWorkflowStates", q.WORKFLOW_STATES, {"teamId": team.id})
        states = sorted(_nodes(data, "workflowStates"), key=lambda s: float(s.get("position") or 0))
        for wanted in _TARGET_TYPES[state]:
            for candidate in states:
                if candidate.get("type") == wanted:
                    return str(candidate["id"])
        have = ", ".join(f"{s.get('name')} ({s.get('type')})" for s in states) or "none"
        raise TrackerError(
            f"Linear team {team.key} has no workflow state of type {' or '.join(_TARGET_TYPES[state])} to move an "
            f"issue to '{state}'; its states: {have}"
        )

    async def _label_ids(
        self,
        conn: LinearConnection,
        team: _Team,
        add: Sequence[str],
        current: Sequence[str],
        remove: Sequence[str],
    ) -> list[str]:
        catalogue: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = await conn.execute("AoIssueLabels", q.ISSUE_LABELS, {"teamId": team.id, "after": after})
            page = _field(data, "issueLabels")
            catalogue += _field(page, "nodes")
            after = _field(page, "pageInfo").get("endCursor")
            if not _field(page, "pageInfo").get("hasNextPage") or after is None:
                break
        by_name: dict[str, str] = {}
        # A team's label wins over a workspace label of the same name.
        for label in sorted(catalogue, key=lambda item: (item.get("team") or {}).get("id") is not None):
            by_name[str(label["name"]).casefold()] = str(label["id"])
        removed = {by_name[name.casefold()] for name in remove if name.casefold() in by_name}
        ids = [i for i in current if i not in removed]
        missing = [name for name in add if name.casefold() not in by_name]
        if missing:
            known = ", ".join(sorted({str(label["name"]) for label in catalogue})[:30]) or "none"
            raise TrackerError(
                f"Linear team {team.key} has no label {', '.join(repr(m) for m in missing)}; "
                f"create it in Linear first (labels of the team and workspace: {known})"
            )
        for name in add:
            label_id = by_name[name.casefold()]
            if label_id not in ids:
                ids.append(label_id)
        return ids

    async def _user_id(self, conn: LinearConnection, who: str) -> str:
        if who.strip().lower() == "me":
            return str(_field(await conn.execute("AoViewer", q.VIEWER), "viewer")["id"])
        users = _nodes(await conn.execute("AoUsers", q.USERS, {"filter": _user_filter(who)}), "users")
        exact = [u for u in users if who in (u.get("displayName"), u.get("email"), u.get("name"))]
        chosen = exact or users
        if len(chosen) != 1:
            problem = "no user" if not chosen else "several users"
            raise TrackerError(
                f"Linear has {problem} matching '{who}'; give a display name, full name or email of exactly one user"
            )
        return str(chosen[0]["id"])


# ---------------------------------------------------------------------- answer parsing


def _user_filter(who: str) -> dict[str, Any]:
    who = who.strip()
    if who.lower() == "me":
        return {"isMe": {"eq": True}}
    if "@" in who:
        return {"email": {"eqIgnoreCase": who}}
    return {"or": [{"displayName": {"eqIgnoreCase": who}}, {"name": {"eqIgnoreCase": who}}]}


def _field(data: Mapping[str, Any], name: str) -> Any:
    try:
        value = data[name]
    except (KeyError, TypeError):
        raise TrackerError(f"Linear's answer lacks '{name}'; the API may have changed (report this)") from None
    if value is None:
        raise TrackerError(f"Linear's answer has no '{name}'; the API may have changed (report this)")
    return value


def _nodes(data: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    nodes = _field(_field(data, name), "nodes")
    if not isinstance(nodes, list):
        raise TrackerError(f"Linear's answer has no list of {name}; the API may have changed (report this)")
    return [node for node in nodes if isinstance(node, dict)]


def _team_of(node: Mapping[str, Any]) -> _Team:
    team = _field(node, "team")
    return _Team(id=str(_field(team, "id")), key=str(_field(team, "key")), name=str(team.get("name") or ""))


def _issue_from(node: Mapping[str, Any]) -> Issue:
    """An :class:`Issue` from Linear's issue object (the fields of ``ISSUE_FIELDS``)."""
    state_type = str(_field(node, "state").get("type") or "")
    state = STATE_TYPES.get(state_type)
    if state is None:
        log.warning("unknown Linear state type %r on %s; treating it as open", state_type, node.get("identifier"))
        state = IssueState.OPEN
    assignee = node.get("assignee")
    branch = node.get("branchName")
    priority = node.get("priority")
    return Issue(
        id=str(_field(node, "identifier")),
        title=str(_field(node, "title")),
        description=str(node.get("description") or ""),
        url=str(_field(node, "url")),
        state=state,
        labels=[str(label["name"]) for label in _nodes(node, "labels")],
        assignee=(assignee.get("displayName") or assignee.get("name")) if isinstance(assignee, dict) else None,
        priority=round(priority) if isinstance(priority, int | float) else None,
        branch_name=branch if isinstance(branch, str) and _is_safe_branch(branch) else None,
    )
