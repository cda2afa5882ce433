"""REST shapes of GitHub objects (field names as in GitHub's REST API), with URLs on the fake's own host."""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import quote

from ao_testing.fakes.github._model import (
    CheckRun,
    CommitStatus,
    FakeIssue,
    FakePullRequest,
    FakeRepo,
    IssueComment,
    Review,
    ReviewComment,
    User,
    iso,
)

__all__ = [
    "check_run_json",
    "combined_status_json",
    "issue_comment_json",
    "issue_json",
    "label_json",
    "pull_json",
    "repo_json",
    "review_comment_json",
    "review_json",
    "status_json",
    "user_json",
]


def user_json(base: str, user: User) -> dict[str, Any]:
    """A user (or bot) as REST embeds it."""
    api = f"{base}/users/{quote(user.login)}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": user.node_id,
        "avatar_url": f"{base}/avatars/u/{user.id}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{base}/{quote(user.login)}",
        "followers_url": f"{api}/followers",
        "repos_url": f"{api}/repos",
        "type": user.type,
        "site_admin": False,
    }


def repo_json(base: str, repo: FakeRepo) -> dict[str, Any]:
    """A repository."""
    api = f"{base}/repos/{repo.full_name}"
    return {
        "id": repo.id,
        "node_id": f"R_kgDO{repo.id:08d}",
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "owner": user_json(base, repo.owner),
        "html_url": f"{base}/{repo.full_name}",
        "description": None,
        "fork": False,
        "url": api,
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "clone_url": f"{base}/{repo.full_name}.git",
        "default_branch": repo.default_branch,
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.created_at),
        "pushed_at": iso(repo.created_at),
        "has_issues": True,
        "archived": False,
        "disabled": False,
        "open_issues_count": sum(1 for i in repo.issues.values() if i.state == "open"),
        "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        "delete_branch_on_merge": repo.delete_branch_on_merge,
    }


def label_json(base: str, repo: FakeRepo, name: str) -> dict[str, Any]:
    """A label."""
    label_id = zlib.crc32(f"{repo.id}:{name}".encode())
    return {
        "id": label_id,
        "node_id": f"LA_kwDO{label_id:010d}",
        "url": f"{base}/repos/{repo.full_name}/labels/{quote(name, safe='')}",
        "name": name,
        "color": repo.label_colors.get(name, "ededed"),
        "default": False,
        "description": None,
    }


def issue_json(base: str, repo: FakeRepo, issue: FakeIssue) -> dict[str, Any]:
    """An issue (a pull request's issue carries a ``pull_request`` key)."""
    api = f"{base}/repos/{repo.full_name}/issues/{issue.number}"
    users = {u: User(u) for u in issue.assignees}
    data: dict[str, Any] = {
        "id": issue.id,
        "node_id": f"I_kwDO{issue.id:08d}",
        "url": api,
        "repository_url": f"{base}/repos/{repo.full_name}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "events_url": f"{api}/events",
        "html_url": f"{base}/{repo.full_name}/{'pull' if issue.pull else 'issues'}/{issue.number}",
        "number": issue.number,
        "state": issue.state,
        "state_reason": issue.state_reason,
        "title": issue.title,
        "body": issue.body,
        "user": user_json(base, issue.user),
        "labels": [label_json(base, repo, name) for name in issue.labels],
        "assignee": user_json(base, users[issue.assignees[0]]) if issue.assignees else None,
        "assignees": [user_json(base, users[u]) for u in issue.assignees],
        "milestone": None,
        "locked": False,
        "comments": len(issue.comments),
        "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at),
        "closed_at": iso(issue.closed_at),
        "closed_by": user_json(base, issue.closed_by) if issue.closed_by else None,
        "author_association": "OWNER",
    }
    if issue.pull is not None:
        pulls = f"{base}/repos/{repo.full_name}/pulls/{issue.number}"
        data["pull_request"] = {
            "url": pulls,
            "html_url": f"{base}/{repo.full_name}/pull/{issue.number}",
            "diff_url": f"{base}/{repo.full_name}/pull/{issue.number}.diff",
            "patch_url": f"{base}/{repo.full_name}/pull/{issue.number}.patch",
            "merged_at": iso(issue.pull.merged_at),
        }
        data["draft"] = issue.pull.draft
    return data


