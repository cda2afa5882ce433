"""The end of failing checks' logs: Actions job logs through their download redirect, other apps' reports."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ao_core.errors import RateLimitedError
from ao_core.models import CheckStatus, CICheck, PRInfo
from ao_scm_github._mapping import log_tail
from ao_scm_github._scm import GitHubSCM
from ao_testing.fakes.github import FakeGitHub

pytestmark = [pytest.mark.anyio, pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"
OpenPR = Callable[..., PRInfo]


def failed(*names: str) -> list[CICheck]:
    return [CICheck(name=name, status=CheckStatus.FAILED, conclusion="failure") for name in names]


async def test_actions_logs_and_other_reports(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    log = "".join(f"2026-11-30T01:02:{i % 60:02d}.1234567Z \x1b[36mstep {i}\x1b[0m\n" for i in range(100))
    github.fail_ci(REPO, pr.number, "tests", log=log + "2026-11-30T01:03:00.0000000Z Error: 2 tests failed\n")
    circle = github.fail_ci(REPO, pr.number, "circleci", summary="3 of 40 specs failed: test_login, test_logout")
    circle.app_slug = "circleci-checks"
    github.fail_ci(REPO, pr.number, "expired", summary="Lint found 1 problem")  # an Actions run without a log
    github.fail_ci(REPO, pr.number, "bare")  # neither log nor report
    github.pass_ci(REPO, pr.number, "docs", details_url="https://ci.example/docs")
    before = len(github.requests)

    tails = await scm.get_ci_log_tails(pr, failed("tests", "circleci", "expired", "bare"))

    tests = tails["tests"].splitlines()
    assert len(tests) == 30
    assert tests[-1] == "Error: 2 tests failed", "timestamps and colours are gone"
    assert tests[0] == "step 71"
    assert tails["circleci"] == "3 of 40 specs failed: test_login, test_logout"
    assert tails["expired"] == "Lint found 1 problem", "no log: the report"
    assert "bare" not in tails
    sent = [(r.method, r.path.rsplit("/", 2)[-2:], r.status, r.cost) for r in github.requests[before:]]
    job_requests = [s for s in sent if "logs" in s[1] or "job-logs" in s[1]]
    # tests: 302 then the free download; expired and bare: 404 (no log; expired falls back to its report)
    assert sorted((status, cost) for _, _, status, cost in job_requests) == [(200, 0), (302, 1), (404, 1), (404, 1)]
    assert len(sent) == 2 + len(job_requests), "the pull request, its head commit's check runs, then the job logs"


async def test_a_rate_limited_log_read_says_when_it_resets(github: FakeGitHub, scm: GitHubSCM, open_pr: OpenPR) -> None:
    pr = open_pr()
    github.fail_ci(REPO, pr.number, "tests", log="boom\n")
    github.rate_limit_next(1, path=r".*/actions/jobs/.*", reset_in=60)
    with pytest.raises(RateLimitedError) as caught:
        await scm.get_ci_log_tails(pr, failed("tests"))
    assert caught.value.reset_at is not None
    assert await scm.get_ci_log_tails(pr, failed("tests")) == {"tests": "boom"}


def test_log_tail_keeps_whole_lines_within_the_size() -> None:
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(50))
    tail = log_tail(text, lines=30, chars=1000)
    assert len(tail) <= 1000
    assert tail.splitlines()[-1].startswith("line 49 ")
    assert all(line.startswith("line ") for line in tail.splitlines()), "no line cut in half"
    assert log_tail("y" * 5000, chars=100) == "…" + "y" * 99, "one huge line: its end"
    assert log_tail("\n\n  \n") == ""


def test_log_tail_reads_actions_markers() -> None:
    log = (
        "2026-11-30T10:00:01.0000000Z ##[group]Run ruff check .\n"
        "2026-11-30T10:00:01.4000000Z ##[endgroup]\n"
        "2026-11-30T10:00:02.1000000Z ##[warning]Node 16 is deprecated\n"
        "2026-11-30T10:00:02.2000000Z ##[error]Process completed with exit code 1.\n"
    )
    assert (
        log_tail(log) == "Run ruff check .\nWarning: Node 16 is deprecated\nError: Process completed with exit code 1."
    )
