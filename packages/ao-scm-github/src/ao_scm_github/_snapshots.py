"""Pull-request snapshots for many pull requests: batched GraphQL, guarded by conditional requests.

Every mode reads pull requests by GraphQL, at most 50 per request (``BATCH_SIZE``), aliased
``pr<i>: repository(owner, name) { pullRequest(number) { ... } }`` across repositories, a few requests at a
time. The modes differ in *which* pull requests a poll re-reads, and how it finds out (``snapshotMode``):

``adaptive`` (the default)
    A pull request's snapshot changes only when (a) its CI is still running, (b) something moves its
    ``updated_at`` (a push, a review, a comment, a label, a close, a merge), (c) its base branch moves (a
    merge of another pull request), or (d) a finished check is re-run. One poll:

    1. **Guard, before any data is read** (so that a change racing the poll is seen by the next one): per
       repository ONE conditional request (``If-None-Match``; a 304 costs no rate limit),
       ``GET /repos/O/R/pulls?state=all&sort=updated&direction=desc&per_page=20``. ``state=all`` matters:
       a pull request that is closed or merged leaves the *open* list without changing its first entry.
       On a change, the entries updated since the previous answer name the pull requests to re-read (b);
       when one of them was *merged*, every tracked pull request with the same base is re-read too, since
       the merge moved their base (c: conflicts, "behind"). Re-reading only those, rather than every
       pull request of a changed repository, keeps a busy repository (agents push all the time) from
       costing a full re-read per poll; the merge rule covers the one change that affects the others.
    2. **Always re-read** the pull requests whose last snapshot is *volatile* (a): CI pending, GitHub's
       mergeability not computed yet (UNKNOWN), or no CI at all although the pull request was updated
       less than ``ciStartGraceSeconds`` ago (CI starts a few seconds after a push).
    3. **Periodically re-read** every tracked pull request not read in the last ``fullRefreshPolls``
       polls (counted per pull request) or ``fullRefreshSeconds``: this catches what no guard sees, a
       re-run of a finished check (d) and a base branch moved by a direct push (c without a merge).
       Webhooks catch both at once: :meth:`SnapshotEngine.invalidate` (called for every parsed delivery)
       marks the affected snapshots for re-reading by the next poll.

    A poll in which nothing changed makes one request per repository, answered 304 (free). The first
    poll makes ``ceil(N / 50)`` GraphQL requests plus one per repository (which primes the ETags); a
    repository all of whose pull requests are re-read anyway (a full refresh) skips its guard.

``guarded``
    Exact change detection by conditional requests alone: the repository list above, one
    ``GET /repos/O/R/git/ref/heads/<base>`` per repository and base branch, and per open pull request
    ``GET /repos/O/R/commits/<head>/check-runs?per_page=100`` (plus the commit's combined ``status`` in
    repositories that use commit statuses, or while a pull request has no CI): CI results change
    nothing else. ``per_page=100`` rather than 1: the ETag covers the body, and a first page of one would
    not change when another check finishes. The guards of freshly read pull requests are primed after
    the read; when REST and the GraphQL rollup disagree, the snapshot is re-read next time. An unchanged
    poll is free, but every poll makes about one request per open pull request.

``graphql``
    Every poll re-reads every pull request that is not merged: ``ceil(N / 50)`` requests, never free,
    never more.

In every mode, snapshots whose mergeability GitHub had not computed yet are re-read on the next poll,
and a pull request that could not be read is left out of the result (never passed off as current).
"""

from __future__ import annotations

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

import anyio
from ao_core.errors import RateLimitedError, SCMError
from ao_core.models import CIStatus, PRInfo, PRSnapshot, PRState, WebhookEvent, WebhookEventKind

from ao_scm_github._github import GitHubAccess, rate_limit_reset, rate_limited
from ao_scm_github._mapping import parse_time, snapshot_from_graphql

