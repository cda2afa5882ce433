"""The fake GitHub itself (ao_testing.fakes.github): what the plugins rely on it to do like GitHub.

These live here rather than in ao-testing's tests only because this change owns no files there.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ao_testing.fakes.github import ApiError, FakeGitHub
from github import Auth, Github, GithubException

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

REPO = "octo/app"


@pytest.fixture
def http(github: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=github.url, headers={"Authorization": f"token {github.default_token}"}, timeout=10
    ) as client:
        yield client


def graphql(http: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --------------------------------------------------------------------------- HTTP behaviour


def test_absolute_form_request_line(github: FakeGitHub) -> None:
    with socket.create_connection(("127.0.0.1", github.port), timeout=5) as sock:
        sock.sendall(
            b"GET http://api.github.localhost/repos/octo/app HTTP/1.1\r\n"
            b"Host: api.github.localhost\r\nAuthorization: token fake-token\r\nConnection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["url"] == "http://api.github.localhost/repos/octo/app"


def test_etag_304_costs_nothing(github: FakeGitHub, http: httpx.Client) -> None:
    first = http.get(f"/repos/{REPO}/pulls?state=all")
    assert first.status_code == 200
    remaining = int(first.headers["X-RateLimit-Remaining"])
    assert first.headers["X-RateLimit-Resource"] == "core"
    assert int(first.headers["X-RateLimit-Used"]) == 5000 - remaining
    again = http.get(f"/repos/{REPO}/pulls?state=all", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert int(again.headers["X-RateLimit-Remaining"]) == remaining
    assert [(r.status, r.cost, r.conditional) for r in github.requests[-2:]] == [(200, 1, False), (304, 0, True)]


def test_updated_at_moves_with_reviews_comments_and_pushes_but_not_ci(github: FakeGitHub, http: httpx.Client) -> None:
    github.commit(REPO, "feat/a", {"a.py": "A = 1\n"})
    number = github.create_pr(REPO, "feat/a")
    url = f"/repos/{REPO}/pulls?state=all&sort=updated&direction=desc&per_page=1"
    etag = http.get(url).headers["ETag"]

    def changed() -> bool:
        nonlocal etag
        response = http.get(url, headers={"If-None-Match": etag})
        etag = response.headers["ETag"]
        return response.status_code == 200

    github.fail_ci(REPO, number)
    assert not changed(), "CI results do not touch the pull request"
    github.approve(REPO, number)
    assert changed()
    github.comment(REPO, number, "hi")
    assert changed()
    github.commit(REPO, "feat/a", {"a.py": "A = 2\n"})
    assert changed()
    assert not changed()


def test_pagination_links(github: FakeGitHub, http: httpx.Client) -> None:
    for n in range(7):
        github.create_issue(REPO, f"Issue {n}")
    first = http.get(f"/repos/{REPO}/issues?per_page=3&state=open")
    assert len(first.json()) == 3
    links = first.headers["Link"]
    assert f'<{github.url}/repos/{REPO}/issues?per_page=3&state=open&page=2>; rel="next"' in links
    assert 'page=3>; rel="last"' in links
    last = http.get(f"/repos/{REPO}/issues?per_page=3&state=open&page=3")
    assert len(last.json()) == 1
    assert 'rel="next"' not in last.headers["Link"]
    assert 'rel="first"' in last.headers["Link"]


def test_visibility_per_token(github: FakeGitHub) -> None:
    github.create_repo("acme/secret", private=True, collaborators=["carol"])
    github.add_token("carol-token", "carol")
    github.add_token("dave-token", "dave")
    for token, status in (("carol-token", 200), ("dave-token", 404), ("fake-token", 404)):
        response = httpx.get(f"{github.url}/repos/acme/secret", headers={"Authorization": f"token {token}"})
        assert response.status_code == status, token
    assert httpx.get(f"{github.url}/repos/acme/secret").status_code == 404, "anonymous"
    bad = httpx.get(f"{github.url}/repos/{REPO}", headers={"Authorization": "token nope"})
    assert (bad.status_code, bad.json()["message"]) == (401, "Bad credentials")


def test_budget_exhaustion_and_reset(github: FakeGitHub, http: httpx.Client) -> None:
    github.set_rate_limit(remaining=1, reset_in=30)
    assert http.get(f"/repos/{REPO}").status_code == 200
    refused = http.get(f"/repos/{REPO}")
    assert refused.status_code == 403
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert "API rate limit exceeded" in refused.json()["message"]
    assert 0 < int(refused.headers["X-RateLimit-Reset"]) - time.time() <= 31
    assert http.get("/rate_limit").json()["resources"]["core"]["remaining"] == 0
    github.set_rate_limit(reset_in=-1)  # the window has passed
    assert http.get(f"/repos/{REPO}").status_code == 200


def test_injected_faults_and_latency(github: FakeGitHub, http: httpx.Client) -> None:
    github.fail_next(2, path="/pulls$", status=503)
    assert [http.get(f"/repos/{REPO}/pulls").status_code for _ in range(3)] == [503, 503, 200]
    github.throttle_next(1, retry_after=7)
    throttled = http.get(f"/repos/{REPO}")
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "7")
    github.rate_limit_next(1, reset_in=60)
    limited = http.get(f"/repos/{REPO}")
    assert (limited.status_code, limited.headers["X-RateLimit-Remaining"]) == (403, "0")
    assert [r.fault for r in github.requests[-5:]] == [True, True, False, True, True]
    github.latency = 0.05
    started = time.perf_counter()
    http.get(f"/repos/{REPO}")
    assert time.perf_counter() - started >= 0.05
    assert github.requests[-1].duration_ms >= 50


def test_pull_request_validation(github: FakeGitHub, request: pytest.FixtureRequest) -> None:
    client = Github(auth=Auth.Token(github.default_token), base_url=github.url, retry=None)
    request.addfinalizer(client.close)
    repo = client.get_repo(REPO)
    github.commit(REPO, "feat/dup", {"d.py": "D = 1\n"})
    repo.create_pull(title="One", body="", head="octo:feat/dup", base="main")
    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(title="Two", body="", head="feat/dup", base="main")
    assert duplicate.value.status == 422
    assert "already exists" in json.dumps(duplicate.value.data)
    with pytest.raises(GithubException, match="invalid"):
        repo.create_pull(title="x", body="", head="feat/missing", base="main")
    git_repo = github.repo(REPO).git
    git_repo.update_ref("feat/empty", str(git_repo.branch_sha("main")), None)
    github.sync(REPO)
    with pytest.raises(GithubException, match="No commits between"):
        repo.create_pull(title="x", body="", head="feat/empty", base="main")


def test_human_merge_of_a_conflicting_pr_is_refused(github: FakeGitHub) -> None:
    github.commit(REPO, "feat/c", {"README.md": "branch\n"})
    number = github.create_pr(REPO, "feat/c")
    github.commit(REPO, "main", {"README.md": "main\n"})
    with pytest.raises(ApiError, match="not mergeable"):
        github.merge(REPO, number, force=True)


def test_pushes_to_the_bare_repository_are_seen(github: FakeGitHub, http: httpx.Client, tmp_path: Path) -> None:
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(github.repo_path(REPO)), str(work)], check=True, timeout=30)
    number = None
    for step in range(2):
        (work / "f.txt").write_text(f"{step}\n")
        subprocess.run(["git", "-C", str(work), "checkout", "-q", "-B", "feat/push"], check=True, timeout=30)
        subprocess.run(["git", "-C", str(work), "add", "f.txt"], check=True, timeout=30)
        subprocess.run(
            ["git", "-C", str(work), "-c", "user.name=A", "-c", "user.email=a@b.c", "commit", "-qm", f"s{step}"],
            check=True,
            timeout=30,
        )
        subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "feat/push"], check=True, timeout=30)
        if number is None:
            number = github.create_pr(REPO, "feat/push")
        head = subprocess.run(
            ["git", "-C", str(work), "rev-parse", "HEAD"], check=True, capture_output=True, text=True, timeout=30
        ).stdout.strip()
        assert http.get(f"/repos/{REPO}/pulls/{number}").json()["head"]["sha"] == head


# --------------------------------------------------------------------------- GraphQL


def test_graphql_subset(github: FakeGitHub, http: httpx.Client) -> None:
    github.commit(REPO, "feat/g", {"g.py": "G = 1\n"})
    number = github.create_pr(REPO, "feat/g", title="GraphQL")
    github.fail_ci(REPO, number, name="tests")
    github.set_status(REPO, number, "codecov", "success")
    query = """
    # a comment
    query Q($owner: String!, $name: String!, $n: Int!, $withTitle: Boolean = true) {
      rateLimit { cost remaining }
      first: repository(owner: $owner, name: $name) {
        pullRequest(number: $n) {
          title @include(if: $withTitle)
          number @skip(if: true)
          ...checks
        }
      }
      missing: repository(owner: "octo", name: "nope") { name }
    }
    fragment checks on PullRequest {
      commits(last: 1) { nodes { commit { statusCheckRollup { state contexts(first: 10) {
        totalCount
        nodes { __typename ... on CheckRun { name conclusion } ... on StatusContext { context state } }
      } } } } }
    }
    """
    body = graphql(http, query, {"owner": "octo", "name": "app", "n": number})
    pull = body["data"]["first"]["pullRequest"]
    assert pull["title"] == "GraphQL"
    assert "number" not in pull
    rollup = pull["commits"]["nodes"][0]["commit"]["statusCheckRollup"]
    assert rollup["state"] == "FAILURE"
    assert rollup["contexts"]["nodes"] == [
        {"__typename": "CheckRun", "name": "tests", "conclusion": "FAILURE"},
        {"__typename": "StatusContext", "context": "codecov", "state": "SUCCESS"},
    ]
    assert body["data"]["missing"] is None
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["missing"]
    assert body["data"]["rateLimit"]["cost"] == 1


def test_graphql_errors(github: FakeGitHub, http: httpx.Client) -> None:
    syntax = graphql(http, "query { repository(owner: 'x') { name } }")
    assert "locations" in syntax["errors"][0]
    assert "data" not in syntax
    unknown = graphql(http, 'query { repository(owner: "octo", name: "app") { stars } }')
    assert unknown["errors"][0]["message"] == "Field 'stars' doesn't exist on type 'Repository'"
    missing_var = graphql(http, "query($n: Int!) { viewer { login } }")
    assert "was provided invalid value" in missing_var["errors"][0]["message"]
    assert graphql(http, "{ viewer { login __typename } }")["data"]["viewer"] == {
        "login": "ao-user",
        "__typename": "User",
    }


def test_graphql_bots_and_threads(github: FakeGitHub, http: httpx.Client) -> None:
    github.commit(REPO, "feat/t", {"t.py": "T = 1\n"})
    number = github.create_pr(REPO, "feat/t")
    github.add_bot_comment(REPO, number, "t.py", 1, "Nit")
    github.request_changes(REPO, number, [("t.py", 1, "Fix")])
    github.resolve_thread(REPO, number, 0)
    query = """query($n: Int!) { repository(owner: "octo", name: "app") { pullRequest(number: $n) {
      reviewDecision
      reviewThreads(first: 10) { totalCount pageInfo { hasNextPage }
        nodes { isResolved comments(first: 1) { nodes { body author { __typename login } } } } } } } }"""
    pull = graphql(http, query, {"n": number})["data"]["repository"]["pullRequest"]
    assert pull["reviewDecision"] == "CHANGES_REQUESTED"
    threads = pull["reviewThreads"]["nodes"]
    assert [(t["isResolved"], t["comments"]["nodes"][0]["author"]) for t in threads] == [
        (True, {"__typename": "Bot", "login": "cursor"}),
        (False, {"__typename": "User", "login": "octo-reviewer"}),
    ]
    rest = httpx.get(f"{github.url}/repos/{REPO}/pulls/{number}/comments").json()
    assert [(c["user"]["login"], c["user"]["type"]) for c in rest] == [
        ("cursor[bot]", "Bot"),
        ("octo-reviewer", "User"),
    ]


def test_graphql_costs_and_pagination_limits(github: FakeGitHub, http: httpx.Client) -> None:
    big = graphql(
        http,
        'query { repository(owner: "octo", name: "app") { pullRequest(number: 1) { '
        "reviewThreads(first: 100) { nodes { comments(first: 100) { nodes { body } } } } } } rateLimit { cost } }",
    )
    assert big["errors"][0]["type"] == "NOT_FOUND"
    assert big["data"]["rateLimit"]["cost"] == 1  # 1 + 100 requests, / 100, rounded
    unbounded = graphql(http, 'query { repository(owner: "octo", name: "app") { pullRequest(number: 1) { title } } }')
    assert unbounded["errors"][0]["type"] == "NOT_FOUND"
    github.commit(REPO, "feat/p", {"p.py": "P = 1\n"})
    number = github.create_pr(REPO, "feat/p")
    no_bounds = graphql(
        http,
        f'query {{ repository(owner: "octo", name: "app") {{ pullRequest(number: {number}) {{ '
        "reviewThreads { totalCount } } } }",
    )
    assert no_bounds["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert github.requests[-1].resource == "graphql"
