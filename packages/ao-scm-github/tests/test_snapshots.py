"""Batched snapshots against the fake GitHub: request counts, rate-limit cost, change detection, per mode.

``measure_snapshot_polls`` is also the benchmark: ``python packages/ao-scm-github/tests/test_snapshots.py``
prints the figures of every snapshot mode for 200 pull requests in 3 repositories at 50 ms per request.
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
from typing import Any, get_args

import anyio
import pytest
from ao_core.config import ProjectConfig
from ao_core.errors import RateLimitedError
from ao_core.models import CIStatus, PRInfo, PRSnapshot, PRState, ReviewDecision, WebhookRequest
from ao_scm_github import GitHubSCMConfig, create
from ao_scm_github._scm import GitHubSCM
from ao_scm_github._snapshots import BATCH_SIZE, SnapshotMode
from ao_testing.fakes.github import FakeGitHub, FakeGitHubProcess, RequestRecord, WebhookDelivery

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(120)]

REPO = "octo/app"
OTHER = "acme/web"
SECRET = "a-webhook-secret-for-tests"
OpenPR = Callable[..., PRInfo]
MakeSCM = Callable[..., GitHubSCM]
AsRequest = Callable[[WebhookDelivery], WebhookRequest]
BENCH_REPOS = ("octo/app", "octo/api", "acme/web")
MODES: tuple[SnapshotMode, ...] = get_args(SnapshotMode)


# --------------------------------------------------------------------------- the benchmark


def build_prs(fake: Any, n_prs: int, repos: Sequence[str], *, create_repos: bool = True) -> list[PRInfo]:
    """``n_prs`` open pull requests spread over ``repos`` (the first ones in the first repository), CI passing.

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
    """What one poll cost, and whether its snapshots showed the change made before it."""

    requests: int
    not_modified: int
    graphql: int
    rest_cost: int
    graphql_cost: int
    seconds: float
    ok: bool | None = None
    """Whether the snapshots were right (the change was seen; nothing else moved); ``None``: not checked."""
    polls: int = 1
    """Polls since the change, this one included (more than 1: the change was seen this late)."""

    def __str__(self) -> str:
        seen = "" if self.ok is None else ", change seen" if self.ok else ", change NOT seen"
        late = f", on poll {self.polls} after the change" if self.polls > 1 else ""
        return (
            f"{self.requests} requests ({self.graphql} GraphQL, {self.not_modified} answered 304), "
            f"rate-limit cost {self.rest_cost} REST + {self.graphql_cost} GraphQL, "
            f"{self.seconds * 1000:.0f} ms{seen}{late}"
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
    mode: SnapshotMode = "adaptive",
    guards: bool | None = None,
    full_refresh_polls: int = 10,
) -> dict[str, Poll]:
    """Polls of ``n_prs`` pull requests in one snapshot mode, each after one change made behind ao's back.

    Keys, in order: ``cold`` (first poll), ``unchanged``, ``push to one PR`` (a new head, its CI queued),
    ``CI result on a pending PR`` (that CI fails), ``merge of one PR`` (the others of its repository are
    now behind), ``re-run of a finished check`` (a passing PR of the last repository fails on a re-run);
    when that poll did not see the re-run, ``full refresh``: the first poll that did (``Poll.polls`` says
    how late; at most ``full_refresh_polls`` polls after the pull request was last read).

    The fake runs in its own process (so it does not share this process's interpreter lock) and answers
    every request after ``latency`` seconds. ``guards`` is the old spelling of ``mode`` (``True``:
    guarded, ``False``: graphql).
    """
    if guards is not None:
        mode = "guarded" if guards else "graphql"
    if n_prs < 3 * len(repos):
        raise ValueError(f"n_prs={n_prs}: at least 3 pull requests per repository are needed")
    token_env = "AO_BENCH_GITHUB_TOKEN"
    with FakeGitHubProcess(root) as fake:
        os.environ[token_env] = fake.default_token
        prs = build_prs(fake, n_prs, repos)
        scm = create(
            GitHubSCMConfig(
                base_url=fake.url, token_env=token_env, snapshot_mode=mode, full_refresh_polls=full_refresh_polls
            )
        )
        assert isinstance(scm, GitHubSCM)
        fake.set_latency(latency)
        last: dict[str, PRSnapshot] = {}

        async def poll(check: Callable[[dict[str, PRSnapshot]], bool]) -> Poll:
            nonlocal last
            snapshots, cost = await timed_poll(fake, scm, prs)
            cost.ok = len(snapshots) == n_prs and check(snapshots)
            last = snapshots
            return cost

        results = {"cold": await poll(lambda s: True)}
        cold = last
        results["unchanged"] = await poll(lambda s: s == cold)

        pushed, merged, behind, rerun = prs[0], prs[1], prs[2], prs[-1]
        first_repo, last_repo = repos[0], repos[-1]
        fake.commit(first_repo, pushed.branch, {"more.py": "MORE = 1\n"})
        head = fake.head_sha(first_repo, pushed.number)
        fake.pending_ci(first_repo, pushed.number)
        results["push to one PR"] = await poll(
            lambda s: s[pushed.key].head_sha == head and s[pushed.key].ci_status is CIStatus.PENDING
        )
        fake.fail_ci(first_repo, pushed.number)
        results["CI result on a pending PR"] = await poll(lambda s: s[pushed.key].ci_status is CIStatus.FAILING)
        fake.merge(first_repo, merged.number, force=True)
        results["merge of one PR"] = await poll(
            lambda s: s[merged.key].state is PRState.MERGED and s[behind.key].is_behind
        )
        fake.set_check(last_repo, rerun.number, "ci", "queued", None)
        fake.fail_ci(last_repo, rerun.number)

        def rerun_seen(s: dict[str, PRSnapshot]) -> bool:
            return s[rerun.key].ci_status is CIStatus.FAILING

        results["re-run of a finished check"] = seen = await poll(rerun_seen)
        polls = 1
        while not seen.ok and polls <= full_refresh_polls:
            polls += 1
            seen = await poll(rerun_seen)
            seen.polls = polls
            results["full refresh"] = seen
        return results