__all__ = [
    "BATCH_SIZE",
    "SNAPSHOT_FRAGMENT",
    "SnapshotEngine",
    "SnapshotMode",
    "build_batch_query",
    "conditional_get",
    "http_client",
    "split_batches",
]

SnapshotMode = Literal["adaptive", "guarded", "graphql"]
"""How snapshot polls find the pull requests to re-read (see the module docstring)."""

BATCH_SIZE = 50
"""Pull requests per GraphQL request at most.

GitHub's cost of a query is the number of connection pages it may need, divided by 100 (at least 1).
``SNAPSHOT_FRAGMENT`` opens two connections per pull request (``commits(last: 1)`` and its commit's
``contexts``), so 50 pull requests make 100 pages: the largest batch that still costs 1 point. Upstream
batched 25 (1 point too); 50 halves both the requests and the points of a full read.
"""
LIST_GUARD_SIZE = 20
"""Entries of the per-repository guard list: enough to name the pull requests changed since the last poll."""
GRAPHQL_CONCURRENCY = 8
_MAX_ENTRIES = 2000
_MAX_ETAGS = 5000

SNAPSHOT_FRAGMENT = """
fragment aoSnapshot on PullRequest {
  number title state isDraft additions deletions updatedAt
  headRefName headRefOid baseRefName
  mergeable mergeStateStatus reviewDecision
  commits(last: 1) {
    nodes {
      commit {
        oid
        statusCheckRollup {
          state
          contexts(first: 50) {
            pageInfo { hasNextPage }
            nodes {
              __typename
              ... on CheckRun { name status conclusion detailsUrl startedAt completedAt }
              ... on StatusContext { context state targetUrl createdAt }
            }
          }
        }
      }
    }
  }
}
"""


_TOO_BIG = frozenset({"RESOURCE_LIMITS_EXCEEDED", "MAX_NODE_LIMIT_EXCEEDED"})
"""GraphQL error types by which GitHub refuses a query as too big for one request."""


class _BatchTooLarge(SCMError):
    """GitHub refused a batch as too big for one query: read it in halves."""


def split_batches(prs: Sequence[PRInfo], most: int = BATCH_SIZE) -> list[Sequence[PRInfo]]:
    """``prs`` in as few batches of at most ``most`` as possible, of even sizes (60 → 30 + 30, not 50 + 10).

    Even sizes keep the slowest of the concurrent requests as short as it can be.
    """
    if not prs:
        return []
    count = -(-len(prs) // most)
    size = -(-len(prs) // count)
    return [prs[i : i + size] for i in range(0, len(prs), size)]


def build_batch_query(batch: Sequence[PRInfo]) -> tuple[str, dict[str, Any]]:
    """The aliased GraphQL query for up to ``BATCH_SIZE`` pull requests (any repositories) and its variables."""
    definitions: list[str] = []
    blocks: list[str] = []
    variables: dict[str, Any] = {}
    for i, pr in enumerate(batch):
        definitions.append(f"$o{i}: String!, $n{i}: String!, $p{i}: Int!")
        blocks.append(
            f"  pr{i}: repository(owner: $o{i}, name: $n{i}) {{ pullRequest(number: $p{i}) {{ ...aoSnapshot }} }}"
        )
        variables |= {f"o{i}": pr.owner, f"n{i}": pr.repo, f"p{i}": pr.number}
    query = (
        f"query AoSnapshots({', '.join(definitions)}) {{\n"
        "  rateLimit { cost remaining resetAt }\n" + "\n".join(blocks) + "\n}\n" + SNAPSHOT_FRAGMENT
    )
    return query, variables


async def http_client(access: GitHubAccess, max_concurrent: int) -> Any:
    """A new ``httpx.AsyncClient`` for the REST and GraphQL APIs (use it as ``async with``)."""
    import httpx

    token = await access.token()
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": "ao-scm-github",
    }
    limits = httpx.Limits(max_connections=max_concurrent, max_keepalive_connections=max_concurrent)
    timeout = httpx.Timeout(access.timeout, pool=None)
    return httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout)