def issue_comment_json(base: str, repo: FakeRepo, issue: FakeIssue, comment: IssueComment) -> dict[str, Any]:
    """A conversation comment."""
    kind = "pull" if issue.pull else "issues"
    return {
        "id": comment.id,
        "node_id": f"IC_kwDO{comment.id:08d}",
        "url": f"{base}/repos/{repo.full_name}/issues/comments/{comment.id}",
        "html_url": f"{base}/{repo.full_name}/{kind}/{issue.number}#issuecomment-{comment.id}",
        "issue_url": f"{base}/repos/{repo.full_name}/issues/{issue.number}",
        "body": comment.body,
        "user": user_json(base, comment.user),
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.updated_at),
        "author_association": "CONTRIBUTOR",
    }


def _branch_json(base: str, repo: FakeRepo, ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner.login}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user_json(base, repo.owner),
        "repo": repo_json(base, repo),
    }


def pull_json(base: str, repo: FakeRepo, pr: FakePullRequest, *, full: bool) -> dict[str, Any]:
    """A pull request: the list shape, or with ``full`` the single-object shape (mergeability, counts)."""
    issue = pr.issue
    api = f"{base}/repos/{repo.full_name}/pulls/{issue.number}"
    html = f"{base}/{repo.full_name}/pull/{issue.number}"
    issue_api = f"{base}/repos/{repo.full_name}/issues/{issue.number}"
    users = {u: User(u) for u in issue.assignees}
    data: dict[str, Any] = {
        "url": api,
        "id": pr.id,
        "node_id": f"PR_kwDO{pr.id:08d}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue_api,
        "commits_url": f"{api}/commits",
        "review_comments_url": f"{api}/comments",
        "review_comment_url": f"{base}/repos/{repo.full_name}/pulls/comments{{/number}}",
        "comments_url": f"{issue_api}/comments",
        "statuses_url": f"{base}/repos/{repo.full_name}/statuses/{pr.head_sha}",
        "number": issue.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "user": user_json(base, issue.user),
        "body": issue.body,
        "labels": [label_json(base, repo, name) for name in issue.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at),
        "closed_at": iso(issue.closed_at),
        "merged_at": iso(pr.merged_at),
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": user_json(base, users[issue.assignees[0]]) if issue.assignees else None,
        "assignees": [user_json(base, users[u]) for u in issue.assignees],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": _branch_json(base, repo, pr.head_ref, pr.head_sha),
        "base": _branch_json(base, repo, pr.base_ref, pr.base_sha),
        "_links": {
            "self": {"href": api},
            "html": {"href": html},
            "issue": {"href": issue_api},
            "comments": {"href": f"{issue_api}/comments"},
            "review_comments": {"href": f"{api}/comments"},
            "commits": {"href": f"{api}/commits"},
            "statuses": {"href": f"{base}/repos/{repo.full_name}/statuses/{pr.head_sha}"},
        },
        "author_association": "OWNER",
        "auto_merge": None,
        "draft": pr.draft,
    }
    if full:
        mergeable = repo.mergeable(pr)
        info = None
        base_sha = repo.base_head_sha(pr)
        if base_sha is not None:
            info = repo.git.merge_info(pr.base_sha if pr.merged else base_sha, pr.head_sha)
        data |= {
            "merged": pr.merged,
            "mergeable": {"MERGEABLE": True, "CONFLICTING": False}.get(mergeable),
            "rebaseable": {"MERGEABLE": True, "CONFLICTING": False}.get(mergeable),
            "mergeable_state": repo.merge_state_status(pr, mergeable).lower(),
            "merged_by": user_json(base, pr.merged_by) if pr.merged_by else None,
            "comments": len(issue.comments),
            "review_comments": len(pr.review_comments()),
            "maintainer_can_modify": False,
            "commits": max(1, len(repo.git.commits_between(pr.base_sha, pr.head_sha))) if info else 0,
            "additions": info.additions if info else 0,
            "deletions": info.deletions if info else 0,
            "changed_files": info.changed_files if info else 0,
        }
    return data


def review_json(base: str, repo: FakeRepo, pr: FakePullRequest, review: Review) -> dict[str, Any]:
    """A pull request review."""
    api = f"{base}/repos/{repo.full_name}/pulls/{pr.number}"
    html = f"{base}/{repo.full_name}/pull/{pr.number}#pullrequestreview-{review.id}"
    return {
        "id": review.id,
        "node_id": f"PRR_kwDO{review.id:08d}",
        "user": user_json(base, review.user),
        "body": review.body,
        "state": review.state,
        "html_url": html,
        "pull_request_url": api,
        "author_association": "COLLABORATOR",
        "_links": {"html": {"href": html}, "pull_request": {"href": api}},
        "submitted_at": iso(review.submitted_at),
        "commit_id": review.commit_id,
    }


