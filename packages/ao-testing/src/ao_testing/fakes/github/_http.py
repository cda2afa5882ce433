"""The HTTP side of the fake.

Request parsing (origin- and absolute-form), auth, faults, rate limits, ETags, pagination, the REST
routes and ``POST /graphql``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from ao_testing.fakes.github import _graphql as gql
from ao_testing.fakes.github._fake import ApiError, RequestRecord
from ao_testing.fakes.github._model import Budget, FakeIssue, FakePullRequest, FakeRepo, TokenInfo
from ao_testing.fakes.github._payloads import (
    check_run_json,
    combined_status_json,
    issue_comment_json,
    issue_json,
    label_json,
    pull_json,
    repo_json,
    review_comment_json,
    review_json,
    status_json,
    user_json,
)
from ao_testing.fakes.github._schema import GraphQLContext, QueryRoot

if TYPE_CHECKING:
    from ao_testing.fakes.github._fake import FakeGitHub

__all__ = ["make_server"]

DOCS = "https://docs.github.com/rest"
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


@dataclass
class Request:
    """A parsed request."""

    method: str
    path: str
    sent_path: str
    query: dict[str, list[str]]
    query_string: str
    headers: Message
    body: bytes
    base: str
    token: TokenInfo | None
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter (the last one given), or ``default``."""
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        """The JSON body (``{}`` when empty).

        Raises:
            ApiError: 400 for a body that is not JSON.
        """
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, "Problems parsing JSON") from exc


@dataclass
class Response:
    """What a route answers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["FakeGitHub", Request], Response]


@dataclass(frozen=True)
class Route:
    """A method, a path pattern and its handler; ``sync`` reads git refs first."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    sync: bool = True


_ROUTES: list[Route] = []
_REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
_BLOBS = "/_blobs/"
"""Download URLs that GitHub serves from another host (job logs): no token, no rate limit."""


def route(method: str, pattern: str, *, sync: bool = True) -> Callable[[Handler], Handler]:
    """Register a REST route."""

    def decorate(handler: Handler) -> Handler:
        _ROUTES.append(Route(method, re.compile(f"^{pattern}$"), handler, sync))
        return handler

    return decorate


# =========================================================================== helpers


def _repo(fake: FakeGitHub, req: Request) -> FakeRepo:
    repo = fake.find_repo(req.params["owner"], req.params["name"])
    if repo is None or not repo.visible_to(req.token.user if req.token else None):
        raise ApiError(404, "Not Found")
    return repo


def _issue(repo: FakeRepo, req: Request) -> FakeIssue:
    issue = repo.issues.get(int(req.params["number"]))
    if issue is None:
        raise ApiError(404, "Not Found")
    return issue


def _pull(repo: FakeRepo, req: Request) -> FakePullRequest:
    pr = repo.pull(int(req.params["number"]))
    if pr is None:
        raise ApiError(404, "Not Found")
    return pr


def _actor(fake: FakeGitHub, req: Request) -> Any:
    if req.token is None:
        raise ApiError(401, "Requires authentication")
    return req.token.user


