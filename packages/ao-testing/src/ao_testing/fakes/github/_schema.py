"""The part of GitHub's GraphQL schema our plugins query, as resolver objects over the fake's state."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ao_testing.fakes.github._graphql import Connection, FieldError, Node
from ao_testing.fakes.github._model import (
    Budget,
    CheckRun,
    CommitStatus,
    FakePullRequest,
    FakeRepo,
    Review,
    ReviewComment,
    ReviewThread,
    User,
    iso,
)

__all__ = ["GraphQLContext", "QueryRoot"]

Args = Mapping[str, Any]


@dataclass
class GraphQLContext:
    """What resolvers need: the repositories, who asks, the request's host, the query's cost."""

    find_repo: Callable[[str, str], FakeRepo | None]
    sync: Callable[[FakeRepo], None]
    base: str
    user: User | None
    cost: int
    budget: Budget
    memo: dict[tuple[int, str], Any] = field(default_factory=dict)
    synced: set[int] = field(default_factory=set)


class QueryRoot(Node):
    """``Query``."""

    typename = "Query"

    def f_repository(self, args: Args, ctx: GraphQLContext) -> RepositoryNode:
        owner, name = str(args.get("owner")), str(args.get("name"))
        repo = ctx.find_repo(owner, name)
        if repo is None or not repo.visible_to(ctx.user):
            raise FieldError(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        if repo.id not in ctx.synced:
            ctx.sync(repo)
            ctx.synced.add(repo.id)
        return RepositoryNode(repo)

    def f_rateLimit(self, args: Args, ctx: GraphQLContext) -> RateLimitNode:
        return RateLimitNode(ctx)

    def f_viewer(self, args: Args, ctx: GraphQLContext) -> ActorNode:
        if ctx.user is None:
            raise FieldError("This endpoint requires you to be authenticated.", error_type="FORBIDDEN")
        return ActorNode(ctx.user, ctx.base)


class RateLimitNode(Node):
    """``RateLimit``."""

    typename = "RateLimit"

    def __init__(self, ctx: GraphQLContext) -> None:
        self.ctx = ctx

    def f_cost(self, args: Args, ctx: GraphQLContext) -> int:
        return ctx.cost

    def f_limit(self, args: Args, ctx: GraphQLContext) -> int:
        return ctx.budget.limit

    def f_used(self, args: Args, ctx: GraphQLContext) -> int:
        return ctx.budget.used

    def f_remaining(self, args: Args, ctx: GraphQLContext) -> int:
        return ctx.budget.remaining

    def f_resetAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(datetime.fromtimestamp(ctx.budget.reset, UTC))

    def f_nodeCount(self, args: Args, ctx: GraphQLContext) -> int:
        return 0


class ActorNode(Node):
    """``User`` or ``Bot`` (both ``Actor``); a bot's login has no ``[bot]`` suffix in GraphQL."""

    interfaces = ("Actor", "Node")

    def __init__(self, user: User, base: str) -> None:
        self.user = user
        self.base = base
        self.typename = user.type

    def f_login(self, args: Args, ctx: GraphQLContext) -> str:
        return self.user.graphql_login

    def f_id(self, args: Args, ctx: GraphQLContext) -> str:
        return self.user.node_id

    def f_url(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{self.base}/{self.user.login}"

    def f_avatarUrl(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{self.base}/avatars/u/{self.user.id}"


class RepositoryNode(Node):
    """``Repository``."""

    typename = "Repository"

    def __init__(self, repo: FakeRepo) -> None:
        self.repo = repo

    def f_id(self, args: Args, ctx: GraphQLContext) -> str:
        return f"R_kgDO{self.repo.id:08d}"

    def f_name(self, args: Args, ctx: GraphQLContext) -> str:
        return self.repo.name

    def f_nameWithOwner(self, args: Args, ctx: GraphQLContext) -> str:
        return self.repo.full_name

    def f_owner(self, args: Args, ctx: GraphQLContext) -> ActorNode:
        return ActorNode(self.repo.owner, ctx.base)

    def f_url(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{ctx.base}/{self.repo.full_name}"

    def f_isPrivate(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.repo.private

    def f_defaultBranchRef(self, args: Args, ctx: GraphQLContext) -> RefNode:
        return RefNode(self.repo.default_branch, self.repo.known_refs.get(self.repo.default_branch))

    def f_pullRequest(self, args: Args, ctx: GraphQLContext) -> PullRequestNode:
        number = args.get("number")
        pr = self.repo.pull(int(number)) if isinstance(number, int) else None
        if pr is None:
            raise FieldError(f"Could not resolve to a PullRequest with the number of {number}.")
        return PullRequestNode(self.repo, pr)


class RefNode(Node):
    """``Ref``."""

    typename = "Ref"

    def __init__(self, name: str, sha: str | None) -> None:
        self.name, self.sha = name, sha

    def f_name(self, args: Args, ctx: GraphQLContext) -> str:
        return self.name

    def f_prefix(self, args: Args, ctx: GraphQLContext) -> str:
        return "refs/heads/"


class PullRequestNode(Node):
    """``PullRequest``."""

    typename = "PullRequest"
    interfaces = ("Node", "Comment", "Closable")

    def __init__(self, repo: FakeRepo, pr: FakePullRequest) -> None:
        self.repo, self.pr = repo, pr

    def _mergeable(self, ctx: GraphQLContext) -> str:
        key = (self.pr.id, "mergeable")
        if key not in ctx.memo:
            ctx.memo[key] = self.repo.mergeable(self.pr)
        value: str = ctx.memo[key]
        return value

    def _info(self) -> Any:
        base = self.pr.base_sha if self.pr.merged else self.repo.base_head_sha(self.pr)
        return self.repo.git.merge_info(base, self.pr.head_sha) if base else None

    def f_id(self, args: Args, ctx: GraphQLContext) -> str:
        return f"PR_kwDO{self.pr.id:08d}"

    def f_databaseId(self, args: Args, ctx: GraphQLContext) -> int:
        return self.pr.id

    def f_number(self, args: Args, ctx: GraphQLContext) -> int:
        return self.pr.number

    def f_title(self, args: Args, ctx: GraphQLContext) -> str:
        return self.pr.issue.title

    def f_body(self, args: Args, ctx: GraphQLContext) -> str:
        return self.pr.issue.body

    def f_url(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{ctx.base}/{self.repo.full_name}/pull/{self.pr.number}"

    def f_state(self, args: Args, ctx: GraphQLContext) -> str:
        return "MERGED" if self.pr.merged else self.pr.state.upper()

    def f_closed(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.pr.state == "closed"

    def f_merged(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.pr.merged

    def f_mergedAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.pr.merged_at)

    def f_createdAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.pr.issue.created_at)

    def f_updatedAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.pr.issue.updated_at)

    def f_isDraft(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.pr.draft

    def f_author(self, args: Args, ctx: GraphQLContext) -> ActorNode:
        return ActorNode(self.pr.issue.user, ctx.base)

    def f_headRefName(self, args: Args, ctx: GraphQLContext) -> str:
        return self.pr.head_ref

    def f_headRefOid(self, args: Args, ctx: GraphQLContext) -> str:
        return self.pr.head_sha

    def f_baseRefName(self, args: Args, ctx: GraphQLContext) -> str:
        return self.pr.base_ref

    def f_baseRefOid(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.repo.base_head_sha(self.pr)

    def f_additions(self, args: Args, ctx: GraphQLContext) -> int:
        info = self._info()
        return info.additions if info else 0

    def f_deletions(self, args: Args, ctx: GraphQLContext) -> int:
        info = self._info()
        return info.deletions if info else 0

    def f_changedFiles(self, args: Args, ctx: GraphQLContext) -> int:
        info = self._info()
        return info.changed_files if info else 0

    def f_mergeable(self, args: Args, ctx: GraphQLContext) -> str:
        return self._mergeable(ctx)

    def f_mergeStateStatus(self, args: Args, ctx: GraphQLContext) -> str:
        return self.repo.merge_state_status(self.pr, self._mergeable(ctx))

    def f_reviewDecision(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.repo.review_decision(self.pr)

    def f_repository(self, args: Args, ctx: GraphQLContext) -> RepositoryNode:
        return RepositoryNode(self.repo)

    def f_labels(self, args: Args, ctx: GraphQLContext) -> Connection:
        return Connection("LabelConnection", [LabelNode(n) for n in self.pr.issue.labels], args)

    def f_commits(self, args: Args, ctx: GraphQLContext) -> Connection:
        # Only the head commit matters to every query we serve; older commits are listed by SHA.
        shas = self.repo.git.commits_between(self.pr.base_sha, self.pr.head_sha) or [self.pr.head_sha]
        return Connection("PullRequestCommitConnection", [PullRequestCommitNode(self.repo, s) for s in shas], args)

    def f_reviews(self, args: Args, ctx: GraphQLContext) -> Connection:
        states = args.get("states")
        reviews = [r for r in self.pr.reviews if not states or r.state in states]
        return Connection("PullRequestReviewConnection", [ReviewNode(self.repo, self.pr, r) for r in reviews], args)

    def f_reviewThreads(self, args: Args, ctx: GraphQLContext) -> Connection:
        return Connection(
            "PullRequestReviewThreadConnection",
            [ReviewThreadNode(self.repo, self.pr, t) for t in self.pr.threads],
            args,
        )


class LabelNode(Node):
    """``Label``."""

    typename = "Label"

    def __init__(self, name: str) -> None:
        self.name = name

    def f_name(self, args: Args, ctx: GraphQLContext) -> str:
        return self.name


class PullRequestCommitNode(Node):
    """``PullRequestCommit``."""

    typename = "PullRequestCommit"

    def __init__(self, repo: FakeRepo, sha: str) -> None:
        self.repo, self.sha = repo, sha

    def f_commit(self, args: Args, ctx: GraphQLContext) -> CommitNode:
        return CommitNode(self.repo, self.sha)


class CommitNode(Node):
    """``Commit``."""

    typename = "Commit"

    def __init__(self, repo: FakeRepo, sha: str) -> None:
        self.repo, self.sha = repo, sha

    def f_oid(self, args: Args, ctx: GraphQLContext) -> str:
        return self.sha

    def f_statusCheckRollup(self, args: Args, ctx: GraphQLContext) -> StatusCheckRollupNode | None:
        rollup = self.repo.rollup(self.sha)
        if rollup.state is None:
            return None
        return StatusCheckRollupNode(self.repo, rollup.state, [*rollup.checks, *rollup.statuses])


class StatusCheckRollupNode(Node):
    """``StatusCheckRollup``."""

    typename = "StatusCheckRollup"

    def __init__(self, repo: FakeRepo, state: str, contexts: list[CheckRun | CommitStatus]) -> None:
        self.repo, self.state, self.contexts = repo, state, contexts

    def f_state(self, args: Args, ctx: GraphQLContext) -> str:
        return self.state

    def f_contexts(self, args: Args, ctx: GraphQLContext) -> Connection:
        nodes: list[Node] = [
            CheckRunNode(self.repo, c) if isinstance(c, CheckRun) else StatusContextNode(self.repo, c)
            for c in self.contexts
        ]
        return Connection("StatusCheckRollupContextConnection", nodes, args)


class CheckRunNode(Node):
    """``CheckRun`` (member of ``StatusCheckRollupContext``)."""

    typename = "CheckRun"
    interfaces = ("StatusCheckRollupContext", "Node")

    def __init__(self, repo: FakeRepo, run: CheckRun) -> None:
        self.repo, self.run = repo, run

    def f_name(self, args: Args, ctx: GraphQLContext) -> str:
        return self.run.name

    def f_databaseId(self, args: Args, ctx: GraphQLContext) -> int:
        return self.run.id

    def f_status(self, args: Args, ctx: GraphQLContext) -> str:
        return self.run.status.upper()

    def f_conclusion(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.run.conclusion.upper() if self.run.conclusion else None

    def f_detailsUrl(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.run.details_url

    def f_url(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{ctx.base}/{self.repo.full_name}/runs/{self.run.id}"

    def f_startedAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.run.started_at)

    def f_completedAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.run.completed_at)

    def f_title(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.run.title

    def f_summary(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.run.summary


class StatusContextNode(Node):
    """``StatusContext`` (member of ``StatusCheckRollupContext``)."""

    typename = "StatusContext"
    interfaces = ("StatusCheckRollupContext", "Node")

    def __init__(self, repo: FakeRepo, status: CommitStatus) -> None:
        self.repo, self.status = repo, status

    def f_context(self, args: Args, ctx: GraphQLContext) -> str:
        return self.status.context

    def f_state(self, args: Args, ctx: GraphQLContext) -> str:
        return self.status.state.upper()

    def f_targetUrl(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.status.target_url

    def f_description(self, args: Args, ctx: GraphQLContext) -> str | None:
        return self.status.description

    def f_createdAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.status.created_at)


class ReviewNode(Node):
    """``PullRequestReview``."""

    typename = "PullRequestReview"
    interfaces = ("Node", "Comment")

    def __init__(self, repo: FakeRepo, pr: FakePullRequest, review: Review) -> None:
        self.repo, self.pr, self.review = repo, pr, review

    def f_id(self, args: Args, ctx: GraphQLContext) -> str:
        return f"PRR_kwDO{self.review.id:08d}"

    def f_databaseId(self, args: Args, ctx: GraphQLContext) -> int:
        return self.review.id

    def f_author(self, args: Args, ctx: GraphQLContext) -> ActorNode:
        return ActorNode(self.review.user, ctx.base)

    def f_state(self, args: Args, ctx: GraphQLContext) -> str:
        return self.review.state

    def f_body(self, args: Args, ctx: GraphQLContext) -> str:
        return self.review.body

    def f_submittedAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.review.submitted_at)

    def f_createdAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.review.submitted_at)

    def f_url(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{ctx.base}/{self.repo.full_name}/pull/{self.pr.number}#pullrequestreview-{self.review.id}"


class ReviewThreadNode(Node):
    """``PullRequestReviewThread``."""

    typename = "PullRequestReviewThread"
    interfaces = ("Node",)

    def __init__(self, repo: FakeRepo, pr: FakePullRequest, thread: ReviewThread) -> None:
        self.repo, self.pr, self.thread = repo, pr, thread

    def f_id(self, args: Args, ctx: GraphQLContext) -> str:
        return self.thread.node_id

    def f_isResolved(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.thread.is_resolved

    def f_isOutdated(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.thread.comments[0].commit_id != self.pr.head_sha

    def f_isCollapsed(self, args: Args, ctx: GraphQLContext) -> bool:
        return self.thread.is_resolved

    def f_path(self, args: Args, ctx: GraphQLContext) -> str:
        return self.thread.comments[0].path

    def f_line(self, args: Args, ctx: GraphQLContext) -> int | None:
        return self.thread.comments[0].line

    def f_resolvedBy(self, args: Args, ctx: GraphQLContext) -> ActorNode | None:
        return ActorNode(self.thread.resolved_by, ctx.base) if self.thread.resolved_by else None

    def f_comments(self, args: Args, ctx: GraphQLContext) -> Connection:
        return Connection(
            "PullRequestReviewCommentConnection",
            [ReviewCommentNode(self.repo, self.pr, c) for c in self.thread.comments],
            args,
        )


class ReviewCommentNode(Node):
    """``PullRequestReviewComment``."""

    typename = "PullRequestReviewComment"
    interfaces = ("Node", "Comment")

    def __init__(self, repo: FakeRepo, pr: FakePullRequest, comment: ReviewComment) -> None:
        self.repo, self.pr, self.comment = repo, pr, comment

    def f_id(self, args: Args, ctx: GraphQLContext) -> str:
        return f"PRRC_kwDO{self.comment.id:08d}"

    def f_databaseId(self, args: Args, ctx: GraphQLContext) -> int:
        return self.comment.id

    def f_author(self, args: Args, ctx: GraphQLContext) -> ActorNode:
        return ActorNode(self.comment.user, ctx.base)

    def f_body(self, args: Args, ctx: GraphQLContext) -> str:
        return self.comment.body

    def f_path(self, args: Args, ctx: GraphQLContext) -> str:
        return self.comment.path

    def f_line(self, args: Args, ctx: GraphQLContext) -> int | None:
        return self.comment.line

    def f_originalLine(self, args: Args, ctx: GraphQLContext) -> int | None:
        return self.comment.line

    def f_url(self, args: Args, ctx: GraphQLContext) -> str:
        return f"{ctx.base}/{self.repo.full_name}/pull/{self.pr.number}#discussion_r{self.comment.id}"

    def f_createdAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.comment.created_at)

    def f_updatedAt(self, args: Args, ctx: GraphQLContext) -> str | None:
        return iso(self.comment.created_at)