async def test_200_prs_adaptive(tmp_path: Path) -> None:
    polls = await measure_snapshot_polls(tmp_path, latency=0.0, mode="adaptive")
    repos, batches = len(BENCH_REPOS), math.ceil(200 / BATCH_SIZE)
    assert all(poll.ok for name, poll in polls.items() if name != "re-run of a finished check"), polls
    cold = polls["cold"]
    # 4 GraphQL requests + the guard list of each repository, primed by the cold poll: 7 requests (budget 10)
    assert cold.requests <= 10
    assert (cold.requests, cold.graphql) == (batches + repos, batches)
    assert (cold.rest_cost, cold.graphql_cost) == (repos, batches)
    unchanged = polls["unchanged"]
    assert unchanged.requests == unchanged.not_modified == repos
    assert (unchanged.rest_cost, unchanged.graphql_cost) == (0, 0)
    pushed = polls["push to one PR"]
    assert (pushed.requests, pushed.graphql, pushed.rest_cost) == (repos + 1, 1, 1)
    ci = polls["CI result on a pending PR"]
    assert (ci.requests, ci.not_modified, ci.graphql, ci.rest_cost) == (repos + 1, repos, 1, 0)
    merge = polls["merge of one PR"]
    assert merge.graphql == math.ceil(67 / BATCH_SIZE), "every pull request of the repository with that base is re-read"
    assert merge.requests == repos + merge.graphql
    rerun = polls["re-run of a finished check"]
    assert rerun.ok is False, "a re-run moves nothing the guards see"
    assert rerun.requests == rerun.not_modified == repos
    refresh = polls["full refresh"]
    # read by the cold poll, the re-run's PR is due on the 10th poll after it: the 6th since the re-run
    assert refresh.polls == 6
    assert refresh.graphql == math.ceil(133 / BATCH_SIZE), "due: the two repositories not re-read since the cold poll"
    assert refresh.requests == 1 + refresh.graphql, "their guards are skipped: everything in them is re-read"