def _paginate(
    req: Request, items: Sequence[Any], render: Callable[[Any], Any], list_key: str | None = None
) -> Response:
    try:
        page = max(1, int(req.arg("page", "1") or 1))
        per_page = min(100, max(1, int(req.arg("per_page", "30") or 30)))
    except ValueError as exc:
        raise ApiError(422, "Invalid pagination parameters") from exc
    last = max(1, -(-len(items) // per_page))
    chunk = [render(item) for item in items[(page - 1) * per_page : page * per_page]]
    headers: dict[str, str] = {}
    if last > 1:

        def link(n: int, rel: str) -> str:
            query = {k: v for k, v in req.query.items() if k != "page"} | {"page": [str(n)]}
            return f'<{req.base}{req.sent_path}?{urlencode(query, doseq=True)}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(1, "first"))
        headers["Link"] = ", ".join(links)
    body: Any = {"total_count": len(items), list_key: chunk} if list_key else chunk
    return Response(200, body, headers)


def _sorted(items: list[Any], key: Callable[[Any], Any], direction: str | None) -> list[Any]:
    return sorted(items, key=key, reverse=(direction or "desc") == "desc")


def _labels_from(body: Any) -> list[str]:
    raw = body.get("labels", []) if isinstance(body, dict) else body
    if not isinstance(raw, list):
        raise ApiError(422, "Invalid request.\n\nFor 'links/0/schema', \"labels\" is not an array.")
    names = [item["name"] if isinstance(item, dict) else str(item) for item in raw]
    return list(dict.fromkeys(names))


# =========================================================================== users, limits


@route("GET", "/user")
def get_user(fake: FakeGitHub, req: Request) -> Response:
    """The authenticated user."""
    user = _actor(fake, req)
    return Response(200, user_json(req.base, user) | {"name": None, "email": None, "bio": None})


@route("GET", "/users/(?P<login>[^/]+)")
def get_named_user(fake: FakeGitHub, req: Request) -> Response:
    """A user."""
    return Response(200, user_json(req.base, fake.user(unquote(req.params["login"]))))


def _limit_json(budget: Budget) -> dict[str, int]:
    budget.roll()
    return {"limit": budget.limit, "used": budget.used, "remaining": budget.remaining, "reset": budget.reset}


@route("GET", "/rate_limit")
def get_rate_limit(fake: FakeGitHub, req: Request) -> Response:
    """The caller's budgets (free, like GitHub's)."""
    budgets = req.token.budgets if req.token else fake.anonymous_budgets
    core = _limit_json(budgets["core"])
    return Response(200, {"resources": {"core": core, "graphql": _limit_json(budgets["graphql"])}, "rate": core})


# =========================================================================== repositories, refs, commits


@route("GET", _REPO)
def get_repo(fake: FakeGitHub, req: Request) -> Response:
    """A repository."""
    return Response(200, repo_json(req.base, _repo(fake, req)))


@route("GET", _REPO + "/branches/(?P<branch>.+)")
def get_branch(fake: FakeGitHub, req: Request) -> Response:
    """A branch and its head commit."""
    repo = _repo(fake, req)
    branch = unquote(req.params["branch"])
    sha = repo.known_refs.get(branch)
    if sha is None:
        raise ApiError(404, "Branch not found")
    api = f"{req.base}/repos/{repo.full_name}"
    return Response(
        200,
        {
            "name": branch,
            "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
            "protected": branch == repo.default_branch,
            "protection_url": f"{api}/branches/{quote(branch, safe='')}/protection",
            "_links": {"self": f"{api}/branches/{quote(branch, safe='')}", "html": f"{req.base}/{repo.full_name}"},
        },
    )


def _ref_json(req: Request, repo: FakeRepo, branch: str, sha: str) -> dict[str, Any]:
    api = f"{req.base}/repos/{repo.full_name}"
    return {
        "ref": f"refs/heads/{branch}",
        "node_id": f"REF_{hashlib.sha1(branch.encode()).hexdigest()[:12]}",
        "url": f"{api}/git/refs/heads/{quote(branch)}",
        "object": {"sha": sha, "type": "commit", "url": f"{api}/git/commits/{sha}"},
    }


@route("GET", _REPO + "/git/refs?/heads/(?P<branch>.+)")
def get_ref(fake: FakeGitHub, req: Request) -> Response:
    """``git/ref/heads/<branch>``: one branch reference."""
    repo = _repo(fake, req)
    branch = unquote(req.params["branch"])
    sha = repo.known_refs.get(branch)
    if sha is None:
        raise ApiError(404, "Not Found")
    return Response(200, _ref_json(req, repo, branch, sha))


@route("DELETE", _REPO + "/git/refs/heads/(?P<branch>.+)")
def delete_ref(fake: FakeGitHub, req: Request) -> Response:
    """Delete a branch."""
    repo = _repo(fake, req)
    branch = unquote(req.params["branch"])
    if branch not in repo.known_refs:
        raise ApiError(422, "Reference does not exist")
    repo.git.delete_branch(branch)
    repo.known_refs.pop(branch, None)
    return Response(204)


def _resolve_ref(repo: FakeRepo, ref: str) -> str:
    ref = unquote(ref)
    if _SHA_RE.match(ref):
        if not repo.git.commit_exists(ref):
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return ref
    sha = repo.known_refs.get(ref.removeprefix("heads/").removeprefix("refs/heads/"))
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


@route("GET", _REPO + "/commits/(?P<ref>[^/]+)")
def get_commit(fake: FakeGitHub, req: Request) -> Response:
    """A commit (message, author, parents)."""
    repo = _repo(fake, req)
    sha = _resolve_ref(repo, req.params["ref"])
    info = repo.git.commit_info(sha)
    api = f"{req.base}/repos/{repo.full_name}"
    person = {"name": info["author_name"], "email": info["author_email"], "date": info["author_date"]}
    committer = {"name": info["committer_name"], "email": info["committer_email"], "date": info["committer_date"]}
    return Response(
        200,
        {
            "sha": sha,
            "node_id": f"C_{sha[:16]}",
            "url": f"{api}/commits/{sha}",
            "html_url": f"{req.base}/{repo.full_name}/commit/{sha}",
            "commit": {
                "message": info["message"],
                "author": person,
                "committer": committer,
                "tree": {"sha": info["tree"], "url": f"{api}/git/trees/{info['tree']}"},
                "url": f"{api}/git/commits/{sha}",
            },
            "parents": [{"sha": p, "url": f"{api}/commits/{p}"} for p in info["parents"].split()],
            "author": None,
            "committer": None,
            "files": [],
        },
    )


# =========================================================================== issues


@route("GET", _REPO + "/issues")
def list_issues(fake: FakeGitHub, req: Request) -> Response:
    """Issues (and pull requests, as GitHub lists them) with state/labels/assignee/creator filters."""
    repo = _repo(fake, req)
    state = req.arg("state", "open")
    items = [i for i in repo.issues.values() if state == "all" or i.state == state]
    if labels := req.arg("labels"):
        wanted = [name.strip() for name in labels.split(",") if name.strip()]
        items = [i for i in items if all(name in i.labels for name in wanted)]
    assignee = req.arg("assignee")
    if assignee == "none":
        items = [i for i in items if not i.assignees]
    elif assignee == "*":
        items = [i for i in items if i.assignees]
    elif assignee:
        items = [i for i in items if assignee in i.assignees]
    if creator := req.arg("creator"):
        items = [i for i in items if i.user.login == creator]
    sort = req.arg("sort", "created")
    keys: dict[str, Callable[[FakeIssue], Any]] = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (len(i.comments), i.number),
    }
    items = _sorted(items, keys.get(sort or "created", keys["created"]), req.arg("direction"))
    return _paginate(req, items, lambda i: issue_json(req.base, repo, i))


@route("POST", _REPO + "/issues")
def create_issue(fake: FakeGitHub, req: Request) -> Response:
    """Open an issue."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    body = req.json()
    title = body.get("title") if isinstance(body, dict) else None
    if not title:
        raise ApiError(422, "Validation Failed", [{"resource": "Issue", "field": "title", "code": "missing_field"}])
    now = repo.stamp()
    assignees = list(body.get("assignees") or ([body["assignee"]] if body.get("assignee") else []))
    issue = FakeIssue(
        number=repo.take_number(),
        title=str(title),
        body=str(body.get("body") or ""),
        user=user,
        created_at=now,
        updated_at=now,
        labels=_labels_from(body) if body.get("labels") else [],
        assignees=[fake.user(a).login for a in assignees],
    )
    repo.issues[issue.number] = issue
    return Response(201, issue_json(req.base, repo, issue))


@route("GET", _REPO + r"/issues/(?P<number>\d+)")
def get_issue(fake: FakeGitHub, req: Request) -> Response:
    """One issue (or a pull request's issue)."""
    repo = _repo(fake, req)
    return Response(200, issue_json(req.base, repo, _issue(repo, req)))


@route("PATCH", _REPO + r"/issues/(?P<number>\d+)")
def edit_issue(fake: FakeGitHub, req: Request) -> Response:
    """Edit title, body, state (with ``state_reason``), labels, assignees."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    issue = _issue(repo, req)
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(422, "Invalid request.")
    changed = False
    for key in ("title", "body"):
        if key in body and body[key] is not None:
            setattr(issue, key, str(body[key]))
            changed = True
    if "labels" in body:
        issue.labels = _labels_from(body)
        changed = True
    if "assignees" in body:
        issue.assignees = [fake.user(a).login for a in body["assignees"] or []]
        changed = True
    reason = body.get("state_reason")
    if reason not in (None, "completed", "not_planned", "reopened"):
        raise ApiError(422, "Validation Failed", [{"resource": "Issue", "field": "state_reason", "code": "invalid"}])
    if "state" in body and body["state"] not in ("open", "closed"):
        raise ApiError(422, "Validation Failed", [{"resource": "Issue", "field": "state", "code": "invalid"}])
    state = body.get("state")
    if state is not None:
        if issue.pull is not None:
            fake.apply_pull_state(repo, issue.pull, state, user)
        else:
            fake.apply_issue_state(repo, issue, state, reason, user)
    elif reason is not None and issue.state == "closed":
        issue.state_reason = reason
        changed = True
    if changed:
        issue.updated_at = repo.stamp()
    return Response(200, issue_json(req.base, repo, issue))


@route("GET", _REPO + r"/issues/(?P<number>\d+)/labels")
def list_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    """An issue's labels."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    return _paginate(req, issue.labels, lambda n: label_json(req.base, repo, n))


@route("POST", _REPO + r"/issues/(?P<number>\d+)/labels")
def add_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    """Add labels (a bare array or ``{"labels": [...]}``); answers with every label of the issue."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    issue.labels = list(dict.fromkeys([*issue.labels, *_labels_from(req.json())]))
    issue.updated_at = repo.stamp()
    return Response(200, [label_json(req.base, repo, n) for n in issue.labels])


@route("PUT", _REPO + r"/issues/(?P<number>\d+)/labels")
def set_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    """Replace the labels."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    issue.labels = _labels_from(req.json())
    issue.updated_at = repo.stamp()
    return Response(200, [label_json(req.base, repo, n) for n in issue.labels])


@route("DELETE", _REPO + r"/issues/(?P<number>\d+)/labels")
def clear_issue_labels(fake: FakeGitHub, req: Request) -> Response:
    """Remove every label."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    issue.labels = []
    issue.updated_at = repo.stamp()
    return Response(204)


@route("DELETE", _REPO + r"/issues/(?P<number>\d+)/labels/(?P<label>[^/]+)")
def remove_issue_label(fake: FakeGitHub, req: Request) -> Response:
    """Remove one label (404 when the issue does not have it)."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    name = unquote(req.params["label"])
    if name not in issue.labels:
        raise ApiError(404, "Label does not exist")
    issue.labels.remove(name)
    issue.updated_at = repo.stamp()
    return Response(200, [label_json(req.base, repo, n) for n in issue.labels])


@route("POST", _REPO + r"/issues/(?P<number>\d+)/assignees")
def add_assignees(fake: FakeGitHub, req: Request) -> Response:
    """Add assignees."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    body = req.json()
    names = body.get("assignees", []) if isinstance(body, dict) else []
    issue.assignees = list(dict.fromkeys([*issue.assignees, *(fake.user(str(n)).login for n in names)]))
    issue.updated_at = repo.stamp()
    return Response(201, issue_json(req.base, repo, issue))


@route("DELETE", _REPO + r"/issues/(?P<number>\d+)/assignees")
def remove_assignees(fake: FakeGitHub, req: Request) -> Response:
    """Remove assignees."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    body = req.json()
    names = set(body.get("assignees", []) if isinstance(body, dict) else [])
    issue.assignees = [a for a in issue.assignees if a not in names]
    issue.updated_at = repo.stamp()
    return Response(200, issue_json(req.base, repo, issue))


@route("GET", _REPO + r"/issues/(?P<number>\d+)/comments")
def list_issue_comments(fake: FakeGitHub, req: Request) -> Response:
    """Conversation comments."""
    repo = _repo(fake, req)
    issue = _issue(repo, req)
    return _paginate(req, issue.comments, lambda c: issue_comment_json(req.base, repo, issue, c))


@route("POST", _REPO + r"/issues/(?P<number>\d+)/comments")
def create_issue_comment(fake: FakeGitHub, req: Request) -> Response:
    """Comment on an issue or pull request."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    issue = _issue(repo, req)
    body = req.json()
    text = body.get("body") if isinstance(body, dict) else None
    if not text:
        raise ApiError(
            422, "Validation Failed", [{"resource": "IssueComment", "field": "body", "code": "missing_field"}]
        )
    comment = fake.add_issue_comment(repo, issue, user, str(text))
    return Response(201, issue_comment_json(req.base, repo, issue, comment))


# =========================================================================== pull requests


@route("GET", _REPO + "/pulls")
def list_pulls(fake: FakeGitHub, req: Request) -> Response:
    """Pull requests with state, ``head=owner:branch`` and base filters, sorted and paginated."""
    repo = _repo(fake, req)
    state = req.arg("state", "open")
    items = [p for p in repo.pulls() if state == "all" or p.state == state]
    if head := req.arg("head"):
        owner, _, branch = head.rpartition(":")
        if owner and owner.lower() != repo.owner.login.lower():
            items = []
        items = [p for p in items if p.head_ref == branch]
    if base := req.arg("base"):
        items = [p for p in items if p.base_ref == base]
    sort = req.arg("sort", "created") or "created"
    direction = req.arg("direction") or ("desc" if sort == "created" else "asc")
    keys: dict[str, Callable[[FakePullRequest], Any]] = {
        "created": lambda p: (p.issue.created_at, p.number),
        "updated": lambda p: (p.issue.updated_at, p.number),
        "popularity": lambda p: (len(p.issue.comments), p.number),
        "long-running": lambda p: (p.issue.created_at, p.number),
    }
    items = _sorted(items, keys.get(sort, keys["created"]), direction)
    return _paginate(req, items, lambda p: pull_json(req.base, repo, p, full=False))


@route("POST", _REPO + "/pulls")
def create_pull(fake: FakeGitHub, req: Request) -> Response:
    """Open a pull request (422 for a duplicate head, a missing branch, or no commits)."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    body = req.json()
    if not isinstance(body, dict) or not body.get("head") or not body.get("base"):
        raise ApiError(
            422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "missing_field"}]
        )
    head = str(body["head"])
    if ":" in head:
        owner, _, head = head.partition(":")
        if owner.lower() != repo.owner.login.lower():
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": "head", "code": "invalid"}])
    title = str(body.get("title") or head)
    pr = fake.open_pull(
        repo, head, str(body["base"]), title, str(body.get("body") or ""), bool(body.get("draft")), user.login
    )
    return Response(201, pull_json(req.base, repo, pr, full=True))