async def conditional_get(
    client: Any, url: str, etag: str | None, *, access: GitHubAccess, limiter: anyio.CapacityLimiter
) -> tuple[int, Any, str | None]:
    """A GET with ``If-None-Match: etag`` (when given): ``(304, None, etag)`` if unchanged, else ``(200, json, ETag)``.

    The package's one way of making conditional requests (GitHub charges nothing for a 304).

    Raises:
        RateLimitedError: when GitHub refuses for a rate limit.
        SCMError: for other errors.
    """
    headers = {"If-None-Match": etag} if etag is not None else {}
    try:
        async with limiter:  # few requests queued in httpx's pool: its queue handling is quadratic
            response = await client.get(url, headers=headers)
    except Exception as exc:  # httpx.HTTPError and OS errors: the caller falls back to GraphQL
        raise SCMError(f"cannot reach GitHub at {access.base_url}: {type(exc).__name__}") from exc
    if response.status_code == 304:
        return 304, None, etag
    if response.status_code >= 400:
        message = ""
        with contextlib.suppress(ValueError, AttributeError):
            message = str(response.json().get("message") or "")
        if rate_limited(response.status_code, response.headers, message):
            raise RateLimitedError(access.host, rate_limit_reset(response.headers), "while polling PRs")
        raise SCMError(f"GitHub answered {response.status_code} for a guard request: {message}")
    return response.status_code, response.json(), response.headers.get("ETag") or None


@dataclass
class _Entry:
    snapshot: PRSnapshot
    number: int
    repo: str
    head_ref: str
    base_ref: str
    uses_statuses: bool
    no_ci: bool
    runs: tuple[tuple[str, str, str], ...] | None
    statuses: tuple[tuple[str, str], ...] | None
    read_at: float
    """When it was read (the engine's clock)."""
    stale: bool = False
    """Read again at the next poll, whatever the guards say."""
    polls_unread: int = 0
    """Polls that asked for this pull request since it was read."""
    ci_start_until: float = 0.0
    """Until then (the engine's clock) a pull request without CI is re-read: its CI may be starting."""

    @property
    def volatile(self) -> bool:
        """Open with CI still running: expected to change without moving ``updated_at``."""
        return self.snapshot.state is PRState.OPEN and self.snapshot.ci_status is CIStatus.PENDING


@dataclass
class _ListChange:
    """What a changed repository guard list says: re-read ``everything``, or these numbers and bases."""

    everything: bool = False
    numbers: set[int] = field(default_factory=set)
    merged_bases: set[str] = field(default_factory=set)


def _fingerprints(node: Mapping[str, Any]) -> tuple[Any, Any, bool, bool]:
    commits = ((node.get("commits") or {}).get("nodes") or [{}])[-1] or {}
    rollup = (commits.get("commit") or {}).get("statusCheckRollup")
    if not rollup:
        return (), (), False, True
    contexts = rollup.get("contexts") or {}
    nodes = [n for n in contexts.get("nodes") or [] if n]
    uses_statuses = any(n.get("__typename") == "StatusContext" for n in nodes)
    if (contexts.get("pageInfo") or {}).get("hasNextPage"):
        return None, None, uses_statuses, False
    runs = tuple(
        sorted(
            (str(n.get("name")), str(n.get("status") or "").lower(), str(n.get("conclusion") or "").lower())
            for n in nodes
            if n.get("__typename") == "CheckRun"
        )
    )
    statuses = tuple(
        sorted(
            (str(n.get("context")), str(n.get("state") or "").lower())
            for n in nodes
            if n.get("__typename") == "StatusContext"
        )
    )
    return runs, statuses, uses_statuses, not nodes