async def test_200_prs_guarded(tmp_path: Path) -> None:
    polls = await measure_snapshot_polls(tmp_path, latency=0.0, mode="guarded")
    assert "full refresh" not in polls
    assert all(poll.ok for poll in polls.values()), polls
    cold, unchanged = polls["cold"], polls["unchanged"]
    repos, batches = len(BENCH_REPOS), math.ceil(200 / BATCH_SIZE)
    assert cold.graphql == batches
    # guards: one pulls list and one base ref per repository, then one CI guard primed per pull request
    assert cold.requests == batches + 2 * repos + 200
    assert unchanged.requests == unchanged.not_modified == 2 * repos + 200
    assert (unchanged.rest_cost, unchanged.graphql_cost, unchanged.graphql) == (0, 0, 0)
    rerun = polls["re-run of a finished check"]
    assert rerun.graphql == 1
    assert rerun.rest_cost == 1, "only the re-run PR's CI guard is answered 200"


async def test_200_prs_graphql_cost_4_requests_per_poll(tmp_path: Path) -> None:
    polls = await measure_snapshot_polls(tmp_path, latency=0.0, guards=False)
    assert "full refresh" not in polls
    for poll in polls.values():
        assert poll.ok
        assert poll.requests == poll.graphql == 4
        assert poll.rest_cost == 0
        assert poll.graphql_cost == 4


async def test_batches_are_even_and_cost_1_point_each(github: FakeGitHub, scm: GitHubSCM) -> None:
    prs = build_prs(github, 101, [REPO], create_repos=False)
    snapshots = await scm.get_pr_snapshots(prs)
    assert len(snapshots) == 101
    graphql = [r for r in github.requests if r.path == "/graphql"]
    assert len(graphql) == scm.last_poll["graphql"] == 3, "101 pull requests: 34 + 34 + 33, not 50 + 50 + 1"
    assert [r.cost for r in graphql] == [1, 1, 1]


async def test_a_batch_too_big_for_github_is_read_in_halves_from_then_on(github: FakeGitHub, make_scm: MakeSCM) -> None:
    scm = make_scm(snapshot_mode="graphql")
    prs = build_prs(github, 60, [REPO], create_repos=False)
    github.graphql_field_limit = 20  # GitHub refuses what one query cannot afford
    snapshots = await poll(scm, github, prs)
    assert len(snapshots) == 60, "nothing is left out"
    assert len(graphql_requests(github)) == 2 + 4, "30 + 30 refused, then four batches of 15"
    await poll(scm, github, prs)
    assert len(graphql_requests(github)) == 4, "later polls start at the smaller size"
    assert all(r.cost == 1 for r in graphql_requests(github))


async def test_a_full_batch_costs_1_point_and_a_double_one_2(github: FakeGitHub) -> None:
    """The fake prices queries as GitHub does; ``BATCH_SIZE`` is the largest batch at 1 point."""
    import httpx
    from ao_scm_github._snapshots import build_batch_query

    async def cost(n: int) -> int:
        prs = [PRInfo(number=i + 1, owner="octo", repo="app", branch=f"b{i}", url="") for i in range(n)]
        query, variables = build_batch_query(prs)
        async with httpx.AsyncClient(base_url=github.url) as client:
            answer = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"bearer {github.default_token}"},
            )
        assert answer.status_code == 200, answer.text
        return github.requests[-1].cost

    assert await cost(BATCH_SIZE) == 1
    assert await cost(2 * BATCH_SIZE) == 2


# --------------------------------------------------------------------------- fixtures


class ManualClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_scm(config: GitHubSCMConfig, clock: ManualClock) -> MakeSCM:
    """``make_scm(**options)``: a GitHubSCM with these options (snake_case) on the manual clock."""

    def make(**options: Any) -> GitHubSCM:
        return GitHubSCM(GitHubSCMConfig.model_validate(config.model_dump() | options), clock=clock)

    return make