@route("GET", _REPO + r"/pulls/(?P<number>\d+)")
def get_pull(fake: FakeGitHub, req: Request) -> Response:
    """One pull request, with mergeability and diff counts."""
    repo = _repo(fake, req)
    return Response(200, pull_json(req.base, repo, _pull(repo, req), full=True))


@route("PATCH", _REPO + r"/pulls/(?P<number>\d+)")
def edit_pull(fake: FakeGitHub, req: Request) -> Response:
    """Edit title, body, base; close or reopen."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    pr = _pull(repo, req)
    body = req.json()
    if not isinstance(body, dict):
        raise ApiError(422, "Invalid request.")
    changed = False
    for key in ("title", "body"):
        if body.get(key) is not None:
            setattr(pr.issue, key, str(body[key]))
            changed = True
    if body.get("base"):
        if body["base"] not in repo.known_refs:
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequest", "field": "base", "code": "invalid"}])
        pr.base_ref = str(body["base"])
        changed = True
    if changed:
        pr.issue.updated_at = repo.stamp()
    if body.get("state") in ("open", "closed"):
        fake.apply_pull_state(repo, pr, str(body["state"]), user)
    return Response(200, pull_json(req.base, repo, pr, full=True))


@route("PUT", _REPO + r"/pulls/(?P<number>\d+)/merge")
def merge_pull(fake: FakeGitHub, req: Request) -> Response:
    """Merge (merge, squash or rebase) for real in the bare repository."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    pr = _pull(repo, req)
    body = req.json()
    body = body if isinstance(body, dict) else {}
    sha = fake.merge_pull(repo, pr, str(body.get("merge_method") or "merge"), body.get("sha"), user)
    return Response(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@route("GET", _REPO + r"/pulls/(?P<number>\d+)/merge")
def is_merged(fake: FakeGitHub, req: Request) -> Response:
    """204 when merged, else 404."""
    repo = _repo(fake, req)
    if not _pull(repo, req).merged:
        raise ApiError(404, "Not Found")
    return Response(204)


@route("GET", _REPO + r"/pulls/(?P<number>\d+)/reviews")
def list_reviews(fake: FakeGitHub, req: Request) -> Response:
    """Submitted reviews, oldest first."""
    repo = _repo(fake, req)
    pr = _pull(repo, req)
    return _paginate(req, pr.reviews, lambda r: review_json(req.base, repo, pr, r))


_EVENTS = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


@route("POST", _REPO + r"/pulls/(?P<number>\d+)/reviews")
def create_review(fake: FakeGitHub, req: Request) -> Response:
    """Submit a review (``event`` APPROVE / REQUEST_CHANGES / COMMENT) with inline ``comments``."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    pr = _pull(repo, req)
    body = req.json()
    event = str(body.get("event") or "")
    if event not in _EVENTS:
        raise ApiError(422, "Unprocessable Entity", [{"resource": "PullRequestReview", "field": "event"}])
    if event != "COMMENT" and user.login == pr.issue.user.login:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(422, "Unprocessable Entity", [{"message": f"Can not {verb} your own pull request"}])
    comments = [(str(c["path"]), c.get("line"), str(c["body"])) for c in body.get("comments") or []]
    review = fake.add_review(repo, pr, user, _EVENTS[event], str(body.get("body") or ""), comments)
    return Response(200, review_json(req.base, repo, pr, review))


@route("GET", _REPO + r"/pulls/(?P<number>\d+)/comments")
def list_review_comments(fake: FakeGitHub, req: Request) -> Response:
    """Inline review comments, oldest first."""
    repo = _repo(fake, req)
    pr = _pull(repo, req)
    return _paginate(req, pr.review_comments(), lambda c: review_comment_json(req.base, repo, pr, c))


@route("POST", _REPO + r"/pulls/(?P<number>\d+)/comments")
def create_review_comment(fake: FakeGitHub, req: Request) -> Response:
    """An inline comment (``path``/``line``) opening a thread, or a reply (``in_reply_to``)."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    pr = _pull(repo, req)
    body = req.json()
    text = str(body.get("body") or "")
    if "in_reply_to" in body:
        thread = next((t for t in pr.threads if t.comments[0].id == body["in_reply_to"]), None)
        if thread is None:
            raise ApiError(404, "Not Found")
        fake.reply(repo.full_name, pr.number, thread.node_id, text, user=user.login)
        comment = thread.comments[-1]
    else:
        if not body.get("path"):
            raise ApiError(422, "Validation Failed", [{"resource": "PullRequestReviewComment", "field": "path"}])
        fake.add_review(repo, pr, user, "COMMENTED", "", [(str(body["path"]), body.get("line"), text)])
        comment = pr.threads[-1].comments[0]
    return Response(201, review_comment_json(req.base, repo, pr, comment))


# =========================================================================== CI


@route("GET", _REPO + "/commits/(?P<ref>[^/]+)/check-runs", sync=False)
def list_check_runs(fake: FakeGitHub, req: Request) -> Response:
    """Check runs of a commit (``filter=latest``: the latest run per name)."""
    repo = _repo(fake, req)
    sha = _resolve_ref(repo, req.params["ref"])
    runs = list(repo.check_runs.get(sha, []))
    if (req.arg("filter") or "latest") == "latest":
        runs = list(repo.rollup(sha).checks)
    if name := req.arg("check_name"):
        runs = [r for r in runs if r.name == name]
    if status := req.arg("status"):
        runs = [r for r in runs if r.status == status]
    runs.sort(key=lambda r: r.id, reverse=True)
    prs = [p for p in repo.pulls() if p.head_sha == sha and p.state == "open"]
    return _paginate(req, runs, lambda r: check_run_json(req.base, repo, r, prs), list_key="check_runs")


@route("GET", _REPO + r"/actions/jobs/(?P<job_id>\d+)/logs")
def job_logs(fake: FakeGitHub, req: Request) -> Response:
    """An Actions job's log: 302 to a short-lived download URL (another host on GitHub; here, ``/_blobs``)."""
    repo = _repo(fake, req)
    run = fake.job_run(int(req.params["job_id"]))
    if run is None or run.head_sha not in repo.check_runs or run not in repo.check_runs[run.head_sha]:
        raise ApiError(404, "Not Found")
    return Response(302, None, {"Location": f"{req.base}{_BLOBS}job-logs/{run.id}"})


def _blob(fake: FakeGitHub, path: str) -> _Outcome:
    """A download URL (no token, no rate limit), as GitHub's log storage serves them."""
    match = re.fullmatch(r"job-logs/(\d+)", path[len(_BLOBS) :])
    run = fake.job_run(int(match.group(1))) if match else None
    if run is None or run.log is None:
        return _Outcome(Response(404, {"message": "Not Found"}), None)
    return _Outcome(Response(200, None, {"Content-Type": "text/plain; charset=utf-8"}), None, run.log.encode())


@route("POST", _REPO + "/check-runs")
def create_check_run(fake: FakeGitHub, req: Request) -> Response:
    """Create a check run (as a CI app would)."""
    repo = _repo(fake, req)
    body = req.json()
    sha = _resolve_ref(repo, str(body.get("head_sha") or ""))
    output = body.get("output") or {}
    run = fake.put_check_run(
        repo,
        sha,
        str(body.get("name") or "check"),
        str(body.get("status") or "queued"),
        body.get("conclusion"),
        body.get("details_url"),
        output.get("title"),
        output.get("summary"),
    )
    return Response(201, check_run_json(req.base, repo, run))


@route("GET", _REPO + "/commits/(?P<ref>[^/]+)/status", sync=False)
def get_combined_status(fake: FakeGitHub, req: Request) -> Response:
    """The combined status (latest per context)."""
    repo = _repo(fake, req)
    sha = _resolve_ref(repo, req.params["ref"])
    statuses = list(repo.rollup(sha).statuses)
    return Response(200, combined_status_json(req.base, repo, sha, statuses))


@route("GET", _REPO + "/commits/(?P<ref>[^/]+)/statuses", sync=False)
def list_statuses(fake: FakeGitHub, req: Request) -> Response:
    """Every status of a commit, newest first."""
    repo = _repo(fake, req)
    sha = _resolve_ref(repo, req.params["ref"])
    statuses = sorted(repo.statuses.get(sha, []), key=lambda s: s.id, reverse=True)
    return _paginate(req, statuses, lambda s: status_json(req.base, repo, s))


@route("POST", _REPO + "/statuses/(?P<sha>[0-9a-f]{40})", sync=False)
def create_status(fake: FakeGitHub, req: Request) -> Response:
    """Post a commit status."""
    repo = _repo(fake, req)
    user = _actor(fake, req)
    body = req.json()
    state = body.get("state")
    if state not in ("pending", "success", "failure", "error"):
        raise ApiError(422, "Validation Failed", [{"resource": "Status", "field": "state", "code": "custom"}])
    sha = _resolve_ref(repo, req.params["sha"])
    status = fake.add_status(
        repo, sha, str(body.get("context") or "default"), state, body.get("target_url"), body.get("description"), user
    )
    return Response(201, status_json(req.base, repo, status))


# =========================================================================== GraphQL


def _graphql(fake: FakeGitHub, req: Request, budget: Budget) -> tuple[Response, int]:
    """Run a GraphQL request; returns the response and its cost."""
    try:
        payload = json.loads(req.body or b"{}")
    except ValueError:
        return Response(400, {"message": "Problems parsing JSON", "documentation_url": DOCS}), 0
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str):
        return Response(200, {"errors": [{"message": "A query attribute must be specified and must be a string."}]}), 1
    variables = payload.get("variables") or {}
    try:
        doc = gql.parse(query)
        cost = gql.query_cost(doc, variables, payload.get("operationName"))
    except gql.GraphQLSyntaxError as exc:
        error = {"message": f"Parse error: {exc}", "locations": [{"line": exc.line, "column": exc.column}]}
        return Response(200, {"errors": [error]}), 1
    except gql.QueryError as exc:
        return Response(200, {"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]}), 1
    budget.roll()
    if budget.remaining < cost:
        user_id = req.token.user.id if req.token else 0
        error = {"type": "RATE_LIMITED", "message": f"API rate limit exceeded for user ID {user_id}."}
        return Response(200, {"errors": [error]}), 0
    limit = fake.graphql_field_limit
    if limit is not None and len(doc.operation(payload.get("operationName")).selections) > limit:
        budget.used += 1
        error = {"type": "RESOURCE_LIMITS_EXCEEDED", "message": "Resource limits for this query exceeded."}
        return Response(200, {"data": None, "errors": [error]}), 1
    budget.used += cost
    ctx = GraphQLContext(
        find_repo=fake.find_repo,
        sync=fake.sync_repo,
        base=req.base,
        user=req.token.user if req.token else None,
        cost=cost,
        budget=budget,
    )
    try:
        result = gql.execute(doc, QueryRoot(), variables, ctx, payload.get("operationName"))
    except gql.QueryError as exc:
        return Response(200, {"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]}), cost
    return Response(200, result.to_json()), cost


# =========================================================================== the server


def _etag(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(body).hexdigest() + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


@dataclass
class _Outcome:
    """An answer, the budget whose headers it carries, and its cost."""

    response: Response
    budget: Budget | None
    encoded: bytes | None = None
    cost: int = 0
    fault: bool = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    fake: FakeGitHub

    def log_message(self, format: str, *args: Any) -> None:
        """Be quiet; the fake keeps its own request log."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        fake = self.fake
        started = time.monotonic()
        split = urlsplit(self.path)  # absolute-form request lines carry scheme and host
        host = split.netloc or self.headers.get("Host") or f"127.0.0.1:{fake.port}"
        sent_path = split.path or "/"
        path = sent_path
        if path.startswith("/api/v3/"):
            path = path[len("/api/v3") :]
        elif path == "/api/graphql":
            path = "/graphql"
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if fake.latency > 0:
            time.sleep(fake.latency)
        req = Request(
            method=method,
            path=path,
            sent_path=sent_path,
            query=parse_qs(split.query, keep_blank_values=True),
            query_string=split.query,
            headers=self.headers,
            body=body,
            base=f"http://{host}",
            token=None,
        )
        resource = "graphql" if path == "/graphql" else "core"
        try:
            outcome = self._serve(req, resource)
        except Exception:  # a bug of the fake: show it (pytest captures stderr) and answer 500
            traceback.print_exc()
            outcome = _Outcome(Response(500, {"message": "Fake GitHub error", "documentation_url": DOCS}), None)
        # Logged before the answer is sent: a client that has its answer finds the request in the log.
        fake.record(
            RequestRecord(
                method=method,
                path=path,
                query=split.query,
                status=outcome.response.status,
                cost=outcome.cost,
                resource=resource,
                conditional=bool(self.headers.get("If-None-Match")),
                login=req.token.user.login if req.token else None,
                fault=outcome.fault,
                duration_ms=(time.monotonic() - started) * 1000,
            )
        )
        self._send(outcome.response, outcome.budget, resource, outcome.encoded)

    def _serve(self, req: Request, resource: str) -> _Outcome:
        fake = self.fake
        if req.path.startswith(_BLOBS) and req.method == "GET":
            return _blob(fake, req.path)
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        token_value = value.strip() if scheme.lower() in ("token", "bearer") else None
        if auth:
            req.token = fake.token_info(token_value)
            if req.token is None:
                return _Outcome(Response(401, {"message": "Bad credentials", "documentation_url": DOCS}), None)
        budgets = req.token.budgets if req.token else fake.anonymous_budgets
        budget = budgets[resource]
        budget.roll()

        fault = fake.take_fault(req.method, req.path)
        if fault is not None:
            return _Outcome(Response(fault.status, fault.body, dict(fault.headers)), budget, fault=True)

        if req.path == "/graphql":
            if req.method != "POST":
                return _Outcome(Response(404, {"message": "Not Found", "documentation_url": DOCS}), budget)
            if req.token is None:
                return _Outcome(Response(401, {"message": "This endpoint requires you to be authenticated."}), None)
            response, cost = _graphql(fake, req, budget)
            return _Outcome(response, budget, cost=cost)

        if req.path != "/rate_limit" and budget.remaining <= 0:
            user_id = req.token.user.id if req.token else 0
            message = f"API rate limit exceeded for user ID {user_id}."
            return _Outcome(Response(403, {"message": message, "documentation_url": DOCS}), budget)

        response = self._dispatch(req)
        encoded = b"" if response.body is None else json.dumps(response.body, separators=(",", ":")).encode()
        cost = 0 if req.path == "/rate_limit" else 1
        if req.method == "GET" and response.status == 200:
            etag = _etag(encoded)
            response.headers["ETag"] = etag
            if _matches(self.headers.get("If-None-Match"), etag):
                return _Outcome(Response(304, None, {"ETag": etag}), budget)
        budget.used += cost
        return _Outcome(response, budget, encoded, cost)

    def _dispatch(self, req: Request) -> Response:
        fake = self.fake
        for candidate in _ROUTES:
            match = candidate.pattern.match(req.path)
            if match is None or candidate.method != req.method:
                continue
            req.params = {k: v for k, v in match.groupdict().items() if v is not None}
            try:
                if candidate.sync and "owner" in req.params:
                    repo = fake.find_repo(req.params["owner"], req.params["name"])
                    if repo is not None:
                        fake.sync_repo(repo)
                with fake.lock:
                    return candidate.handler(fake, req)
            except ApiError as exc:
                body: dict[str, Any] = {"message": exc.message, "documentation_url": DOCS}
                if exc.errors:
                    body["errors"] = exc.errors
                return Response(exc.status, body, exc.headers)
        return Response(404, {"message": "Not Found", "documentation_url": DOCS})

    def _send(
        self, response: Response, budget: Budget | None, resource: str = "core", encoded: bytes | None = None
    ) -> None:
        if encoded is None:
            encoded = b"" if response.body is None else json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "Cache-Control": "private, max-age=60, s-maxage=60",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }
        if budget is not None:
            headers |= {
                "X-RateLimit-Limit": str(budget.limit),
                "X-RateLimit-Remaining": str(budget.remaining),
                "X-RateLimit-Reset": str(budget.reset),
                "X-RateLimit-Used": str(budget.used),
                "X-RateLimit-Resource": resource,
            }
        headers |= response.headers
        for name, value in headers.items():
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        if response.status not in (204, 304) and encoded:
            self.wfile.write(encoded)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up early (it cancelled its requests); report anything else."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def make_server(fake: FakeGitHub) -> ThreadingHTTPServer:
    """An HTTP server for ``fake`` on 127.0.0.1, on a free port."""
    handler = type("FakeGitHubHandler", (_Handler,), {"fake": fake})
    return _Server(("127.0.0.1", 0), handler)