def _server_time(headers: Mapping[str, str]) -> datetime:
    """The server's clock from the ``Date`` header (our own clock when it is missing or malformed)."""
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = parsedate_to_datetime(headers.get("Date") or headers.get("date") or "")
        if when.tzinfo is not None:
            return when
    return datetime.now(UTC)


class SnapshotEngine:
    """Keeps snapshots, ETags and per-repository watermarks between polls (one poll at a time).

    Args:
        access: The token and the API roots.
        max_concurrent: Bound on simultaneous requests.
        mode: ``adaptive``, ``guarded`` or ``graphql`` (see the module docstring).
        full_refresh_polls: Adaptive mode: re-read a pull request that this many polls asked for
            without reading it.
        full_refresh_seconds: Adaptive mode: re-read a pull request read this long ago (``None``: only
            by polls).
        ci_start_grace_seconds: Adaptive mode: re-read an open pull request without CI while it was
            updated less than this long ago (0: never).
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        access: GitHubAccess,
        max_concurrent: int,
        *,
        mode: SnapshotMode = "adaptive",
        full_refresh_polls: int = 10,
        full_refresh_seconds: float | None = 600.0,
        ci_start_grace_seconds: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._access = access
        self._max_concurrent = max_concurrent
        self.mode: SnapshotMode = mode
        self._full_refresh_polls = full_refresh_polls
        self._full_refresh_seconds = full_refresh_seconds
        self._ci_start_grace = ci_start_grace_seconds
        self._clock = clock
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._etags: OrderedDict[str, str] = OrderedDict()
        self._watermarks: dict[str, str] = {}
        self._status_repos: set[str] = set()
        self._batch_size = BATCH_SIZE
        """Pull requests per GraphQL request: ``BATCH_SIZE``, halved for good each time GitHub refuses a batch
        as too big for one query (resource limits, timeouts)."""
        self._invalid: set[str] = set()
        self._lock = anyio.Lock()
        self.last_poll: dict[str, int] = {}
        """What the last poll did: ``requests``, ``not_modified``, ``graphql``, ``refreshed``; in adaptive
        mode also why pull requests were re-read: ``volatile``, ``due`` (periodic refresh), ``invalidated``."""

    # ------------------------------------------------------------------ webhooks

    def invalidate(self, event: WebhookEvent) -> int:
        """Have the next poll re-read the snapshots a webhook event may have changed; returns how many.

        Matched in the event's repository: the pull request by number, by head SHA or by head branch
        (CI events: a re-run changes nothing the guards see), and for a ``push`` to a base branch every
        open pull request on that base (conflicts, "behind"). Merged pull requests never change.
        """
        if not event.owner or not event.repo:
            return 0
        repo = f"{event.owner}/{event.repo}".lower()
        matched = set()
        for key, entry in self._entries.items():
            if entry.repo.lower() != repo or entry.snapshot.state is PRState.MERGED:
                continue
            if (
                (event.pr_number is not None and entry.number == event.pr_number)
                or (event.sha is not None and entry.snapshot.head_sha == event.sha)
                or (event.branch is not None and entry.head_ref == event.branch)
                or (
                    event.kind is WebhookEventKind.PUSH
                    and event.branch is not None
                    and entry.base_ref == event.branch
                    and entry.snapshot.state is PRState.OPEN
                )
            ):
                matched.add(key)
        # applied when the next poll starts: a poll running now may have read the data before the event
        self._invalid |= matched
        return len(matched)

    # ------------------------------------------------------------------ HTTP

    def _count(self, key: str, n: int = 1) -> None:
        self.last_poll[key] = self.last_poll.get(key, 0) + n

    async def _get(self, client: Any, url: str) -> tuple[int, Any]:
        """A conditional GET: ``(304, None)`` when unchanged, else ``(200, json)`` (the ETag is kept).

        Raises:
            RateLimitedError: when GitHub refuses for a rate limit.
            SCMError: for other errors.
        """
        self._count("requests")
        status, body, new_etag = await conditional_get(
            client, url, self._etags.get(url), access=self._access, limiter=self._limiter
        )
        if status == 304:
            self._count("not_modified")
            return 304, None
        if new_etag:
            self._etags[url] = new_etag
            self._etags.move_to_end(url)
            while len(self._etags) > _MAX_ETAGS:
                self._etags.popitem(last=False)
        return status, body

    async def _graphql(self, client: Any, batch: Sequence[PRInfo]) -> tuple[dict[str, Any], datetime]:
        """The batch's data and the server's time of the answer."""
        query, variables = build_batch_query(batch)
        self._count("requests")
        self._count("graphql")
        try:
            async with self._limiter:
                response = await client.post(self._access.graphql_url, json={"query": query, "variables": variables})
        except Exception as exc:  # httpx.HTTPError and OS errors: these pull requests are left out
            raise SCMError(f"cannot reach GitHub GraphQL at {self._access.graphql_url}: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        if response.status_code >= 400:
            if rate_limited(response.status_code, response.headers, message):
                raise RateLimitedError(self._access.host, rate_limit_reset(response.headers), "GraphQL PR snapshots")
            if response.status_code in (502, 504) and len(batch) > 1:  # GitHub's answer to a query that timed out
                raise _BatchTooLarge(f"GitHub GraphQL answered {response.status_code} to a batch of {len(batch)}")
            raise SCMError(f"GitHub GraphQL answered {response.status_code}: {message}")
        errors = body.get("errors") or [] if isinstance(body, dict) else []
        for error in errors:
            if isinstance(error, dict) and (
                error.get("type") == "RATE_LIMITED" or "rate limit" in str(error.get("message", "")).lower()
            ):
                raise RateLimitedError(self._access.host, rate_limit_reset(response.headers), "GraphQL PR snapshots")
            if isinstance(error, dict) and error.get("type") in _TOO_BIG:
                raise _BatchTooLarge(f"GitHub refused a batch of {len(batch)}: {error.get('message')}")
        data: dict[str, Any] = body.get("data") or {} if isinstance(body, dict) else {}
        return data, _server_time(response.headers)

    # ------------------------------------------------------------------ the poll

    async def snapshots(self, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
        """Snapshots of ``prs`` keyed by ``PRInfo.key``; pull requests that could not be read are left out."""
        async with self._lock, await http_client(self._access, self._max_concurrent) as client:
            self.last_poll = {"requests": 0, "not_modified": 0, "graphql": 0, "refreshed": 0}
            invalid, self._invalid = self._invalid, set()
            for key in invalid:
                if key in self._entries:
                    self._entries[key].stale = True
            unique = list({pr.key: pr for pr in prs}.values())
            for pr in unique:
                if (entry := self._entries.get(pr.key)) is not None:
                    entry.polls_unread += 1
            if self.mode == "guarded":
                dirty = await self._guard(client, unique)
            elif self.mode == "graphql":
                dirty = {
                    pr.key
                    for pr in unique
                    if pr.key not in self._entries or self._entries[pr.key].snapshot.state is not PRState.MERGED
                }
            else:
                self.last_poll["invalidated"] = sum(1 for pr in unique if pr.key in invalid)
                dirty = await self._adaptive(client, unique)
            fetched = await self._fetch(client, [pr for pr in unique if pr.key in dirty])
            if self.mode == "guarded":
                await self._prime(client, fetched)
            return {pr.key: self._entries[pr.key].snapshot for pr in unique if pr.key in self._entries}

    def _give_up(self, dirty: Iterable[str], limited: Sequence[RateLimitedError]) -> None:
        """Raise the first rate limit, after marking ``dirty`` stale: a guard answered 200 has moved on."""
        if not limited:
            return
        for key in dirty:
            if key in self._entries:
                self._entries[key].stale = True
        raise limited[0]

    def _list_url(self, owner: str, name: str) -> str:
        return (
            f"{self._access.base_url}/repos/{quote(owner)}/{quote(name)}/pulls"
            f"?state=all&sort=updated&direction=desc&per_page={LIST_GUARD_SIZE}"
        )

    async def _list_guard(self, client: Any, owner: str, name: str) -> _ListChange | None:
        """The repository's guard list: ``None`` when unchanged (304), else what to re-read.

        Raises:
            RateLimitedError: when GitHub refuses for a rate limit.
        """
        repo = f"{owner}/{name}".lower()
        try:
            status, items = await self._get(client, self._list_url(owner, name))
        except RateLimitedError:
            raise
        except SCMError:
            return _ListChange(everything=True)
        if status == 304:
            return None
        previous = self._watermarks.get(repo)
        items = [i for i in items or [] if isinstance(i, dict)]
        self._watermarks[repo] = str(items[0].get("updated_at") or "") if items else ""
        if previous is None or (len(items) >= LIST_GUARD_SIZE and str(items[-1].get("updated_at")) >= previous):
            return _ListChange(everything=True)
        # GitHub's timestamps have one-second resolution: ">=" re-reads the previous newest entry too
        changed = [i for i in items if str(i.get("updated_at") or "") >= previous]
        return _ListChange(
            numbers={int(i["number"]) for i in changed if isinstance(i.get("number"), int)},
            merged_bases={str((i.get("base") or {}).get("ref")) for i in changed if i.get("merged_at")},
        )

    async def _adaptive(self, client: Any, prs: Sequence[PRInfo]) -> set[str]:
        """The keys to re-read: unknown, stale, volatile and due pull requests, and what the guards name."""
        now = self._clock()
        dirty: set[str] = set()
        by_repo: dict[str, list[PRInfo]] = {}
        for pr in prs:
            entry = self._entries.get(pr.key)
            if entry is not None and entry.snapshot.state is PRState.MERGED:
                continue  # merged is final
            by_repo.setdefault(f"{pr.owner}/{pr.repo}".lower(), []).append(pr)
            if entry is None or entry.stale:
                dirty.add(pr.key)
            elif entry.volatile or now < entry.ci_start_until:
                dirty.add(pr.key)
                self._count("volatile")
            elif entry.polls_unread >= self._full_refresh_polls or (
                self._full_refresh_seconds is not None and now - entry.read_at >= self._full_refresh_seconds
            ):
                dirty.add(pr.key)
                self._count("due")
        changes: dict[str, _ListChange | None] = {}
        limited: list[RateLimitedError] = []

        async def guard(repo: str, members: list[PRInfo]) -> None:
            try:
                changes[repo] = await self._list_guard(client, members[0].owner, members[0].repo)
            except RateLimitedError as exc:
                limited.append(exc)

        async with anyio.create_task_group() as tg:
            for repo, members in by_repo.items():
                # When all of a repository's pull requests are re-read anyway (a full refresh), its guard
                # would tell nothing; skipped, it keeps its older ETag, against which the next poll's
                # guard sees every change since: only more cautious. Without an ETag it must prime one.
                primed = self._list_url(members[0].owner, members[0].repo) in self._etags
                if not (primed and all(pr.key in dirty for pr in members)):
                    tg.start_soon(guard, repo, members)
        for repo, change in changes.items():
            if change is None:
                continue
            for pr in by_repo[repo]:
                entry = self._entries.get(pr.key)
                base = entry.base_ref if entry is not None else pr.base_branch
                if change.everything or pr.number in change.numbers or base in change.merged_bases:
                    dirty.add(pr.key)
        self._give_up(dirty, limited)
        return dirty

    async def _guard(self, client: Any, prs: Sequence[PRInfo]) -> set[str]:
        """Guarded mode: the keys of the pull requests that must be read again."""
        api = self._access.base_url
        by_repo: dict[str, list[PRInfo]] = {}
        for pr in prs:
            by_repo.setdefault(f"{pr.owner}/{pr.repo}".lower(), []).append(pr)
        dirty = {pr.key for pr in prs if pr.key not in self._entries or self._entries[pr.key].stale}
        limited: list[RateLimitedError] = []

        async def repo_guard(members: list[PRInfo]) -> None:
            try:
                change = await self._list_guard(client, members[0].owner, members[0].repo)
            except RateLimitedError as exc:
                limited.append(exc)
                return
            if change is not None:
                dirty.update(pr.key for pr in members if change.everything or pr.number in change.numbers)

        bases = {(f"{pr.owner}/{pr.repo}".lower(), pr.owner, pr.repo, pr.base_branch) for pr in prs}
        for pr in prs:
            known = self._entries.get(pr.key)
            if known is not None and known.snapshot.state is PRState.OPEN:
                bases.add((known.repo.lower(), pr.owner, pr.repo, known.base_ref))
        keys = {pr.key for pr in prs}

        async def base_guard(repo: str, owner: str, name: str, base: str) -> None:
            url = f"{api}/repos/{quote(owner)}/{quote(name)}/git/ref/heads/{quote(base)}"
            try:
                status, _ = await self._get(client, url)
            except RateLimitedError as exc:
                limited.append(exc)
                return
            except SCMError:
                status = 200
            if status != 304:
                dirty.update(
                    key
                    for key, entry in self._entries.items()
                    if key in keys
                    and entry.repo.lower() == repo
                    and entry.base_ref == base
                    and entry.snapshot.state is PRState.OPEN
                )

        async with anyio.create_task_group() as tg:
            for members in by_repo.values():
                tg.start_soon(repo_guard, members)
            for base in bases:
                tg.start_soon(base_guard, *base)
        self._give_up(dirty, limited)

        async def ci_guard(pr: PRInfo, entry: _Entry) -> None:
            for url in self._ci_urls(pr, entry):
                try:
                    status, _ = await self._get(client, url)
                except RateLimitedError as exc:
                    limited.append(exc)
                    return
                except SCMError:
                    status = 200
                if status != 304:
                    dirty.add(pr.key)
                    return

        async with anyio.create_task_group() as tg:
            for pr in prs:
                entry = self._entries.get(pr.key)
                if pr.key not in dirty and entry is not None and entry.snapshot.state is PRState.OPEN:
                    tg.start_soon(ci_guard, pr, entry)
        self._give_up(dirty, limited)
        return dirty

    def _ci_urls(self, pr: PRInfo, entry: _Entry) -> list[str]:
        sha = entry.snapshot.head_sha
        if not sha:
            return []
        base = f"{self._access.base_url}/repos/{quote(pr.owner)}/{quote(pr.repo)}/commits/{sha}"
        urls = [f"{base}/check-runs?per_page=100"]
        if entry.uses_statuses or entry.no_ci or entry.repo.lower() in self._status_repos:
            urls.append(f"{base}/status?per_page=100")
        return urls

    async def _fetch(self, client: Any, prs: Sequence[PRInfo]) -> list[PRInfo]:
        """Read ``prs`` by GraphQL (even batches, a few at a time); returns those read.

        A batch GitHub refuses as too big is read again as two halves, and later polls use the smaller size.
        """
        for pr in prs:
            self._entries.pop(pr.key, None)  # a failed read must not leave the old snapshot in place
        batches = split_batches(prs, self._batch_size)
        fetched: list[PRInfo] = []
        limiter = anyio.CapacityLimiter(GRAPHQL_CONCURRENCY)
        failure: list[BaseException] = []

        async def run(batch: Sequence[PRInfo]) -> None:
            async with limiter:
                try:
                    data, server_time = await self._graphql(client, batch)
                except RateLimitedError as exc:
                    failure.append(exc)
                    return
                except _BatchTooLarge:
                    if len(batch) == 1:
                        return
                    half = len(batch) // 2
                    self._batch_size = max(1, min(self._batch_size, half))
                    data = None
                except SCMError:
                    return
            if data is None:  # outside the limiter: the halves take their own places
                await run(batch[:half])
                await run(batch[half:])
                return
            for i, pr in enumerate(batch):
                node = (data.get(f"pr{i}") or {}).get("pullRequest")
                if isinstance(node, dict):
                    self._store(pr, node, server_time)
                    fetched.append(pr)

        async with anyio.create_task_group() as tg:
            for batch in batches:
                tg.start_soon(run, batch)
        self.last_poll["refreshed"] = len(fetched)
        if failure:
            raise failure[0]
        return fetched

    def _store(self, pr: PRInfo, node: Mapping[str, Any], server_time: datetime) -> None:
        snapshot = snapshot_from_graphql(node)
        runs, statuses, uses_statuses, no_ci = _fingerprints(node)
        repo = f"{pr.owner}/{pr.repo}"
        if uses_statuses:
            self._status_repos.add(repo.lower())
        now = self._clock()
        ci_start_until = 0.0
        if snapshot.state is PRState.OPEN and snapshot.ci_status is CIStatus.NONE and self._ci_start_grace > 0:
            # age by the server's clock: ours may be skewed; a push moves updatedAt
            with contextlib.suppress(ValueError):
                updated = parse_time(node.get("updatedAt"))
                age = max(0.0, (server_time - updated).total_seconds()) if updated is not None else 0.0
                if age < self._ci_start_grace:
                    ci_start_until = now + self._ci_start_grace - age
        self._entries[pr.key] = _Entry(
            snapshot=snapshot,
            number=pr.number,
            repo=repo,
            head_ref=str(node.get("headRefName") or pr.branch),
            base_ref=str(node.get("baseRefName") or pr.base_branch),
            uses_statuses=uses_statuses,
            no_ci=no_ci,
            runs=runs,
            statuses=statuses,
            read_at=now,
            # GitHub computes mergeability lazily: read again until it is known
            stale=snapshot.state is PRState.OPEN and str(node.get("mergeable") or "UNKNOWN") == "UNKNOWN",
            ci_start_until=ci_start_until,
        )
        self._entries.move_to_end(pr.key)
        while len(self._entries) > _MAX_ENTRIES:
            self._entries.popitem(last=False)

    async def _prime(self, client: Any, prs: Iterable[PRInfo]) -> None:
        """Fetch the CI guards of freshly read pull requests; mark a snapshot stale if REST disagrees."""
        limited: list[RateLimitedError] = []

        async def prime(pr: PRInfo, entry: _Entry) -> None:
            for url in self._ci_urls(pr, entry):
                try:
                    status, body = await self._get(client, url)
                except RateLimitedError as exc:
                    entry.stale = True
                    limited.append(exc)
                    return
                except SCMError:
                    entry.stale = True
                    return
                if status == 304 or not isinstance(body, dict):
                    continue
                if "check_runs" in body and entry.runs is not None:
                    seen = tuple(
                        sorted(
                            (
                                str(r.get("name")),
                                str(r.get("status") or "").lower(),
                                str(r.get("conclusion") or "").lower(),
                            )
                            for r in body["check_runs"]
                            if isinstance(r, dict)
                        )
                    )
                    if body.get("total_count", len(seen)) <= 100 and seen != entry.runs:
                        entry.stale = True
                elif "statuses" in body and entry.statuses is not None:
                    seen_statuses = tuple(
                        sorted(
                            (str(s.get("context")), str(s.get("state") or "").lower())
                            for s in body["statuses"]
                            if isinstance(s, dict)
                        )
                    )
                    if seen_statuses != entry.statuses:
                        entry.stale = True

        async with anyio.create_task_group() as tg:
            for pr in prs:
                entry = self._entries.get(pr.key)
                if entry is not None and entry.snapshot.state is PRState.OPEN:
                    tg.start_soon(prime, pr, entry)
        if limited:
            raise limited[0]