def review_comment_json(base: str, repo: FakeRepo, pr: FakePullRequest, comment: ReviewComment) -> dict[str, Any]:
    """An inline review comment."""
    api = f"{base}/repos/{repo.full_name}/pulls/comments/{comment.id}"
    html = f"{base}/{repo.full_name}/pull/{pr.number}#discussion_r{comment.id}"
    pull_api = f"{base}/repos/{repo.full_name}/pulls/{pr.number}"
    data: dict[str, Any] = {
        "url": api,
        "pull_request_review_id": comment.review_id,
        "id": comment.id,
        "node_id": f"PRRC_kwDO{comment.id:08d}",
        "diff_hunk": f"@@ -1,1 +1,1 @@ {comment.path}",
        "path": comment.path,
        "position": comment.line,
        "original_position": comment.line,
        "commit_id": comment.commit_id,
        "original_commit_id": comment.commit_id,
        "user": user_json(base, comment.user),
        "body": comment.body,
        "created_at": iso(comment.created_at),
        "updated_at": iso(comment.created_at),
        "html_url": html,
        "pull_request_url": pull_api,
        "author_association": "COLLABORATOR",
        "_links": {"self": {"href": api}, "html": {"href": html}, "pull_request": {"href": pull_api}},
        "line": comment.line,
        "original_line": comment.line,
        "side": "RIGHT",
        "start_line": None,
        "original_start_line": None,
        "start_side": None,
        "subject_type": "line",
    }
    if comment.in_reply_to_id is not None:
        data["in_reply_to_id"] = comment.in_reply_to_id
    return data


def check_run_json(
    base: str, repo: FakeRepo, run: CheckRun, pulls: list[FakePullRequest] | None = None
) -> dict[str, Any]:
    """A check run."""
    return {
        "id": run.id,
        "head_sha": run.head_sha,
        "node_id": f"CR_kwDO{run.id:08d}",
        "external_id": str(run.id),
        "url": f"{base}/repos/{repo.full_name}/check-runs/{run.id}",
        "html_url": f"{base}/{repo.full_name}/runs/{run.id}",
        "details_url": run.details_url,
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": {
            "title": run.title,
            "summary": run.summary,
            "text": None,
            "annotations_count": 0,
            "annotations_url": f"{base}/repos/{repo.full_name}/check-runs/{run.id}/annotations",
        },
        "name": run.name,
        "check_suite": {"id": run.id + 500_000},
        "app": {
            "id": 15368,
            "slug": run.app_slug,
            "node_id": "MDM6QXBwMTUzNjg=",
            "name": run.app_slug.replace("-", " ").title(),
            "owner": user_json(base, repo.owner),
            "external_url": f"{base}/apps/{run.app_slug}",
            "html_url": f"{base}/apps/{run.app_slug}",
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2019-12-10T19:04:12Z",
            "permissions": {},
            "events": [],
        },
        "pull_requests": [
            {
                "url": f"{base}/repos/{repo.full_name}/pulls/{p.number}",
                "id": p.id,
                "number": p.number,
                "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": {"id": repo.id, "name": repo.name}},
                "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": {"id": repo.id, "name": repo.name}},
            }
            for p in pulls or []
        ],
    }


def status_json(base: str, repo: FakeRepo, status: CommitStatus) -> dict[str, Any]:
    """A commit status."""
    return {
        "url": f"{base}/repos/{repo.full_name}/statuses/{status.sha}",
        "avatar_url": f"{base}/avatars/u/{status.creator.id}",
        "id": status.id,
        "node_id": f"SC_kwDO{status.id:08d}",
        "state": status.state,
        "description": status.description,
        "target_url": status.target_url,
        "context": status.context,
        "created_at": iso(status.created_at),
        "updated_at": iso(status.created_at),
        "creator": user_json(base, status.creator),
    }


def combined_status_json(base: str, repo: FakeRepo, sha: str, statuses: list[CommitStatus]) -> dict[str, Any]:
    """The combined status of a commit (latest status per context)."""
    states = {s.state for s in statuses}
    if states & {"failure", "error"}:
        state = "failure"
    elif "pending" in states or not statuses:
        state = "pending"
    else:
        state = "success"
    return {
        "state": state,
        "statuses": [status_json(base, repo, s) for s in statuses],
        "sha": sha,
        "total_count": len(statuses),
        "repository": repo_json(base, repo),
        "commit_url": f"{base}/repos/{repo.full_name}/commits/{sha}",
        "url": f"{base}/repos/{repo.full_name}/commits/{sha}/status",
    }
