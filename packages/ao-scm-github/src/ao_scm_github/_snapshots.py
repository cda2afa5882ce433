"""Pull-request snapshots for many pull requests: batched GraphQL behind conditional-request guards.

One poll (``snapshotGuards: true``, the default):

1. **Guards, before any data is read** (so that a change racing the poll is seen by the next one), all
   conditional (``If-None-Match``; a 304 costs no rate limit):

   * per repository, ``GET /repos/O/R/pulls?state=all&sort=updated&direction=desc&per_page=20``: every
     change to a pull request (push, review, comment, label, close, merge) moves its ``updated_at`` and
     so the list. ``state=all`` matters: a pull request that is closed or merged leaves the *open* list
     without changing its first entry. On a change, the entries updated since the previous answer name
     the pull requests to re-read (all of the repository's when more than 20 changed);
   * per repository and base branch, ``GET /repos/O/R/git/ref/heads/<base>``: a moved base changes
     conflicts and "behind" without touching the pull requests;
   * per open pull request, ``GET /repos/O/R/commits/<head>/check-runs?per_page=100`` (and the commit's
     combined ``status`` in repositories that use commit statuses, or while a pull request has no CI at
     all): CI results change nothing else. ``per_page=100`` rather than 1: the ETag covers the body, and
     a first page of one would not change when another check finishes.

2. **GraphQL** for the pull requests that changed or are not cached: one request per 25, aliased
   ``pr<i>: repository(owner, name) { pullRequest(number) { ... } }``, across repositories.

3. **Priming** the CI guards of the pull requests just read (their ETags must exist before the next
   poll); when the checks read by REST disagree with the GraphQL rollup, the snapshot is re-read next time.

A poll in which nothing changed therefore makes only conditional requests answered 304 and returns the
cached snapshots; but it makes one request per open pull request (plus two per repository), and the
first poll pays for priming them. With ``snapshotGuards: false`` every poll re-reads every pull request
that is not merged by GraphQL alone: one request per 25, never free, never more.
Snapshots whose mergeability GitHub had not computed yet are re-read on the next poll.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
from ao_core.errors import RateLimitedError, SCMError
from ao_core.models import PRInfo, PRSnapshot, PRState

from ao_scm_github._github import GitHubAccess, rate_limit_reset, rate_limited
from ao_scm_github._mapping import snapshot_from_graphql

__all__ = ["BATCH_SIZE", "SNAPSHOT_FRAGMENT", "SnapshotEngine", "build_batch_query"]

BATCH_SIZE = 25
"""Pull requests per GraphQL request."""
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


def build_batch_query(batch: Sequence[PRInfo]) -> tuple[str, dict[str, Any]]:
    """The aliased GraphQL query for up to 25 pull requests (any repositories) and its variables."""
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


@dataclass
class _Entry:
    snapshot: PRSnapshot
    repo: str
    base_ref: str
    uses_statuses: bool
    no_ci: bool
    runs: tuple[tuple[str, str, str], ...] | None
    statuses: tuple[tuple[str, str], ...] | None
    stale: bool = False


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


class SnapshotEngine:
    """Keeps snapshots, ETags and per-repository watermarks between polls (one poll at a time)."""

    def __init__(self, access: GitHubAccess, max_concurrent: int, *, guards: bool = True) -> None:
        self._access = access
        self._max_concurrent = max_concurrent
        self._guards = guards
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._etags: OrderedDict[str, str] = OrderedDict()
        self._watermarks: dict[str, str] = {}
        self._status_repos: set[str] = set()
        self._lock = anyio.Lock()
        self.last_poll: dict[str, int] = {}
        """What the last poll did: ``requests``, ``not_modified``, ``graphql``, ``refreshed``."""

    # ------------------------------------------------------------------ HTTP

    async def _get(self, client: Any, url: str) -> tuple[int, Any]:
        """A conditional GET: ``(304, None)`` when unchanged, else ``(200, json)`` (the ETag is kept).

        Raises:
            RateLimitedError: when GitHub refuses for a rate limit.
            SCMError: for other errors.
        """
        headers = {}
        etag = self._etags.get(url)
        if etag is not None:
            headers["If-None-Match"] = etag
        self.last_poll["requests"] = self.last_poll.get("requests", 0) + 1
        try:
            async with self._limiter:  # few requests queued in httpx's pool: its queue handling is quadratic
                response = await client.get(url, headers=headers)
        except Exception as exc:  # httpx.HTTPError and OS errors: the caller falls back to GraphQL
            raise SCMError(f"cannot reach GitHub at {self._access.base_url}: {type(exc).__name__}") from exc
        if response.status_code == 304:
            self.last_poll["not_modified"] = self.last_poll.get("not_modified", 0) + 1
            return 304, None
        if response.status_code >= 400:
            message = ""
            with contextlib.suppress(ValueError, AttributeError):
                message = str(response.json().get("message") or "")
            if rate_limited(response.status_code, response.headers, message):
                raise RateLimitedError(self._access.host, rate_limit_reset(response.headers), "while polling PRs")
            raise SCMError(f"GitHub answered {response.status_code} for a guard request: {message}")
        new_etag = response.headers.get("ETag")
        if new_etag:
            self._etags[url] = new_etag
            self._etags.move_to_end(url)
            while len(self._etags) > _MAX_ETAGS:
                self._etags.popitem(last=False)
        return response.status_code, response.json()

    async def _graphql(self, client: Any, batch: Sequence[PRInfo]) -> dict[str, Any]:
        query, variables = build_batch_query(batch)
        self.last_poll["requests"] = self.last_poll.get("requests", 0) + 1
        self.last_poll["graphql"] = self.last_poll.get("graphql", 0) + 1
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
            raise SCMError(f"GitHub GraphQL answered {response.status_code}: {message}")
        errors = body.get("errors") or [] if isinstance(body, dict) else []
        for error in errors:
            if isinstance(error, dict) and (
                error.get("type") == "RATE_LIMITED" or "rate limit" in str(error.get("message", "")).lower()
            ):
                raise RateLimitedError(self._access.host, rate_limit_reset(response.headers), "GraphQL PR snapshots")
        data: dict[str, Any] = body.get("data") or {} if isinstance(body, dict) else {}
        return data

    # ------------------------------------------------------------------ the poll

    async def snapshots(self, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
        """Snapshots of ``prs`` keyed by ``PRInfo.key``; pull requests that could not be read are left out."""
        import httpx

        token = await self._access.token()
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "ao-scm-github",
        }
        limits = httpx.Limits(max_connections=self._max_concurrent, max_keepalive_connections=self._max_concurrent)
        timeout = httpx.Timeout(self._access.timeout, pool=None)
        async with self._lock, httpx.AsyncClient(headers=headers, limits=limits, timeout=timeout) as client:
            self.last_poll = {"requests": 0, "not_modified": 0, "graphql": 0, "refreshed": 0}
            unique = list({pr.key: pr for pr in prs}.values())
            if self._guards:
                dirty = await self._guard(client, unique)
            else:
                # without guards every pull request that can still change is read again
                dirty = {
                    pr.key
                    for pr in unique
                    if pr.key not in self._entries or self._entries[pr.key].snapshot.state is not PRState.MERGED
                }
            fetched = await self._fetch(client, [pr for pr in unique if pr.key in dirty])
            if self._guards:
                await self._prime(client, fetched)
            return {pr.key: self._entries[pr.key].snapshot for pr in unique if pr.key in self._entries}

    async def _guard(self, client: Any, prs: Sequence[PRInfo]) -> set[str]:
        """The keys of the pull requests that must be read again."""
        api = self._access.base_url
        by_repo: dict[str, list[PRInfo]] = {}
        for pr in prs:
            by_repo.setdefault(f"{pr.owner}/{pr.repo}".lower(), []).append(pr)
        dirty = {pr.key for pr in prs if pr.key not in self._entries or self._entries[pr.key].stale}
        everything: set[str] = set()
        limited: list[RateLimitedError] = []

        async def repo_guard(repo: str, members: list[PRInfo]) -> None:
            owner, name = members[0].owner, members[0].repo
            url = (
                f"{api}/repos/{quote(owner)}/{quote(name)}/pulls"
                f"?state=all&sort=updated&direction=desc&per_page={LIST_GUARD_SIZE}"
            )
            try:
                status, items = await self._get(client, url)
            except RateLimitedError as exc:
                limited.append(exc)
                return
            except SCMError:
                everything.add(repo)
                return
            if status == 304:
                return
            previous = self._watermarks.get(repo)
            items = [i for i in items or [] if isinstance(i, dict)]
            self._watermarks[repo] = str(items[0].get("updated_at") or "") if items else ""
            if previous is None or (len(items) >= LIST_GUARD_SIZE and str(items[-1].get("updated_at")) >= previous):
                everything.add(repo)
                return
            changed = {int(i["number"]) for i in items if str(i.get("updated_at") or "") >= previous}
            dirty.update(pr.key for pr in members if pr.number in changed)

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
            for repo, members in by_repo.items():
                tg.start_soon(repo_guard, repo, members)
            for base in bases:
                tg.start_soon(base_guard, *base)
        if limited:
            raise limited[0]
        dirty.update(pr.key for pr in prs if f"{pr.owner}/{pr.repo}".lower() in everything)

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
        if limited:
            raise limited[0]
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
        """Read ``prs`` by GraphQL (one request per 25, a few at a time); returns those read."""
        for pr in prs:
            self._entries.pop(pr.key, None)  # a failed read must not leave the old snapshot in place
        batches = [prs[i : i + BATCH_SIZE] for i in range(0, len(prs), BATCH_SIZE)]
        fetched: list[PRInfo] = []
        limiter = anyio.CapacityLimiter(GRAPHQL_CONCURRENCY)
        failure: list[BaseException] = []

        async def run(batch: Sequence[PRInfo]) -> None:
            async with limiter:
                try:
                    data = await self._graphql(client, batch)
                except RateLimitedError as exc:
                    failure.append(exc)
                    return
                except SCMError:
                    return
            for i, pr in enumerate(batch):
                node = (data.get(f"pr{i}") or {}).get("pullRequest")
                if isinstance(node, dict):
                    self._store(pr, node)
                    fetched.append(pr)

        async with anyio.create_task_group() as tg:
            for batch in batches:
                tg.start_soon(run, batch)
        self.last_poll["refreshed"] = len(fetched)
        if failure:
            raise failure[0]
        return fetched

    def _store(self, pr: PRInfo, node: Mapping[str, Any]) -> None:
        snapshot = snapshot_from_graphql(node)
        runs, statuses, uses_statuses, no_ci = _fingerprints(node)
        repo = f"{pr.owner}/{pr.repo}"
        if uses_statuses:
            self._status_repos.add(repo.lower())
        self._entries[pr.key] = _Entry(
            snapshot=snapshot,
            repo=repo,
            base_ref=str(node.get("baseRefName") or pr.base_branch),
            uses_statuses=uses_statuses,
            no_ci=no_ci,
            runs=runs,
            statuses=statuses,
            # GitHub computes mergeability lazily: read again until it is known
            stale=snapshot.state is PRState.OPEN and str(node.get("mergeable") or "UNKNOWN") == "UNKNOWN",
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