@pytest.fixture(params=MODES)
def any_scm(request: pytest.FixtureRequest, make_scm: MakeSCM) -> GitHubSCM:
    """The plugin in each snapshot mode."""
    mode: SnapshotMode = request.param
    return make_scm(snapshot_mode=mode)


def graphql_requests(github: FakeGitHub) -> list[RequestRecord]:
    return [r for r in github.requests if r.path == "/graphql"]


async def poll(scm: GitHubSCM, github: FakeGitHub, prs: Sequence[PRInfo]) -> dict[str, PRSnapshot]:
    """One poll with an empty request log before it (so ``github.requests`` is this poll's)."""
    github.clear_requests()
    return await scm.get_pr_snapshots(prs)


# --------------------------------------------------------------------------- correctness, every mode


async def test_snapshot_fields(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr(files={"a.py": "1\n2\n"}, title="Two lines")
    github.fail_ci(REPO, pr.number, details_url="https://ci.example/1")
    snapshot = (await any_scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.state is PRState.OPEN
    assert snapshot.ci_status is CIStatus.FAILING
    assert snapshot.review_decision is ReviewDecision.PENDING
    assert (snapshot.title, snapshot.additions, snapshot.deletions) == ("Two lines", 2, 0)
    assert snapshot.head_sha == github.head_sha(REPO, pr.number)
    assert snapshot.ci_checks is not None
    assert [(c.name, c.url) for c in snapshot.ci_checks] == [("ci", "https://ci.example/1")]
    assert snapshot.mergeable is False
    assert snapshot.blockers == ["CI is failing", "Review required", "Merge is blocked by branch protection"]

    github.commit(REPO, pr.branch, {"a.py": "1\n"})  # a fix: a new head, whose CI passes
    github.pass_ci(REPO, pr.number)
    github.approve(REPO, pr.number)
    snapshot = (await any_scm.get_pr_snapshots([pr]))[pr.key]
    assert (snapshot.ci_status, snapshot.review_decision, snapshot.mergeable) == (
        CIStatus.PASSING,
        ReviewDecision.APPROVED,
        True,
    )
    assert snapshot.blockers == []


async def test_changes_are_seen_by_the_next_poll(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    prs = [open_pr() for _ in range(4)]
    for pr in prs:
        github.pass_ci(REPO, pr.number)
    await any_scm.get_pr_snapshots(prs)

    github.request_changes(REPO, prs[0].number, [("app.py", 1, "no")])
    github.commit(REPO, prs[1].branch, {"more.py": "MORE = 1\n"})
    github.merge(REPO, prs[2].number, force=True)
    snapshots = await any_scm.get_pr_snapshots(prs)
    assert snapshots[prs[0].key].review_decision is ReviewDecision.CHANGES_REQUESTED
    assert snapshots[prs[1].key].head_sha == github.head_sha(REPO, prs[1].number)
    assert snapshots[prs[1].key].ci_status is CIStatus.NONE, "the new head has no CI yet"
    assert snapshots[prs[2].key].state is PRState.MERGED, "a merge of a PR that was not the latest is seen"
    assert snapshots[prs[3].key].is_behind is True, "main moved: the others are behind"
    assert "Branch is behind base branch" in snapshots[prs[3].key].blockers
    assert any_scm.last_poll["refreshed"] == 4


async def test_check_run_changes_while_pending_are_seen(
    github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR
) -> None:
    pr = open_pr()
    github.pass_ci(REPO, pr.number, name="lint")
    github.pending_ci(REPO, pr.number, name="tests")
    assert (await any_scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.PENDING
    github.fail_ci(REPO, pr.number, name="tests")
    snapshot = (await any_scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.ci_status is CIStatus.FAILING
    assert snapshot.ci_checks is not None
    assert {c.name: c.conclusion for c in snapshot.ci_checks} == {"lint": "success", "tests": "failure"}


async def test_commit_status_changes_are_seen(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.set_status(REPO, pr.number, "jenkins", "pending")
    assert (await any_scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.PENDING
    github.set_status(REPO, pr.number, "jenkins", "success")
    assert (await any_scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.PASSING


async def test_ci_appearing_on_a_pr_without_ci_is_seen(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    assert (await any_scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.NONE
    github.set_status(REPO, pr.number, "external", "failure")
    assert (await any_scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.FAILING


async def test_unknown_mergeability_is_read_again(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.pass_ci(REPO, pr.number)
    github.mergeability_computing(REPO, pr.number)
    snapshot = (await any_scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.mergeable is False
    assert "Merge status unknown (GitHub is computing)" in snapshot.blockers
    snapshot = (await any_scm.get_pr_snapshots([pr]))[pr.key]
    assert any_scm.last_poll["graphql"] == 1
    assert "Merge status unknown (GitHub is computing)" not in snapshot.blockers


async def test_conflicts_and_draft(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    conflicting = open_pr(files={"app.py": "def main():\n    return 'mine'\n"})
    draft = open_pr(draft=True)
    github.commit(REPO, "main", {"app.py": "def main():\n    return 'theirs'\n"})
    snapshots = await any_scm.get_pr_snapshots([conflicting, draft])
    assert snapshots[conflicting.key].has_conflicts is True
    assert "Merge conflicts" in snapshots[conflicting.key].blockers
    assert snapshots[draft.key].is_draft is True
    assert "PR is still a draft" in snapshots[draft.key].blockers


async def test_unreadable_prs_are_left_out(github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.create_repo("acme/secret", private=True)
    missing = pr.model_copy(update={"number": 999})
    hidden = PRInfo(number=1, url="https://example.invalid", owner="acme", repo="secret", branch="x")
    malformed = hidden.model_copy(update={"owner": "../.."})
    snapshots = await any_scm.get_pr_snapshots([pr, missing, hidden, malformed])
    assert set(snapshots) == {pr.key}
    assert await any_scm.get_pr_snapshots([]) == {}


async def test_graphql_failure_leaves_prs_out_until_it_recovers(
    github: FakeGitHub, any_scm: GitHubSCM, open_pr: OpenPR
) -> None:
    pr = open_pr()
    github.pending_ci(REPO, pr.number)
    assert pr.key in await any_scm.get_pr_snapshots([pr])
    github.fail_ci(REPO, pr.number)
    github.fail_next(1, path="^/graphql$")
    assert await any_scm.get_pr_snapshots([pr]) == {}, "a stale snapshot is not passed off as current"
    assert (await any_scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.FAILING


async def test_guard_failure_falls_back_to_graphql(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.pass_ci(REPO, pr.number)
    await scm.get_pr_snapshots([pr])
    github.approve(REPO, pr.number)
    github.fail_next(1, path="/pulls$")
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.review_decision is ReviewDecision.APPROVED


# --------------------------------------------------------------------------- guarded mode


async def test_guarded_sees_a_rerun_of_a_finished_check_at_once(
    github: FakeGitHub, make_scm: MakeSCM, open_pr: OpenPR
) -> None:
    scm = make_scm(snapshot_mode="guarded")
    pr = open_pr()
    github.pass_ci(REPO, pr.number, name="lint")
    github.fail_ci(REPO, pr.number, name="tests")
    assert (await scm.get_pr_snapshots([pr]))[pr.key].ci_status is CIStatus.FAILING
    github.set_check(REPO, pr.number, "lint", "queued", None)  # the older run is re-run and fails
    github.fail_ci(REPO, pr.number, name="lint")
    snapshot = (await scm.get_pr_snapshots([pr]))[pr.key]
    assert snapshot.ci_checks is not None
    assert {c.name: c.conclusion for c in snapshot.ci_checks} == {"lint": "failure", "tests": "failure"}


# --------------------------------------------------------------------------- adaptive mode


async def test_adaptive_is_the_default() -> None:
    assert GitHubSCMConfig().snapshot_mode == "adaptive"
    assert GitHubSCMConfig.model_validate({"snapshotMode": "guarded"}).snapshot_mode == "guarded"
    with pytest.raises(ValueError, match="snapshotMode"):
        GitHubSCMConfig.model_validate({"snapshotMode": "psychic"})


async def test_unchanged_poll_is_one_304_per_repository(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    github.create_repo(OTHER)
    prs = [open_pr(), open_pr(), open_pr(repo=OTHER)]
    for pr in prs:
        github.pass_ci(f"{pr.owner}/{pr.repo}", pr.number)
    first = await poll(scm, github, prs)
    assert len(first) == 3
    assert len(graphql_requests(github)) == 1, "three pull requests of two repositories: one GraphQL request"
    second = await poll(scm, github, prs)
    assert second == first
    assert sorted((r.path, r.status, r.conditional, r.cost) for r in github.requests) == [
        ("/repos/acme/web/pulls", 304, True, 0),
        ("/repos/octo/app/pulls", 304, True, 0),
    ]
    # the whole budget spent by both polls: the two guards' first answers and one GraphQL request
    assert (github.budget().used, github.budget(resource="graphql").used) == (2, 1)


async def test_ci_change_on_a_pending_pr_is_seen_next_poll(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pending, done = open_pr(), open_pr()
    github.pending_ci(REPO, pending.number)
    github.pass_ci(REPO, done.number)
    await poll(scm, github, [pending, done])
    github.fail_ci(REPO, pending.number)  # CI results do not move the pull request's updated_at
    snapshots = await poll(scm, github, [pending, done])
    assert snapshots[pending.key].ci_status is CIStatus.FAILING
    assert (scm.last_poll["volatile"], scm.last_poll["refreshed"]) == (1, 1), "only the pending PR is re-read"
    assert [(r.path, r.status) for r in github.requests] == [("/repos/octo/app/pulls", 304), ("/graphql", 200)]
    await poll(scm, github, [pending, done])
    assert [r.status for r in github.requests] == [304], "finished CI is not volatile any more"


async def test_a_push_to_one_pr_is_seen_next_poll_with_few_requests(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR
) -> None:
    prs = build_prs(github, 30, [REPO], create_repos=False)
    await poll(scm, github, prs)
    assert len(graphql_requests(github)) == 1, "30 pull requests: one batch"
    target = prs[10]
    github.commit(REPO, target.branch, {"fix.py": "FIX = 1\n"})
    github.pending_ci(REPO, target.number)
    snapshots = await poll(scm, github, prs)
    assert snapshots[target.key].head_sha == github.head_sha(REPO, target.number)
    assert snapshots[target.key].ci_status is CIStatus.PENDING
    assert len(github.requests) == 2, "the repository's guard and one GraphQL request"
    # the pushed PR, and the previous newest entry (GitHub's timestamps have one-second resolution)
    assert scm.last_poll["refreshed"] <= 2


async def test_a_merge_refreshes_the_other_prs_of_the_repository(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR
) -> None:
    github.create_repo(OTHER)
    rival = open_pr(files={"app.py": "def main():\n    return 'rival'\n"})
    merged = open_pr(files={"app.py": "def main():\n    return 'merged'\n"})
    newest = open_pr()  # the guard re-reads the previous newest entry anyway: not the rival
    elsewhere = open_pr(repo=OTHER)
    prs = [rival, merged, newest, elsewhere]
    for pr in prs:
        github.pass_ci(f"{pr.owner}/{pr.repo}", pr.number)
    snapshots = await poll(scm, github, prs)
    assert snapshots[rival.key].has_conflicts is False
    github.merge(REPO, merged.number, force=True)
    snapshots = await poll(scm, github, prs)
    assert snapshots[merged.key].state is PRState.MERGED
    assert snapshots[rival.key].has_conflicts is True, "the merge moved main under the rival: conflicts"
    assert "Merge conflicts" in snapshots[rival.key].blockers
    assert scm.last_poll["refreshed"] == 3, "the other repository is not re-read"
    await poll(scm, github, prs)
    assert {r.status for r in github.requests} == {304}, "a merged PR is final; the rest is unchanged"


async def test_full_refresh_every_n_polls(github: FakeGitHub, make_scm: MakeSCM, open_pr: OpenPR) -> None:
    scm = make_scm(full_refresh_polls=3, full_refresh_seconds=None)
    prs = [open_pr(), open_pr()]
    for pr in prs:
        github.pass_ci(REPO, pr.number)
    graphql_per_poll = []
    for _ in range(7):
        await poll(scm, github, prs)
        graphql_per_poll.append(len(graphql_requests(github)))
        assert scm.last_poll["refreshed"] in (0, 2)
    assert graphql_per_poll == [1, 0, 0, 1, 0, 0, 1]
    assert scm.last_poll["due"] == 2
    assert len(github.requests) == 1, "everything is re-read: the guard is skipped (its older ETag is kept)"
    github.approve(REPO, prs[0].number)
    snapshots = await poll(scm, github, prs)
    assert snapshots[prs[0].key].review_decision is ReviewDecision.APPROVED, "seen against the older ETag"


async def test_a_full_refresh_of_200_prs_costs_the_graphql_requests_only(github: FakeGitHub, make_scm: MakeSCM) -> None:
    github.create_repo(OTHER)
    scm = make_scm(full_refresh_polls=2, full_refresh_seconds=None)
    prs = build_prs(github, 200, [REPO, OTHER], create_repos=False)
    costs = []
    for _ in range(3):
        await poll(scm, github, prs)
        costs.append((len(github.requests), len(graphql_requests(github))))
    assert costs == [(4 + 2, 4), (2, 0), (4, 4)]


async def test_full_refresh_after_n_seconds(
    github: FakeGitHub, make_scm: MakeSCM, open_pr: OpenPR, clock: ManualClock
) -> None:
    scm = make_scm(full_refresh_polls=1000, full_refresh_seconds=300)
    pr = open_pr()
    github.pass_ci(REPO, pr.number)
    await poll(scm, github, [pr])
    clock.advance(299)
    await poll(scm, github, [pr])
    assert graphql_requests(github) == []
    clock.advance(1)
    await poll(scm, github, [pr])
    assert (len(graphql_requests(github)), scm.last_poll["due"]) == (1, 1)


async def test_a_rerun_is_seen_at_the_latest_at_the_full_refresh(
    github: FakeGitHub, make_scm: MakeSCM, open_pr: OpenPR
) -> None:
    scm = make_scm(full_refresh_polls=4, full_refresh_seconds=None)
    pr = open_pr()
    github.pass_ci(REPO, pr.number)
    assert (await poll(scm, github, [pr]))[pr.key].ci_status is CIStatus.PASSING
    github.set_check(REPO, pr.number, "ci", "queued", None)  # re-run: nothing a guard sees moves
    github.fail_ci(REPO, pr.number)
    seen = []
    for _ in range(4):
        seen.append((await poll(scm, github, [pr]))[pr.key].ci_status)
    assert seen == [CIStatus.PASSING, CIStatus.PASSING, CIStatus.PASSING, CIStatus.FAILING]


async def test_a_rerun_webhook_makes_the_next_poll_re_read(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR, project: ProjectConfig, as_request: AsRequest
) -> None:
    pr, other = open_pr(), open_pr()
    for each in (pr, other):
        github.pass_ci(REPO, each.number)
    await poll(scm, github, [pr, other])
    github.set_check(REPO, pr.number, "ci", "queued", None)
    github.fail_ci(REPO, pr.number)
    delivery = github.webhook("check_run", REPO, number=pr.number, secret=SECRET)
    event = await scm.parse_webhook(as_request(delivery), project)
    assert event is not None
    snapshots = await poll(scm, github, [pr, other])
    assert snapshots[pr.key].ci_status is CIStatus.FAILING
    assert (scm.last_poll["invalidated"], scm.last_poll["refreshed"]) == (1, 1)


async def test_a_direct_push_to_the_base_is_seen_at_the_full_refresh(
    github: FakeGitHub, make_scm: MakeSCM, open_pr: OpenPR
) -> None:
    scm = make_scm(full_refresh_polls=3, full_refresh_seconds=None)
    prs = [open_pr(files={"app.py": f"def main():\n    return {n}\n"}) for n in (10, 20)]
    for pr in prs:
        github.pass_ci(REPO, pr.number)
    await poll(scm, github, prs)
    github.commit(REPO, "main", {"app.py": "def main():\n    return 'direct'\n"})  # no pull request moves
    conflicts = []
    for _ in range(3):
        snapshots = await poll(scm, github, prs)
        conflicts.append([snapshots[pr.key].has_conflicts for pr in prs])
    # no guard of adaptive mode sees a push straight to the base branch (documented): the full refresh does
    assert conflicts == [[False, False], [False, False], [True, True]]


async def test_a_push_webhook_for_the_base_makes_the_next_poll_re_read(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR, project: ProjectConfig, as_request: AsRequest
) -> None:
    prs = [open_pr(files={"app.py": f"def main():\n    return {n}\n"}) for n in (10, 20)]
    for pr in prs:
        github.pass_ci(REPO, pr.number)
    await poll(scm, github, prs)
    github.commit(REPO, "main", {"app.py": "def main():\n    return 'direct'\n"})
    await scm.parse_webhook(as_request(github.webhook("push", REPO, branch="main", secret=SECRET)), project)
    snapshots = await poll(scm, github, prs)
    assert all(snapshots[pr.key].has_conflicts for pr in prs)
    assert scm.last_poll["invalidated"] == 2


async def test_a_pr_without_ci_is_re_read_only_while_ci_may_be_starting(
    github: FakeGitHub, make_scm: MakeSCM, open_pr: OpenPR, clock: ManualClock
) -> None:
    scm = make_scm(ci_start_grace_seconds=120)
    pr = open_pr()
    await poll(scm, github, [pr])
    await poll(scm, github, [pr])
    assert scm.last_poll["volatile"] == 1, "just pushed, no CI yet: CI may be starting"
    clock.advance(121)
    await poll(scm, github, [pr])
    assert [r.status for r in github.requests] == [304], "no CI long after the push: a repository without CI"


async def test_a_rate_limit_between_guards_does_not_lose_a_change(
    github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR
) -> None:
    github.create_repo(OTHER)
    mine, theirs = open_pr(), open_pr(repo=OTHER)
    for pr in (mine, theirs):
        github.pass_ci(f"{pr.owner}/{pr.repo}", pr.number)
    await poll(scm, github, [mine, theirs])
    github.approve(REPO, mine.number)  # octo/app's guard answers 200 (and keeps the new ETag) ...
    github.rate_limit_next(1, path=f"^/repos/{OTHER}/pulls$", reset_in=60)  # ... acme/web's is refused
    with pytest.raises(RateLimitedError):
        await poll(scm, github, [mine, theirs])
    snapshots = await poll(scm, github, [mine, theirs])
    assert snapshots[mine.key].review_decision is ReviewDecision.APPROVED


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
    async def run() -> dict[str, dict[str, Poll]]:
        results: dict[str, dict[str, Poll]] = {}
        for mode in MODES:
            with tempfile.TemporaryDirectory() as tmp:
                results[mode] = await measure_snapshot_polls(Path(tmp), mode=mode)
        return results

    for mode, polls in anyio.run(run).items():
        print(f"200 PRs in 3 repositories, 50 ms per request, snapshotMode {mode}:")
        for name, figures in polls.items():
            print(f"  {name:>26}: {figures}")


if __name__ == "__main__":
    _main()
