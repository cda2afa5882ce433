"""Batched snapshots against the fake GitHub: request counts, rate-limit cost, change detection.

``measure_snapshot_polls`` is also the benchmark: ``python packages/ao-scm-github/tests/test_snapshots.py``
prints the figures for 200 pull requests in 3 repositories at 50 ms per request.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from ao_core.errors import RateLimitedError
from ao_core.models import CIStatus, PRInfo, PRSnapshot, PRState, ReviewDecision
from ao_scm_github import GitHubSCMConfig, create
from ao_scm_github._scm import GitHubSCM
from ao_testing.fakes.github import FakeGitHub, FakeGitHubProcess, RequestRecord

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(120)]

REPO = "octo/app"
OpenPR = Callable[..., PRInfo]
BENCH_REPOS = ("octo/app", "octo/api", "acme/web")


# --------------------------------------------------------------------------- the benchmark


def build_prs(fake: Any, n_prs: int, repos: Sequence[str], *, create_repos: bool = True) -> list[PRInfo]:
    """``n_prs`` open pull requests spread over ``repos``, each with passing CI.

    ``fake`` is a :class:`FakeGitHub` or a :class:`FakeGitHubProcess` (same methods).
    """
    prs: list[PRInfo] = []
    per_repo = [n_prs // len(repos) + (1 if i < n_prs % len(repos) else 0) for i in range(len(repos))]
    for repo, count in zip(repos, per_repo, strict=True):
        if create_repos:
            fake.create_repo(repo)
        branches = {f"feat/pr-{i}": {f"src/module_{i}.py": f"VALUE = {i}\n"} for i in range(count)}
        fake.create_branches(repo, branches)
        numbers = fake.create_prs(repo, list(branches))
        owner, name = repo.split("/")
        for number, branch in zip(numbers, branches, strict=True):
            fake.pass_ci(repo, number)
            prs.append(
                PRInfo(number=number, url=f"{fake.url}/{repo}/pull/{number}", owner=owner, repo=name, branch=branch)
            )
    fake.warm()
    return prs


@dataclass
class Poll:
    """What one poll cost."""

    requests: int
    not_modified: int
    graphql: int
    rest_cost: int
    graphql_cost: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.requests} requests ({self.graphql} GraphQL, {self.not_modified} answered 304), "
            f"rate-limit cost {self.rest_cost} REST + {self.graphql_cost} GraphQL, {self.seconds * 1000:.0f} ms"
        )


def poll_cost(records: Sequence[RequestRecord], seconds: float) -> Poll:
    return Poll(
        requests=len(records),
        not_modified=sum(1 for r in records if r.status == 304),
        graphql=sum(1 for r in records if r.path == "/graphql"),
        rest_cost=sum(r.cost for r in records if r.resource == "core"),
        graphql_cost=sum(r.cost for r in records if r.resource == "graphql"),
        seconds=seconds,
    )


async def timed_poll(fake: Any, scm: GitHubSCM, prs: Sequence[PRInfo]) -> tuple[dict[str, PRSnapshot], Poll]:
    fake.clear_requests()
    started = time.perf_counter()
    snapshots = await scm.get_pr_snapshots(prs)
    elapsed = time.perf_counter() - started
    records = fake.requests_log() if isinstance(fake, FakeGitHubProcess) else fake.requests
    return snapshots, poll_cost(records, elapsed)


async def measure_snapshot_polls(
    root: Path,
    *,
    n_prs: int = 200,
    repos: Sequence[str] = BENCH_REPOS,
    latency: float = 0.05,
    guards: bool = True,
) -> dict[str, Poll]:
    """Three polls of ``n_prs`` pull requests: cold, unchanged, and after one PR's CI failed.

    The fake runs in its own process (so it does not share this process's interpreter lock) and answers
    every request after ``latency`` seconds. Returns the cost and wall time of each poll.
    """
    token_env = "AO_BENCH_GITHUB_TOKEN"
    with FakeGitHubProcess(root) as fake:
        os.environ[token_env] = fake.default_token
        prs = build_prs(fake, n_prs, repos)
        scm = create(GitHubSCMConfig(base_url=fake.url, token_env=token_env, snapshot_guards=guards))
        assert isinstance(scm, GitHubSCM)
        fake.set_latency(latency)
        first, cold = await timed_poll(fake, scm, prs)
        assert len(first) == n_prs
        _, unchanged = await timed_poll(fake, scm, prs)
        fake.set_latency(0)
        fake.fail_ci(f"{prs[0].owner}/{prs[0].repo}", prs[0].number)
        fake.set_latency(latency)
        third, changed = await timed_poll(fake, scm, prs)
        assert third[prs[0].key].ci_status is CIStatus.FAILING
        return {"cold": cold, "unchanged": unchanged, "one CI change": changed}


# --------------------------------------------------------------------------- 200 pull requests


async def test_200_prs_guarded(tmp_path: Path) -> None:
    polls = await measure_snapshot_polls(tmp_path, latency=0.0)
    cold, unchanged, changed = polls["cold"], polls["unchanged"], polls["one CI change"]
    repos, batches = len(BENCH_REPOS), math.ceil(200 / 25)
    assert cold.graphql == batches
    # guards: one pulls list and one base ref per repository, then one CI guard primed per pull request
    assert cold.requests == batches + 2 * repos + 200
    assert unchanged.requests == unchanged.not_modified == 2 * repos + 200
    assert (unchanged.rest_cost, unchanged.graphql_cost, unchanged.graphql) == (0, 0, 0)
    assert changed.graphql == 1
    assert changed.rest_cost == 1, "only the changed PR's CI guard is answered 200"
    assert changed.requests - changed.not_modified == 2


async def test_200_prs_without_guards_cost_8_requests_per_poll(tmp_path: Path) -> None:
    polls = await measure_snapshot_polls(tmp_path, latency=0.0, guards=False)
    for poll in polls.values():
        assert poll.requests == poll.graphql == 8
        assert poll.rest_cost == 0
        assert poll.graphql_cost == 8


async def test_batches_never_exceed_25_pull_requests(github: FakeGitHub, scm: GitHubSCM) -> None:
    prs = build_prs(github, 60, [REPO], create_repos=False)
    snapshots = await scm.get_pr_snapshots(prs)
    assert len(snapshots) == 60
    assert scm.last_poll["graphql"] == 3


# --------------------------------------------------------------------------- correctness


async def test_snapshot_fields(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr(files={"a.py": "1\n2\n"}, title="Two lines")
    github.fail_ci(REPO, pr.number, details_url="https://ci.example/1")
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.state is PRState.OPEN
    assert snapshot.ci_status is CIStatus.FAILING
    assert snapshot.review_decision is ReviewDecision.PENDING
    assert (snapshot.title, snapshot.additions, snapshot.deletions) == ("Two lines", 2, 0)
    assert snapshot.head_sha == github.head_sha(REPO, pr.number)
    assert snapshot.ci_checks is not None
    assert [(c.name, c.url) for c in snapshot.ci_checks] == [("ci", "https://ci.example/1")]
    assert snapshot.mergeable is False
    assert snapshot.blockers == ["CI is failing", "Review required", "Merge is blocked by branch protection"]

    github.pass_ci(REPO, pr.number)
    github.approve(REPO, pr.number)
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert (snapshot.ci_status, snapshot.review_decision, snapshot.mergeable) == (
        CIStatus.PASSING,
        ReviewDecision.APPROVED,
        True,
    )
    assert snapshot.blockers == []


async def test_changes_are_seen_by_the_next_poll(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    prs = [open_pr() for _ in range(4)]
    for pr in prs:
        github.pass_ci(REPO, pr.number)
    await scm.get_pr_snapshots(prs)

    github.request_changes(REPO, prs[0].number, [("app.py", 1, "no")])
    github.commit(REPO, prs[1].branch, {"more.py": "MORE = 1\n"})
    github.merge(REPO, prs[2].number, force=True)
    snapshots = await scm.get_pr_snapshots(prs)
    assert snapshots[prs[0].key].review_decision is ReviewDecision.CHANGES_REQUESTED
    assert snapshots[prs[1].key].head_sha == github.head_sha(REPO, prs[1].number)
    assert snapshots[prs[1].key].ci_status is CIStatus.NONE, "the new head has no CI yet"
    assert snapshots[prs[2].key].state is PRState.MERGED, "a merge of a PR that was not the latest is seen"
    assert snapshots[prs[3].key].is_behind is True, "main moved: the others are behind"
    assert "Branch is behind base branch" in snapshots[prs[3].key].blockers
    assert scm.last_poll["refreshed"] == 4


async def test_a_later_check_run_change_is_seen(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.pass_ci(REPO, pr.number, name="lint")
    github.pending_ci(REPO, pr.number, name="tests")
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.PENDING
    github.fail_ci(REPO, pr.number, name="tests")
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.FAILING
    github.pass_ci(REPO, pr.number, name="lint")  # the older run changes: rerun, same result
    github.fail_ci(REPO, pr.number, name="lint")
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.ci_checks is not None
    assert {c.name: c.conclusion for c in snapshot.ci_checks} == {"lint": "failure", "tests": "failure"}


async def test_commit_status_changes_are_seen(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.set_status(REPO, pr.number, "jenkins", "pending")
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.PENDING
    github.set_status(REPO, pr.number, "jenkins", "success")
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.PASSING


async def test_ci_appearing_on_a_pr_without_ci_is_seen(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.NONE
    github.set_status(REPO, pr.number, "external", "failure")
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.FAILING


async def test_unknown_mergeability_is_read_again(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.mergeability_computing(REPO, pr.number)
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.mergeable is False
    assert "Merge status unknown (GitHub is computing)" in snapshot.blockers
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert scm.last_poll["graphql"] == 1
    assert "Merge status unknown (GitHub is computing)" not in snapshot.blockers


async def test_conflicts_and_draft(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    conflicting = open_pr(files={"app.py": "def main():\n    return 'mine'\n"})
    draft = open_pr(draft=True)
    github.commit(REPO, "main", {"app.py": "def main():\n    return 'theirs'\n"})
    snapshots = await scm.get_pr_snapshots([conflicting, draft])
    assert snapshots[conflicting.key].has_conflicts is True
    assert "Merge conflicts" in snapshots[conflicting.key].blockers
    assert snapshots[draft.key].is_draft is True
    assert "PR is still a draft" in snapshots[draft.key].blockers


async def test_unreadable_prs_are_left_out(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.create_repo("acme/secret", private=True)
    missing = pr.model_copy(update={"number": 999})
    hidden = PRInfo(number=1, url="https://example.invalid", owner="acme", repo="secret", branch="x")
    malformed = hidden.model_copy(update={"owner": "../.."})
    snapshots = await scm.get_pr_snapshots([pr, missing, hidden, malformed])
    assert set(snapshots) == {pr.key}
    assert await scm.get_pr_snapshots([]) == {}


async def test_graphql_failure_leaves_prs_out_until_it_recovers(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR
) -> None:
    pr = open_pr()
    assert pr.key in await scm.get_pr_snapshots([pr])
    github.fail_ci(REPO, pr.number)
    github.fail_next(1, path="^/graphql$")
    assert await scm.get_pr_snapshots([pr]) == {}, "a stale snapshot is not passed off as current"
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.FAILING


async def test_guard_failure_falls_back_to_graphql(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    await scm.get_pr_snapshots([pr])
    github.approve(REPO, pr.number)
    github.fail_next(1, path="/pulls$")
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.review_decision is ReviewDecision.APPROVED


# --------------------------------------------------------------------------- rate limits


async def test_403_rate_limit_then_recovery(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.rate_limit_next(1, path="/pulls$", reset_in=300)
    with pytest.raises(RateLimitedError) as caught:
        await scm.get_pr_snapshots([pr])
    assert caught.value.reset_at is not None
    assert 200 < (caught.value.reset_at - datetime.now(UTC)).total_seconds() <= 301
    assert github.default_token not in str(caught.value)
    assert pr.key in await scm.get_pr_snapshots([pr])


async def test_429_retry_after_then_recovery(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.throttle_next(1, path="^/graphql$", retry_after=45)
    with pytest.raises(RateLimitedError) as caught:
        await scm.get_pr_snapshots([pr])
    assert caught.value.reset_at is not None
    assert 40 <= (caught.value.reset_at - datetime.now(UTC)).total_seconds() <= 46
    assert pr.key in await scm.get_pr_snapshots([pr])


async def test_exhausted_graphql_budget(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.set_rate_limit(resource="graphql", remaining=0, reset_in=600)
    with pytest.raises(RateLimitedError, match="GraphQL"):
        await scm.get_pr_snapshots([pr])
    github.set_rate_limit(resource="graphql", remaining=5000)
    assert pr.key in await scm.get_pr_snapshots([pr])


async def test_rest_rate_limits_become_rate_limited_error(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.rate_limit_next(1, reset_in=90)
    with pytest.raises(RateLimitedError) as caught:
        await scm.get_pr_state(pr)
    assert caught.value.reset_at is not None
    github.throttle_next(1, retry_after=30)
    with pytest.raises(RateLimitedError) as throttled:
        await scm.get_reviews(pr)
    assert throttled.value.reset_at is not None
    assert 25 <= (throttled.value.reset_at - datetime.now(UTC)).total_seconds() <= 31
    github.set_rate_limit(remaining=0, reset_in=120)
    with pytest.raises(RateLimitedError):
        await scm.get_ci_summary(pr)  # a rate limit is raised, not turned into "failing"
    github.set_rate_limit(remaining=5000)
    assert await scm.get_pr_state(pr) is PRState.OPEN


# --------------------------------------------------------------------------- as a script: the figures


def _main() -> None:  # pragma: no cover - run by hand or by the benchmark harness
    async def run() -> dict[str, Any]:
        results: dict[str, Any] = {}
        for guards in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                results[f"guards={guards}"] = await measure_snapshot_polls(Path(tmp), guards=guards)
        return results

    for mode, polls in anyio.run(run).items():
        print(f"200 PRs in 3 repositories, 50 ms per request, {mode}:")
        for name, poll in polls.items():
            print(f"  {name:>14}: {poll}")


if __name__ == "__main__":
    _main()
