"""A faithful, stateful fake of Linear's GraphQL API on 127.0.0.1, for tests.

::

    from ao_testing.fakes.linear import FakeLinear

    with FakeLinear() as linear:
        linear.create_team("INT", "Integrations")
        linear.create_label("bug", team="INT")
        linear.create_issue("INT", "Fix login timeout", number=100, labels=["bug"], priority=2)
        # point a client at linear.url with the header "Authorization: <linear.default_api_key>"

Plugin tests get one per test from the ``fake_linear`` fixture: add
``from ao_testing.fakes.linear_pytest_fixtures import fake_linear`` to the package's ``conftest.py``.

What it serves
--------------
``POST /graphql`` with a JSON body ``{"query": ..., "variables": {...}, "operationName": ...}`` and the header
``Authorization: <api key>`` (personal API keys are sent bare; ``Bearer <key>`` is refused, as is a missing or
unknown key: HTTP 401 with the error code ``AUTHENTICATION_ERROR``).

The query text is parsed by a small GraphQL parser (operations, variable definitions with defaults,
aliases, arguments with every literal kind, nested selections, ``__typename``) and checked against the
subset of Linear's schema below *before* anything runs. Anything outside that subset is refused with
HTTP 400 and a GraphQL error (code ``GRAPHQL_VALIDATION_FAILED``) naming what is unknown, so the fake never
silently answers a query it does not understand: an unknown field, argument, input field or filter key,
a missing required argument or variable, a variable of the wrong type, a selection on a scalar or none on
an object. Fragments, directives and subscriptions are refused the same way (the fake does not implement
them; Linear does).

Schema subset:

- ``Query``: ``issue(id)`` (UUID or identifier such as ``INT-100``), ``issues(filter, first, after)``,
  ``workflowStates(filter, first, after)``, ``issueLabels(filter, first, after)``, ``teams(filter, first,
  after)``, ``users(filter, first, after)``, ``viewer``.
- ``Mutation``: ``issueUpdate(id, input: {title, description, stateId, labelIds, addedLabelIds,
  removedLabelIds, assigneeId, priority})``, ``issueCreate(input: {teamId, title, description, stateId,
  labelIds, assigneeId, priority})``, ``commentCreate(input: {issueId, body})``.
- ``Issue``: ``id identifier number title description url priority priorityLabel branchName createdAt
  updatedAt state team assignee creator labels(first) comments(first)``; ``WorkflowState``: ``id name type
  position color team``; ``IssueLabel``: ``id name color team``; ``User``: ``id name displayName email
  active``; ``Team``: ``id key name``; ``Comment``: ``id body url createdAt user issue``; connections have
  ``nodes`` and ``pageInfo { hasNextPage endCursor hasPreviousPage startCursor }``; payloads have ``success``,
  ``lastSyncId`` and ``issue`` / ``comment``.
- Filters: ``and``/``or`` everywhere; comparators ``eq neq in nin eqIgnoreCase neqIgnoreCase startsWith
  endsWith contains containsIgnoreCase null`` (numbers also ``lt lte gt gte``). ``IssueFilter``: ``id number
  title priority state team assignee creator labels``; ``WorkflowStateFilter``: ``id name type position
  team``; ``IssueLabelFilter``: ``id name team`` (``team: {null: true}`` selects workspace labels);
  ``labels`` on issues is a collection filter: ``some``, ``every``, or field comparators meaning "some label";
  ``TeamFilter``: ``id key name``; ``UserFilter``: ``id name displayName email isMe active``. Relation filters
  accept ``null: true|false``.
- Pages: ``first`` is 1..250 (default 50), ``after`` is the ``endCursor`` of the previous page. Issues come
  newest first (Linear's default ``orderBy: createdAt``), states by position, everything else in creation
  order.

Answers have Linear's shapes: ``{"data": {...}}``; errors as ``{"errors": [{"message", "path", "extensions":
{"type", "code", "userError", "userPresentableMessage"}}], "data": null}``. A missing entity is HTTP 200 with
``"Entity not found: Issue"`` (code ``INPUT_ERROR``), like Linear. Linear computes ``branchName`` per viewer;
the fake uses ``<viewer display name>/<team key lower>-<number>-<title slug>`` (``alice/int-100-fix-login``).

Not simulated: fragments, directives, subscriptions, ``orderBy``, archived entities, rate-limit bookkeeping
(inject a ``RATELIMITED`` answer with :meth:`FakeLinear.fail_next`), webhooks, OAuth.
"""

from __future__ import annotations

import json
import re
import textwrap
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from ao_testing.fakes._serving import LocalHTTPServer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_STATES",
    "FakeComment",
    "FakeIssue",
    "FakeLabel",
    "FakeLinear",
    "FakeState",
    "FakeTeam",
    "FakeUser",
    "LinearRequest",
]

DEFAULT_API_KEY = "lin_api_fake_0123456789abcdef"
"""The API key of the default user (``alice``)."""

DEFAULT_STATES: tuple[tuple[str, str], ...] = (
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("In Review", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
    ("Duplicate", "canceled"),
)
"""The workflow states a new Linear team starts with: (name, type), in position order."""

STATE_TYPES = frozenset({"triage", "backlog", "unstarted", "started", "completed", "canceled"})
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}
MAX_PAGE = 250
DEFAULT_PAGE = 50


# =========================================================================== state


def _new_id() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class FakeUser:
    """A Linear user."""

    name: str
    display_name: str
    email: str
    id: str = field(default_factory=_new_id)
    active: bool = True


@dataclass
class FakeTeam:
    """A Linear team; its issues are ``<key>-<number>``."""

    key: str
    name: str
    id: str = field(default_factory=_new_id)
    last_number: int = 0


@dataclass
class FakeState:
    """A workflow state of a team."""

    name: str
    type: str
    position: float
    team_id: str
    color: str = "#95a2b3"
    id: str = field(default_factory=_new_id)


@dataclass
class FakeLabel:
    """An issue label: of a team, or of the workspace when ``team_id`` is ``None``."""

    name: str
    team_id: str | None
    color: str = "#bec2c8"
    id: str = field(default_factory=_new_id)


@dataclass
class FakeComment:
    """A comment on an issue."""

    issue_id: str
    body: str
    user_id: str
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=_now)


@dataclass
class FakeIssue:
    """An issue. ``identifier`` is ``<team key>-<number>``."""

    team_id: str
    number: int
    identifier: str
    title: str
    description: str | None
    priority: int
    state_id: str
    creator_id: str
    label_ids: list[str] = field(default_factory=list)
    assignee_id: str | None = None
    id: str = field(default_factory=_new_id)
    created_at: datetime = field(default_factory=_now)
    updated_at: datetime = field(default_factory=_now)


@dataclass(frozen=True)
class LinearRequest:
    """One request the fake answered.

    Attributes:
        operation: The operation's name (``None`` for anonymous operations or unparsable bodies).
        kind: ``query`` or ``mutation`` (``None`` when the body was not parsed).
        fields: The root fields the operation selects (``("issue",)``).
        variables: The variables sent.
        status: The HTTP status of the answer.
        user: The display name of the authenticated user, or ``None``.
        error_codes: The ``extensions.code`` of each error in the answer.
    """

    operation: str | None
    kind: str | None
    fields: tuple[str, ...]
    variables: Mapping[str, Any]
    status: int
    user: str | None
    error_codes: tuple[str, ...]


@dataclass
class _Fault:
    status: int
    count: int
    message: str
    code: str
    type: str
    headers: dict[str, str]


def slugify(text: str, *, limit: int = 60) -> str:
    """Linear-style slug: ASCII, lower case, words joined by ``-``, cut at a word boundary near ``limit``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] if "-" in slug[:limit] else slug[:limit]
    return slug


# =========================================================================== errors


class _GraphQLError(Exception):
    """An error answer: the message, Linear's error ``type`` and ``code``, and the HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        type: str = "graphql error",
        code: str = "GRAPHQL_VALIDATION_FAILED",
        status: int = 400,
        path: Sequence[str | int] | None = None,
        user_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type
        self.code = code
        self.status = status
        self.path = list(path) if path is not None else None
        self.user_message = user_message

    def to_json(self) -> dict[str, Any]:
        """The error as Linear renders it."""
        extensions: dict[str, Any] = {"type": self.type, "code": self.code, "userError": self.status < 500}
        if self.user_message:
            extensions["userPresentableMessage"] = self.user_message
        error: dict[str, Any] = {"message": self.message, "extensions": extensions}
        if self.path is not None:
            error["path"] = self.path
        return error


def _invalid(message: str) -> _GraphQLError:
    """A query the fake refuses before running it (HTTP 400, ``GRAPHQL_VALIDATION_FAILED``)."""
    return _GraphQLError(message)


def _not_found(entity: str) -> _GraphQLError:
    """Linear's answer for a reference to something that does not exist (HTTP 200)."""
    return _GraphQLError(
        f"Entity not found: {entity}",
        type="invalid input",
        code="INPUT_ERROR",
        status=200,
        user_message=f"Could not find referenced {entity}.",
    )


def _bad_input(message: str) -> _GraphQLError:
    return _GraphQLError(
        "Argument Validation Error", type="invalid input", code="INPUT_ERROR", status=200, user_message=message
    )


def _auth_error() -> _GraphQLError:
    return _GraphQLError(
        "Authentication required, not authenticated",
        type="authentication error",
        code="AUTHENTICATION_ERROR",
        status=401,
        user_message="You need to authenticate to access this operation.",
    )


# =========================================================================== GraphQL parser


@dataclass(frozen=True)
class Variable:
    """A ``$name`` reference in a value."""

    name: str


@dataclass(frozen=True)
class EnumValue:
    """A bare enum literal (``createdAt``)."""

    name: str


@dataclass
class FieldNode:
    """A field selection: ``alias: name(arguments) { selections }``."""

    name: str
    alias: str | None
    arguments: dict[str, Any]
    selections: list[FieldNode] | None

    @property
    def key(self) -> str:
        """The key of the field in the answer."""
        return self.alias or self.name


@dataclass
class VariableDefinition:
    """``$name: Type = default``."""

    name: str
    type: str
    default: Any = None
    has_default: bool = False


@dataclass
class Operation:
    """A parsed operation."""

    kind: str
    name: str | None
    variables: list[VariableDefinition]
    selections: list[FieldNode]


_TOKEN_RE = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&():=@\[\]{|}])
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n\r])*")
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            raise _invalid(f"Syntax Error: Unexpected character {source[pos]!r} at offset {pos}.")
        kind = match.lastgroup or ""
        if kind != "ignored":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "", len(source)))
    return tokens


class _Parser:
    """Recursive descent over the tokens of one GraphQL document."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def next(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind in ("punct", "spread") and token.text == text

    def expect(self, text: str) -> None:
        token = self.next()
        if token.text != text or token.kind not in ("punct", "spread"):
            raise _invalid(f"Syntax Error: Expected {text!r}, found {token.text or '<EOF>'!r} at offset {token.pos}.")

    def name(self) -> str:
        token = self.next()
        if token.kind != "name":
            raise _invalid(f"Syntax Error: Expected Name, found {token.text or '<EOF>'!r} at offset {token.pos}.")
        return token.text

    def document(self) -> list[Operation]:
        operations = []
        while self.peek().kind != "eof":
            operations.append(self.operation())
        if not operations:
            raise _invalid("Syntax Error: Unexpected <EOF>.")
        return operations

    def operation(self) -> Operation:
        if self.at("{"):
            return Operation("query", None, [], self.selection_set())
        keyword = self.name()
        if keyword == "fragment":
            raise _invalid("fake Linear: fragments are not supported; inline the fields")
        if keyword not in ("query", "mutation", "subscription"):
            raise _invalid(f"Syntax Error: Unexpected Name {keyword!r}.")
        if keyword == "subscription":
            raise _invalid("fake Linear: subscriptions are not supported")
        name = self.name() if self.peek().kind == "name" else None
        variables = self.variable_definitions() if self.at("(") else []
        self.no_directives()
        return Operation(keyword, name, variables, self.selection_set())

    def variable_definitions(self) -> list[VariableDefinition]:
        self.expect("(")
        found = []
        while not self.at(")"):
            self.expect("$")
            name = self.name()
            self.expect(":")
            type_ = self.type_ref()
            definition = VariableDefinition(name, type_)
            if self.at("="):
                self.next()
                definition.default = self.value(const=True)
                definition.has_default = True
            self.no_directives()
            found.append(definition)
        self.next()
        if not found:
            raise _invalid("Syntax Error: Expected a variable definition, found ')'.")
        return found

    def type_ref(self) -> str:
        if self.at("["):
            self.next()
            inner = self.type_ref()
            self.expect("]")
            text = f"[{inner}]"
        else:
            text = self.name()
        if self.at("!"):
            self.next()
            text += "!"
        return text

    def no_directives(self) -> None:
        if self.at("@"):
            raise _invalid("fake Linear: directives are not supported")

    def selection_set(self) -> list[FieldNode]:
        self.expect("{")
        selections = []
        while not self.at("}"):
            if self.at("..."):
                raise _invalid("fake Linear: fragments are not supported; inline the fields")
            selections.append(self.field())
        self.next()
        if not selections:
            raise _invalid("Syntax Error: Expected Name, found '}'.")
        return selections

    def field(self) -> FieldNode:
        name = self.name()
        alias = None
        if self.at(":"):
            self.next()
            alias, name = name, self.name()
        arguments: dict[str, Any] = {}
        if self.at("("):
            self.next()
            while not self.at(")"):
                arg = self.name()
                self.expect(":")
                if arg in arguments:
                    raise _invalid(f'There can be only one argument named "{arg}".')
                arguments[arg] = self.value(const=False)
            self.next()
        self.no_directives()
        selections = self.selection_set() if self.at("{") else None
        return FieldNode(name, alias, arguments, selections)

    def value(self, *, const: bool) -> Any:
        token = self.peek()
        if token.kind == "punct" and token.text == "$":
            if const:
                raise _invalid("Syntax Error: Unexpected variable in a constant value.")
            self.next()
            return Variable(self.name())
        if token.kind == "punct" and token.text == "[":
            self.next()
            items = []
            while not self.at("]"):
                items.append(self.value(const=const))
            self.next()
            return items
        if token.kind == "punct" and token.text == "{":
            self.next()
            obj: dict[str, Any] = {}
            while not self.at("}"):
                key = self.name()
                self.expect(":")
                obj[key] = self.value(const=const)
            self.next()
            return obj
        self.next()
        if token.kind == "string":
            return json.loads(token.text)
        if token.kind == "block":
            body = token.text[3:-3].replace('\\"""', '"""')
            return textwrap.dedent(body).strip("\n")
        if token.kind == "number":
            return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        if token.kind == "name":
            return {"true": True, "false": False, "null": None}.get(token.text, EnumValue(token.text))
        raise _invalid(f"Syntax Error: Unexpected {token.text or '<EOF>'!r} at offset {token.pos}.")


def parse(source: str) -> list[Operation]:
    """Parse a GraphQL document of the supported subset.

    Raises:
        _GraphQLError: for a syntax error or an unsupported construct.
    """
    return _Parser(source).document()


# =========================================================================== schema


@dataclass(frozen=True)
class _Page:
    nodes: list[Any]
    has_next: bool
    end_cursor: str | None
    start_cursor: str | None


Resolver = Callable[["_Exec", Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class _Field:
    type: str
    resolve: Resolver
    args: Mapping[str, str] = field(default_factory=dict)


def _attr(name: str) -> Resolver:
    return lambda _ex, obj, _args: getattr(obj, name)


_SCALARS = frozenset({"ID", "String", "Int", "Float", "Boolean", "DateTime"})
_PAGE_ARGS = {"first": "Int", "after": "String"}


def _base(type_: str) -> str:
    return type_.replace("!", "").strip("[]")


def _required(type_: str) -> bool:
    return type_.endswith("!")


class _Exec:
    """One request's execution: the fake, the authenticated user, the variables."""

    def __init__(self, fake: FakeLinear, viewer: FakeUser, variables: dict[str, Any]) -> None:
        self.fake = fake
        self.viewer = viewer
        self.variables = variables

    # ---------------------------------------------------------------- values

    def value(self, raw: Any) -> Any:
        """An argument value with its variables substituted."""
        if isinstance(raw, Variable):
            return self.variables.get(raw.name)
        if isinstance(raw, list):
            return [self.value(item) for item in raw]
        if isinstance(raw, dict):
            return {key: self.value(item) for key, item in raw.items()}
        if isinstance(raw, EnumValue):
            return raw.name
        return raw

    # ---------------------------------------------------------------- execution

    def run(self, operation: Operation) -> dict[str, Any]:
        root = "Mutation" if operation.kind == "mutation" else "Query"
        return {node.key: self.field(root, None, node, [node.key]) for node in operation.selections}

    def field(self, type_name: str, parent: Any, node: FieldNode, path: list[str | int]) -> Any:
        if node.name == "__typename":
            return type_name
        spec = SCHEMA[type_name][node.name]
        args = {name: self.value(raw) for name, raw in node.arguments.items()}
        try:
            value = spec.resolve(self, parent, args)
        except _GraphQLError as exc:
            if exc.path is None:
                exc.path = list(path)
            raise
        return self.complete(spec.type, value, node, path)

    def complete(self, type_: str, value: Any, node: FieldNode, path: list[str | int]) -> Any:
        if value is None:
            return None
        bare = type_.rstrip("!")
        if bare.startswith("["):
            inner = bare[1:-1]
            return [self.complete(inner, item, node, [*path, i]) for i, item in enumerate(value)]
        if bare in _SCALARS:
            if isinstance(value, datetime):
                return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            return value
        assert node.selections is not None  # checked by validation
        return {sel.key: self.field(bare, value, sel, [*path, sel.key]) for sel in node.selections}

    # ---------------------------------------------------------------- helpers for resolvers

    def page(self, items: Sequence[Any], args: Mapping[str, Any], filter_type: str | None = None) -> _Page:
        """Filter and paginate ``items`` (each with an ``id``)."""
        if filter_type is not None and args.get("filter") is not None:
            items = [item for item in items if _matches(self, filter_type, item, args["filter"])]
        first = args.get("first")
        first = DEFAULT_PAGE if first is None else first
        if not 1 <= first <= MAX_PAGE:
            raise _bad_input(f"first must be between 1 and {MAX_PAGE}")
        start = 0
        after = args.get("after")
        if after is not None:
            ids = [item.id for item in items]
            if after not in ids:
                raise _bad_input(f"cursor {after!r} is not valid for this query")
            start = ids.index(after) + 1
        chunk = list(items[start : start + first])
        return _Page(
            nodes=chunk,
            has_next=start + first < len(items),
            end_cursor=chunk[-1].id if chunk else None,
            start_cursor=chunk[0].id if chunk else None,
        )


def _connection(node_type: str) -> dict[str, _Field]:
    return {
        "nodes": _Field(f"[{node_type}!]!", lambda _ex, page, _a: page.nodes),
        "pageInfo": _Field("PageInfo!", lambda _ex, page, _a: page),
    }


def _issue_state(ex: _Exec, issue: FakeIssue, _args: dict[str, Any]) -> FakeState:
    return ex.fake._states[issue.state_id]


def _issue_team(ex: _Exec, issue: FakeIssue, _args: dict[str, Any]) -> FakeTeam:
    return ex.fake._teams[issue.team_id]


def _issue_labels(ex: _Exec, issue: FakeIssue, args: dict[str, Any]) -> _Page:
    return ex.page([ex.fake._labels[i] for i in issue.label_ids], args, "IssueLabelFilter")


def _issue_comments(ex: _Exec, issue: FakeIssue, args: dict[str, Any]) -> _Page:
    return ex.page([c for c in ex.fake._comments if c.issue_id == issue.id], args)


def _user_ref(attribute: str) -> Resolver:
    def resolve(ex: _Exec, obj: Any, _args: dict[str, Any]) -> FakeUser | None:
        user_id = getattr(obj, attribute)
        return ex.fake._users.get(user_id) if user_id else None

    return resolve


def _team_ref(ex: _Exec, obj: Any, _args: dict[str, Any]) -> FakeTeam | None:
    return ex.fake._teams.get(obj.team_id) if obj.team_id else None


def _q_issue(ex: _Exec, _parent: Any, args: dict[str, Any]) -> FakeIssue:
    issue = ex.fake.find_issue(args["id"])
    if issue is None:
        raise _not_found("Issue")
    return issue


def _q_issues(ex: _Exec, _parent: Any, args: dict[str, Any]) -> _Page:
    issues = sorted(ex.fake._issues.values(), key=lambda i: i.created_at, reverse=True)
    return ex.page(issues, args, "IssueFilter")


def _q_states(ex: _Exec, _parent: Any, args: dict[str, Any]) -> _Page:
    states = sorted(ex.fake._states.values(), key=lambda s: (s.team_id, s.position))
    return ex.page(states, args, "WorkflowStateFilter")


def _q_labels(ex: _Exec, _parent: Any, args: dict[str, Any]) -> _Page:
    return ex.page(list(ex.fake._labels.values()), args, "IssueLabelFilter")


def _q_teams(ex: _Exec, _parent: Any, args: dict[str, Any]) -> _Page:
    return ex.page(list(ex.fake._teams.values()), args, "TeamFilter")


def _q_users(ex: _Exec, _parent: Any, args: dict[str, Any]) -> _Page:
    return ex.page(list(ex.fake._users.values()), args, "UserFilter")


def _m_issue_update(ex: _Exec, _parent: Any, args: dict[str, Any]) -> dict[str, Any]:
    fake = ex.fake
    issue = fake.find_issue(args["id"])
    if issue is None:
        raise _not_found("Issue")
    data: dict[str, Any] = args["input"]
    # Check everything first: a refused update changes nothing.
    if "title" in data and not (data["title"] or "").strip():
        raise _bad_input("title must not be empty")
    priority = _check_priority(data["priority"]) if data.get("priority") is not None else issue.priority
    state = issue.state_id
    if data.get("stateId") is not None:
        target = fake._states.get(data["stateId"])
        if target is None or target.team_id != issue.team_id:
            raise _not_found("WorkflowState")
        state = target.id
    labels = _check_labels(fake, issue.team_id, data["labelIds"] or []) if "labelIds" in data else issue.label_ids
    labels = [*labels, *(i for i in _check_labels(fake, issue.team_id, data.get("addedLabelIds") or []))]
    removed = set(data.get("removedLabelIds") or [])
    assignee = issue.assignee_id
    if "assigneeId" in data:
        if data["assigneeId"] is not None and data["assigneeId"] not in fake._users:
            raise _not_found("User")
        assignee = data["assigneeId"]
    if "title" in data:
        issue.title = data["title"]
    if "description" in data:
        issue.description = data["description"]
    issue.priority = priority
    issue.state_id = state
    issue.label_ids = [i for i in dict.fromkeys(labels) if i not in removed]
    issue.assignee_id = assignee
    issue.updated_at = _now()
    return {"success": True, "issue": issue, "lastSyncId": fake._sync()}


def _m_issue_create(ex: _Exec, _parent: Any, args: dict[str, Any]) -> dict[str, Any]:
    fake = ex.fake
    data: dict[str, Any] = args["input"]
    team = fake._teams.get(data.get("teamId") or "")
    if team is None:
        raise _not_found("Team")
    title = data.get("title")
    if not title or not title.strip():
        raise _bad_input("title must not be empty")
    state_id = data.get("stateId")
    if state_id is not None and (state_id not in fake._states or fake._states[state_id].team_id != team.id):
        raise _not_found("WorkflowState")
    if data.get("assigneeId") is not None and data["assigneeId"] not in fake._users:
        raise _not_found("User")
    issue = fake._add_issue(
        team,
        title,
        description=data.get("description"),
        state=fake._states[state_id] if state_id else fake._default_state(team),
        label_ids=_check_labels(fake, team.id, data.get("labelIds") or []),
        assignee_id=data.get("assigneeId"),
        priority=_check_priority(data.get("priority") or 0),
        creator=ex.viewer,
    )
    return {"success": True, "issue": issue, "lastSyncId": fake._sync()}


def _m_comment_create(ex: _Exec, _parent: Any, args: dict[str, Any]) -> dict[str, Any]:
    fake = ex.fake
    data: dict[str, Any] = args["input"]
    issue = fake.find_issue(data.get("issueId") or "")
    if issue is None:
        raise _not_found("Issue")
    body = data.get("body")
    if not body or not body.strip():
        raise _bad_input("body must not be empty")
    comment = FakeComment(issue_id=issue.id, body=body, user_id=ex.viewer.id)
    fake._comments.append(comment)
    return {"success": True, "comment": comment, "lastSyncId": fake._sync()}


def _check_priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or not 0 <= value <= 4:
        raise _bad_input("priority must be an integer from 0 (no priority) to 4 (low)")
    return int(value)


def _check_labels(fake: FakeLinear, team_id: str, label_ids: Iterable[str]) -> list[str]:
    found = []
    for label_id in label_ids:
        label = fake._labels.get(label_id)
        if label is None or label.team_id not in (None, team_id):
            raise _not_found("IssueLabel")
        if label_id not in found:
            found.append(label_id)
    return found


def _payload(entity: str, entity_type: str) -> dict[str, _Field]:
    return {
        "success": _Field("Boolean!", lambda _ex, p, _a: p["success"]),
        "lastSyncId": _Field("Float!", lambda _ex, p, _a: p["lastSyncId"]),
        entity: _Field(entity_type, lambda _ex, p, _a: p[entity]),
    }


def _list_field(node_type: str, filter_type: str | None, resolve: Resolver) -> _Field:
    args = dict(_PAGE_ARGS)
    if filter_type is not None:
        args["filter"] = filter_type
    return _Field(f"{node_type}Connection!", resolve, args)


SCHEMA: dict[str, dict[str, _Field]] = {
    "Query": {
        "issue": _Field("Issue!", _q_issue, {"id": "String!"}),
        "issues": _list_field("Issue", "IssueFilter", _q_issues),
        "workflowStates": _list_field("WorkflowState", "WorkflowStateFilter", _q_states),
        "issueLabels": _list_field("IssueLabel", "IssueLabelFilter", _q_labels),
        "teams": _list_field("Team", "TeamFilter", _q_teams),
        "users": _list_field("User", "UserFilter", _q_users),
        "viewer": _Field("User!", lambda ex, _p, _a: ex.viewer),
    },
    "Mutation": {
        "issueUpdate": _Field("IssuePayload!", _m_issue_update, {"id": "String!", "input": "IssueUpdateInput!"}),
        "issueCreate": _Field("IssuePayload!", _m_issue_create, {"input": "IssueCreateInput!"}),
        "commentCreate": _Field("CommentPayload!", _m_comment_create, {"input": "CommentCreateInput!"}),
    },
    "Issue": {
        "id": _Field("ID!", _attr("id")),
        "identifier": _Field("String!", _attr("identifier")),
        "number": _Field("Float!", _attr("number")),
        "title": _Field("String!", _attr("title")),
        "description": _Field("String", _attr("description")),
        "url": _Field("String!", lambda ex, issue, _a: ex.fake.issue_url(issue)),
        "priority": _Field("Float!", _attr("priority")),
        "priorityLabel": _Field("String!", lambda _ex, issue, _a: PRIORITY_LABELS[issue.priority]),
        "branchName": _Field("String!", lambda ex, issue, _a: ex.fake.branch_name(issue, ex.viewer)),
        "createdAt": _Field("DateTime!", _attr("created_at")),
        "updatedAt": _Field("DateTime!", _attr("updated_at")),
        "state": _Field("WorkflowState!", _issue_state),
        "team": _Field("Team!", _issue_team),
        "assignee": _Field("User", _user_ref("assignee_id")),
        "creator": _Field("User", _user_ref("creator_id")),
        "labels": _Field("IssueLabelConnection!", _issue_labels, {**_PAGE_ARGS, "filter": "IssueLabelFilter"}),
        "comments": _Field("CommentConnection!", _issue_comments, dict(_PAGE_ARGS)),
    },
    "WorkflowState": {
        "id": _Field("ID!", _attr("id")),
        "name": _Field("String!", _attr("name")),
        "type": _Field("String!", _attr("type")),
        "position": _Field("Float!", _attr("position")),
        "color": _Field("String!", _attr("color")),
        "team": _Field("Team!", _team_ref),
    },
    "IssueLabel": {
        "id": _Field("ID!", _attr("id")),
        "name": _Field("String!", _attr("name")),
        "color": _Field("String!", _attr("color")),
        "team": _Field("Team", _team_ref),
    },
    "User": {
        "id": _Field("ID!", _attr("id")),
        "name": _Field("String!", _attr("name")),
        "displayName": _Field("String!", _attr("display_name")),
        "email": _Field("String!", _attr("email")),
        "active": _Field("Boolean!", _attr("active")),
    },
    "Team": {
        "id": _Field("ID!", _attr("id")),
        "key": _Field("String!", _attr("key")),
        "name": _Field("String!", _attr("name")),
    },
    "Comment": {
        "id": _Field("ID!", _attr("id")),
        "body": _Field("String!", _attr("body")),
        "url": _Field("String!", lambda ex, c, _a: ex.fake.comment_url(c)),
        "createdAt": _Field("DateTime!", _attr("created_at")),
        "user": _Field("User", _user_ref("user_id")),
        "issue": _Field("Issue", lambda ex, c, _a: ex.fake._issues.get(c.issue_id)),
    },
    "PageInfo": {
        "hasNextPage": _Field("Boolean!", lambda _ex, p, _a: p.has_next),
        "hasPreviousPage": _Field("Boolean!", lambda _ex, p, _a: False),
        "endCursor": _Field("String", lambda _ex, p, _a: p.end_cursor),
        "startCursor": _Field("String", lambda _ex, p, _a: p.start_cursor),
    },
    "IssuePayload": _payload("issue", "Issue"),
    "CommentPayload": _payload("comment", "Comment"),
    **{f"{t}Connection": _connection(t) for t in ("Issue", "WorkflowState", "IssueLabel", "Team", "User", "Comment")},
}
"""Output types: type name → field name → field. Everything a query may select."""

INPUT_TYPES: dict[str, dict[str, str]] = {
    "IssueUpdateInput": {
        "title": "String",
        "description": "String",
        "stateId": "String",
        "labelIds": "[String!]",
        "addedLabelIds": "[String!]",
        "removedLabelIds": "[String!]",
        "assigneeId": "String",
        "priority": "Int",
    },
    "IssueCreateInput": {
        "teamId": "String!",
        "title": "String",
        "description": "String",
        "stateId": "String",
        "labelIds": "[String!]",
        "assigneeId": "String",
        "priority": "Int",
    },
    "CommentCreateInput": {"issueId": "String", "body": "String"},
}
"""Input objects of mutations: type name → field → type (``!`` = required)."""


# =========================================================================== filters

_STRING_OPS = frozenset(
    {"eq", "neq", "in", "nin", "eqIgnoreCase", "neqIgnoreCase", "startsWith", "endsWith", "contains",
     "containsIgnoreCase", "null"}
)  # fmt: skip
_NUMBER_OPS = frozenset({"eq", "neq", "in", "nin", "lt", "lte", "gt", "gte", "null"})
_BOOL_OPS = frozenset({"eq", "neq"})

# filter type → field → (kind, target, getter). kind: "str", "num", "bool", "rel" (target: filter type),
# "coll" (target: filter type of the members).
_Getter = Callable[[_Exec, Any], Any]
_FILTERS: dict[str, dict[str, tuple[str, str, _Getter]]] = {
    "IssueFilter": {
        "id": ("str", "", lambda _ex, i: i.id),
        "number": ("num", "", lambda _ex, i: i.number),
        "title": ("str", "", lambda _ex, i: i.title),
        "priority": ("num", "", lambda _ex, i: i.priority),
        "state": ("rel", "WorkflowStateFilter", lambda ex, i: ex.fake._states[i.state_id]),
        "team": ("rel", "TeamFilter", lambda ex, i: ex.fake._teams[i.team_id]),
        "assignee": ("rel", "UserFilter", lambda ex, i: ex.fake._users.get(i.assignee_id or "")),
        "creator": ("rel", "UserFilter", lambda ex, i: ex.fake._users.get(i.creator_id)),
        "labels": ("coll", "IssueLabelFilter", lambda ex, i: [ex.fake._labels[x] for x in i.label_ids]),
    },
    "WorkflowStateFilter": {
        "id": ("str", "", lambda _ex, s: s.id),
        "name": ("str", "", lambda _ex, s: s.name),
        "type": ("str", "", lambda _ex, s: s.type),
        "position": ("num", "", lambda _ex, s: s.position),
        "team": ("rel", "TeamFilter", lambda ex, s: ex.fake._teams.get(s.team_id)),
    },
    "IssueLabelFilter": {
        "id": ("str", "", lambda _ex, label: label.id),
        "name": ("str", "", lambda _ex, label: label.name),
        "team": ("rel", "TeamFilter", lambda ex, label: ex.fake._teams.get(label.team_id or "")),
    },
    "TeamFilter": {
        "id": ("str", "", lambda _ex, t: t.id),
        "key": ("str", "", lambda _ex, t: t.key),
        "name": ("str", "", lambda _ex, t: t.name),
    },
    "UserFilter": {
        "id": ("str", "", lambda _ex, u: u.id),
        "name": ("str", "", lambda _ex, u: u.name),
        "displayName": ("str", "", lambda _ex, u: u.display_name),
        "email": ("str", "", lambda _ex, u: u.email),
        "active": ("bool", "", lambda _ex, u: u.active),
        "isMe": ("bool", "", lambda ex, u: u.id == ex.viewer.id),
    },
}


def _expect_object(value: Any, type_name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"Expected type {type_name} to be an object, got {json.dumps(value)}.")
    return value


def _matches(ex: _Exec, filter_type: str, obj: Any, spec: Any) -> bool:
    """Whether ``obj`` satisfies the filter ``spec`` of type ``filter_type`` (all keys must hold)."""
    spec = _expect_object(spec, filter_type)
    fields = _FILTERS[filter_type]
    for key, value in spec.items():
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise _invalid(f'Field "{key}" of type "{filter_type}" expects a list.')
            results = [_matches(ex, filter_type, obj, item) for item in value]
            if not (all(results) if key == "and" else any(results)):
                return False
            continue
        if key not in fields:
            raise _invalid(f'Field "{key}" is not defined by type "{filter_type}".')
        kind, target, getter = fields[key]
        if kind == "rel":
            if not _match_relation(ex, target, getter(ex, obj), value):
                return False
        elif kind == "coll":
            if not _match_collection(ex, target, getter(ex, obj), value):
                return False
        elif not _compare(kind, getter(ex, obj), value):
            return False
    return True


def _match_relation(ex: _Exec, filter_type: str, related: Any, spec: Any) -> bool:
    spec = dict(_expect_object(spec, f"Nullable{filter_type}"))
    if "null" in spec and (related is None) != bool(spec.pop("null")):
        return False
    if not spec:
        return True
    return related is not None and _matches(ex, filter_type, related, spec)


def _match_collection(ex: _Exec, filter_type: str, members: list[Any], spec: Any) -> bool:
    collection_type = filter_type.replace("Filter", "CollectionFilter")
    spec = dict(_expect_object(spec, collection_type))
    if "some" in spec and not any(_matches(ex, filter_type, m, spec["some"]) for m in members):
        return False
    if "every" in spec and not all(_matches(ex, filter_type, m, spec["every"]) for m in members):
        return False
    if "length" in spec and not _compare("num", len(members), spec["length"]):
        return False
    rest = {k: v for k, v in spec.items() if k not in ("some", "every", "length")}
    if not rest:
        return True
    return any(_matches(ex, filter_type, m, rest) for m in members)


def _compare(kind: str, actual: Any, spec: Any) -> bool:
    comparator = {"str": "StringComparator", "num": "NumberComparator", "bool": "BooleanComparator"}[kind]
    allowed = {"str": _STRING_OPS, "num": _NUMBER_OPS, "bool": _BOOL_OPS}[kind]
    spec = _expect_object(spec, comparator)
    for op, expected in spec.items():
        if op not in allowed:
            raise _invalid(f'Field "{op}" is not defined by type "{comparator}".')
        if op in ("in", "nin") and not isinstance(expected, list):
            raise _invalid(f'Field "{op}" of type "{comparator}" expects a list.')
        if not _compare_one(op, actual, expected):
            return False
    return True


def _compare_one(op: str, actual: Any, expected: Any) -> bool:
    folded = actual.casefold() if isinstance(actual, str) else actual
    match op:
        case "eq":
            return bool(actual == expected)
        case "neq":
            return bool(actual != expected)
        case "in":
            return actual in expected
        case "nin":
            return actual not in expected
        case "null":
            return (actual is None) == bool(expected)
        case "eqIgnoreCase":
            return isinstance(expected, str) and folded == expected.casefold()
        case "neqIgnoreCase":
            return not (isinstance(expected, str) and folded == expected.casefold())
        case "startsWith":
            return isinstance(actual, str) and actual.startswith(expected)
        case "endsWith":
            return isinstance(actual, str) and actual.endswith(expected)
        case "contains":
            return isinstance(actual, str) and expected in actual
        case "containsIgnoreCase":
            return isinstance(actual, str) and expected.casefold() in folded
        case "lt":
            return actual is not None and actual < expected
        case "lte":
            return actual is not None and actual <= expected
        case "gt":
            return actual is not None and actual > expected
        case _:  # gte
            return actual is not None and actual >= expected


# =========================================================================== validation


def _check_value(type_: str, value: Any, where: str) -> None:
    """Check a variable's (or a literal's) value against a type: scalars, lists, input objects, filters."""
    if value is None:
        if _required(type_):
            raise _invalid(f"{where}: expected a non-null value of type {type_!r}, got null.")
        return
    bare = type_.removesuffix("!")
    if bare.startswith("["):
        if not isinstance(value, list):
            value = [value]  # GraphQL input coercion: a single value is a list of one
        for i, item in enumerate(value):
            _check_value(bare[1:-1], item, f"{where}[{i}]")
        return
    ok = {
        "String": lambda v: isinstance(v, str),
        "ID": lambda v: isinstance(v, str | int) and not isinstance(v, bool),
        "Int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "Boolean": lambda v: isinstance(v, bool),
    }.get(bare)
    if ok is not None:
        if not ok(value):
            raise _invalid(f"{where}: {bare} cannot represent {json.dumps(value)}.")
        return
    if bare in INPUT_TYPES:
        obj = _expect_object(value, bare)
        fields = INPUT_TYPES[bare]
        for key in obj:
            if key not in fields:
                raise _invalid(f'{where}: Field "{key}" is not defined by type "{bare}".')
        for key, field_type in fields.items():
            if _required(field_type) and obj.get(key) is None:
                raise _invalid(f'{where}: Field "{bare}.{key}" of required type "{field_type}" was not provided.')
            if key in obj:
                _check_value(field_type, obj[key], f"{where}.{key}")
        return
    if bare in _FILTERS:
        _expect_object(value, bare)  # keys are checked as the filter runs (before any data is returned)
        return
    raise _invalid(f"{where}: unknown input type {bare!r}.")


def _validate(operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
    """Check the operation against the schema, then the variables; return them with defaults applied."""
    defined: dict[str, VariableDefinition] = {}
    for definition in operation.variables:
        if definition.name in defined:
            raise _invalid(f'There can be only one variable named "${definition.name}".')
        defined[definition.name] = definition
    used: set[str] = set()
    root = "Mutation" if operation.kind == "mutation" else "Query"
    _validate_selections(root, operation.selections, defined, used)
    unused = set(defined) - used
    if unused:
        raise _invalid(f'Variable "${sorted(unused)[0]}" is never used in operation "{operation.name or ""}".')
    values: dict[str, Any] = {}
    for name, definition in defined.items():
        if name in variables:
            value = variables[name]
        elif definition.has_default:
            value = definition.default
        else:
            if _required(definition.type):
                raise _invalid(f'Variable "${name}" of required type "{definition.type}" was not provided.')
            continue
        _check_value(definition.type, value, f'Variable "${name}"')
        values[name] = value
    return values


def _validate_selections(
    type_name: str, selections: list[FieldNode], defined: Mapping[str, VariableDefinition], used: set[str]
) -> None:
    fields = SCHEMA[type_name]
    for node in selections:
        if node.name == "__typename":
            if node.arguments or node.selections:
                raise _invalid('Field "__typename" takes no arguments or selections.')
            continue
        spec = fields.get(node.name)
        if spec is None:
            raise _invalid(f'Cannot query field "{node.name}" on type "{type_name}".')
        for arg, raw in node.arguments.items():
            if arg not in spec.args:
                raise _invalid(f'Unknown argument "{arg}" on field "{type_name}.{node.name}".')
            _validate_argument(spec.args[arg], raw, f'Argument "{arg}" of "{type_name}.{node.name}"', defined, used)
        for arg, arg_type in spec.args.items():
            if _required(arg_type) and arg not in node.arguments:
                raise _invalid(
                    f'Field "{type_name}.{node.name}" argument "{arg}" of type "{arg_type}" is required, '
                    "but it was not provided."
                )
        target = _base(spec.type)
        if target in _SCALARS:
            if node.selections is not None:
                raise _invalid(
                    f'Field "{node.name}" must not have a selection since type "{spec.type}" has no subfields.'
                )
        elif node.selections is None:
            raise _invalid(
                f'Field "{node.name}" of type "{spec.type}" must have a selection of subfields. '
                f'Did you mean "{node.name} {{ ... }}"?'
            )
        else:
            _validate_selections(target, node.selections, defined, used)


def _validate_argument(
    arg_type: str, raw: Any, where: str, defined: Mapping[str, VariableDefinition], used: set[str]
) -> None:
    if isinstance(raw, Variable):
        definition = defined.get(raw.name)
        if definition is None:
            raise _invalid(f'Variable "${raw.name}" is not defined.')
        used.add(raw.name)
        if _base(definition.type) != _base(arg_type):
            raise _invalid(
                f'Variable "${raw.name}" of type "{definition.type}" used in position expecting type "{arg_type}".'
            )
        return
    variables = _variables_in(raw)
    for name in variables:
        if name not in defined:
            raise _invalid(f'Variable "${name}" is not defined.')
    used.update(variables)
    if not variables:
        _check_value(arg_type, _literal(raw), where)


def _variables_in(raw: Any) -> set[str]:
    if isinstance(raw, Variable):
        return {raw.name}
    if isinstance(raw, list):
        return set().union(*(_variables_in(item) for item in raw)) if raw else set()
    if isinstance(raw, dict):
        return set().union(*(_variables_in(item) for item in raw.values())) if raw else set()
    return set()


def _literal(raw: Any) -> Any:
    if isinstance(raw, EnumValue):
        return raw.name
    if isinstance(raw, list):
        return [_literal(item) for item in raw]
    if isinstance(raw, dict):
        return {key: _literal(item) for key, item in raw.items()}
    return raw


# =========================================================================== the fake


class FakeLinear(LocalHTTPServer):
    """A stateful fake of Linear's GraphQL API on 127.0.0.1 (see the module docstring for what it serves).

    It starts with one workspace (``workspace_slug``) and one user, ``alice``, whose API key is
    :data:`DEFAULT_API_KEY`. Tests create teams, states, labels, users and issues with the helpers, act as
    humans with :meth:`move_issue`, read what a client did with :meth:`comments` and :attr:`requests`, and
    inject failures with :meth:`fail_next` and :attr:`latency`.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        workspace_slug: The workspace's URL key (``https://linear.app/<slug>/issue/...``).
        latency: Seconds added to every request (outside the state lock, so requests overlap).
    """

    def __init__(self, *, workspace_slug: str = "acme", latency: float = 0.0) -> None:
        super().__init__()
        self.workspace_slug = workspace_slug
        self.latency = latency
        self._lock = threading.RLock()
        self._users: dict[str, FakeUser] = {}
        self._keys: dict[str, str] = {}
        self._teams: dict[str, FakeTeam] = {}
        self._states: dict[str, FakeState] = {}
        self._labels: dict[str, FakeLabel] = {}
        self._issues: dict[str, FakeIssue] = {}
        self._comments: list[FakeComment] = []
        self._faults: list[_Fault] = []
        self._log: list[LinearRequest] = []
        self._sync_id = 1000
        self.default_user = self.add_user("alice", name="Alice Example", email="alice@example.test")
        self.default_api_key = DEFAULT_API_KEY
        self.add_api_key(DEFAULT_API_KEY, self.default_user)

    # ================================================================== lifecycle

    _thread_name = "fake-linear"
    _poll_interval = 0.01
    _join_timeout = 10.0
    _not_started_message = "the fake Linear is not started; call start() or use it as a context manager"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    def stop(self) -> None:
        """Stop serving."""
        self.close()

    @property
    def url(self) -> str:
        """The GraphQL endpoint (``http://127.0.0.1:<port>/graphql``): a client's ``base_url``."""
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def lock(self) -> threading.RLock:
        """The lock guarding the state (held while a request runs)."""
        return self._lock

    # ================================================================== users and keys

    def add_user(self, display_name: str, *, name: str | None = None, email: str | None = None) -> FakeUser:
        """Add a user of the workspace."""
        with self._lock:
            user = FakeUser(
                name=name or display_name.title(),
                display_name=display_name,
                email=email or f"{display_name.lower()}@example.test",
            )
            self._users[user.id] = user
            return user

    def add_api_key(self, key: str, user: FakeUser | str) -> None:
        """Let ``key`` authenticate as ``user`` (a user or a display name)."""
        with self._lock:
            self._keys[key] = self._user(user).id

    def revoke_api_key(self, key: str) -> None:
        """Make ``key`` unknown (requests with it get ``AUTHENTICATION_ERROR``)."""
        with self._lock:
            self._keys.pop(key, None)

    def user(self, display_name: str) -> FakeUser:
        """The user with that display name.

        Raises:
            KeyError: when there is none.
        """
        return self._user(display_name)

    # ================================================================== teams, states, labels

    def create_team(
        self, key: str, name: str | None = None, *, states: Sequence[tuple[str, str]] = DEFAULT_STATES
    ) -> FakeTeam:
        """Add a team with ``states`` ((name, type) pairs in position order; Linear's defaults unless given)."""
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,6}", key):
            raise ValueError(f"team key {key!r}: Linear keys are 1-7 upper-case letters and digits")
        with self._lock:
            if any(t.key == key for t in self._teams.values()):
                raise ValueError(f"a team with key {key!r} exists")
            team = FakeTeam(key=key, name=name or key.title())
            self._teams[team.id] = team
            for position, (state_name, state_type) in enumerate(states):
                self.add_state(team, state_name, state_type, position=float(position))
            return team

    def team(self, key_or_id: str) -> FakeTeam:
        """A team by key or id.

        Raises:
            KeyError: when there is none.
        """
        return self._team(key_or_id)

    def add_state(self, team: FakeTeam | str, name: str, type: str, *, position: float | None = None) -> FakeState:
        """Add a workflow state (``type``: triage, backlog, unstarted, started, completed or canceled)."""
        if type not in STATE_TYPES:
            raise ValueError(f"state type {type!r}: use one of {', '.join(sorted(STATE_TYPES))}")
        with self._lock:
            owner = self._team(team)
            if position is None:
                position = max((s.position for s in self._states.values() if s.team_id == owner.id), default=-1) + 1
            state = FakeState(name=name, type=type, position=position, team_id=owner.id)
            self._states[state.id] = state
            return state

    def states(self, team: FakeTeam | str) -> list[FakeState]:
        """A team's workflow states in position order."""
        with self._lock:
            owner = self._team(team)
            return sorted((s for s in self._states.values() if s.team_id == owner.id), key=lambda s: s.position)

    def remove_state(self, team: FakeTeam | str, name: str) -> None:
        """Remove a team's workflow state (no issue may be in it)."""
        with self._lock:
            state = self._state(self._team(team), name)
            if any(i.state_id == state.id for i in self._issues.values()):
                raise ValueError(f"issues are in state {name!r}")
            del self._states[state.id]

    def create_label(self, name: str, *, team: FakeTeam | str | None = None, color: str = "#bec2c8") -> FakeLabel:
        """Add a label to a team, or to the whole workspace when ``team`` is ``None``."""
        with self._lock:
            team_id = self._team(team).id if team is not None else None
            label = FakeLabel(name=name, team_id=team_id, color=color)
            self._labels[label.id] = label
            return label

    def label(self, name: str, *, team: FakeTeam | str | None = None) -> FakeLabel:
        """A label by name (case-insensitive): the team's when ``team`` is given (else a workspace label).

        Raises:
            KeyError: when there is none.
        """
        with self._lock:
            if team is not None:
                found = self._find_label(self._team(team), name)
            else:
                found = next(
                    (x for x in self._labels.values() if x.team_id is None and x.name.lower() == name.lower()), None
                )
            if found is None:
                raise KeyError(f"no label {name!r}")
            return found

    # ================================================================== issues

    def create_issue(
        self,
        team: FakeTeam | str,
        title: str,
        *,
        description: str | None = None,
        state: str | None = None,
        labels: Iterable[str] = (),
        assignee: FakeUser | str | None = None,
        priority: int = 0,
        number: int | None = None,
        creator: FakeUser | str | None = None,
    ) -> FakeIssue:
        """Add an issue, as a human would in Linear's UI.

        Args:
            team: The team (object, key or id).
            title: The title.
            description: Markdown body (``None``: none).
            state: A state name or type of the team (default: its first backlog, else unstarted, state).
            labels: Label names (of the team or the workspace; a missing one is created on the team).
            assignee: A user or display name.
            priority: 0 (none) to 4 (low).
            number: The issue number (default: the team's next); later issues continue after it.
            creator: Who created it (default: the default user).
        """
        with self._lock:
            owner = self._team(team)
            label_ids = []
            for label_name in labels:
                label = self._find_label(owner, label_name) or self.create_label(label_name, team=owner)
                label_ids.append(label.id)
            if number is not None:
                identifier = f"{owner.key}-{number}"
                if any(i.identifier == identifier for i in self._issues.values()):
                    raise ValueError(f"issue {identifier} exists")
            return self._add_issue(
                owner,
                title,
                description=description,
                state=self._state(owner, state) if state is not None else self._default_state(owner),
                label_ids=label_ids,
                assignee_id=self._user(assignee).id if assignee is not None else None,
                priority=priority,
                creator=self._user(creator) if creator is not None else self.default_user,
                number=number,
            )

    def issue(self, identifier_or_id: str) -> FakeIssue:
        """An issue by identifier (``INT-100``) or id (the stored object: changing it changes the fake).

        Raises:
            KeyError: when there is none.
        """
        issue = self.find_issue(identifier_or_id)
        if issue is None:
            raise KeyError(identifier_or_id)
        return issue

    def find_issue(self, identifier_or_id: str) -> FakeIssue | None:
        """An issue by identifier (case-insensitive) or id, or ``None``."""
        with self._lock:
            if identifier_or_id in self._issues:
                return self._issues[identifier_or_id]
            wanted = identifier_or_id.upper()
            return next((i for i in self._issues.values() if i.identifier == wanted), None)

    def move_issue(self, identifier: str, state: str) -> None:
        """Move an issue to one of its team's states (by name, or by type: the first state of that type)."""
        with self._lock:
            issue = self.issue(identifier)
            issue.state_id = self._state(self._teams[issue.team_id], state).id
            issue.updated_at = _now()

    def state_of(self, identifier: str) -> FakeState:
        """The issue's current workflow state."""
        with self._lock:
            return self._states[self.issue(identifier).state_id]

    def labels_of(self, identifier: str) -> list[str]:
        """The names of the issue's labels."""
        with self._lock:
            return [self._labels[i].name for i in self.issue(identifier).label_ids]

    def assignee_of(self, identifier: str) -> FakeUser | None:
        """The issue's assignee."""
        with self._lock:
            assignee_id = self.issue(identifier).assignee_id
            return self._users[assignee_id] if assignee_id else None

    def comments(self, identifier: str) -> list[str]:
        """The bodies of the issue's comments, oldest first."""
        with self._lock:
            issue = self.issue(identifier)
            return [c.body for c in self._comments if c.issue_id == issue.id]

    def issue_url(self, issue: FakeIssue) -> str:
        """The issue's web URL, as Linear gives it: ``https://linear.app/<slug>/issue/<ID>/<title slug>``."""
        return f"https://linear.app/{self.workspace_slug}/issue/{issue.identifier}/{slugify(issue.title)}"

    def comment_url(self, comment: FakeComment) -> str:
        """The comment's web URL."""
        issue = self._issues[comment.issue_id]
        return f"{self.issue_url(issue)}#comment-{comment.id[:8]}"

    def branch_name(self, issue: FakeIssue, viewer: FakeUser | None = None) -> str:
        """Linear's branch name for the issue as ``viewer`` sees it: ``alice/int-100-fix-login-timeout``."""
        user = viewer or self.default_user
        team = self._teams[issue.team_id]
        return f"{slugify(user.display_name)}/{team.key.lower()}-{issue.number}-{slugify(issue.title)}"

    # ================================================================== requests and faults

    @property
    def requests(self) -> list[LinearRequest]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def requests_for(self, root_field: str) -> list[LinearRequest]:
        """The requests whose operation selects ``root_field`` (``issue``, ``issueUpdate``...)."""
        return [r for r in self.requests if root_field in r.fields]

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._log.clear()

    def fail_next(
        self,
        status: int = 500,
        *,
        count: int = 1,
        message: str = "Internal server error",
        code: str = "INTERNAL_SERVER_ERROR",
        type: str = "internal error",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests with HTTP ``status`` and one GraphQL error.

        ``fail_next(400, code="RATELIMITED", type="ratelimited", message="Rate limit exceeded",
        headers={"X-RateLimit-Requests-Reset": ...})`` models Linear's rate limiting.
        """
        with self._lock:
            self._faults.append(_Fault(status, count, message, code, type, dict(headers or {})))

    # ================================================================== the API

    def handle(self, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one ``POST /graphql``: (status, JSON body, extra headers). Records the request."""
        operation: Operation | None = None
        variables: dict[str, Any] = {}
        user: FakeUser | None = None
        status = 500
        answer: dict[str, Any] = {}
        headers: dict[str, str] = {}
        try:
            with self._lock:
                fault = self._take_fault()
                if fault is not None:
                    error = _GraphQLError(fault.message, type=fault.type, code=fault.code, status=fault.status)
                    raise _FaultAnswer(error, fault.headers)
                user = self._authenticate(authorization)
                operation, variables = self._parse_request(body)
                values = _validate(operation, variables)
                data = _Exec(self, user, values).run(operation)
            status, answer = 200, {"data": data}
        except _FaultAnswer as exc:
            status, answer, headers = exc.error.status, {"errors": [exc.error.to_json()]}, exc.headers
        except _GraphQLError as exc:
            status = exc.status
            answer = {"errors": [exc.to_json()]}
            if status == 200:
                answer["data"] = None  # a resolver error on a non-null root field nulls the whole answer
        except Exception as exc:  # a bug in the fake: answer 500 and say so, rather than drop the connection
            error = _GraphQLError(f"fake Linear crashed: {type(exc).__name__}: {exc}", code="FAKE_BUG", status=500)
            status, answer = 500, {"errors": [error.to_json()]}
        record = LinearRequest(
            operation=operation.name if operation else None,
            kind=operation.kind if operation else None,
            fields=tuple(node.name for node in operation.selections) if operation else (),
            variables=variables,
            status=status,
            user=user.display_name if user else None,
            error_codes=tuple(e["extensions"]["code"] for e in answer.get("errors", [])),
        )
        with self._lock:
            self._log.append(record)
        return status, answer, headers

    # ================================================================== internals

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self._faults.pop(0)
        return fault

    def _authenticate(self, authorization: str | None) -> FakeUser:
        if not authorization or authorization not in self._keys:
            raise _auth_error()
        return self._users[self._keys[authorization]]

    @staticmethod
    def _parse_request(body: bytes) -> tuple[Operation, dict[str, Any]]:
        try:
            payload = json.loads(body or b"null")
        except ValueError as exc:
            raise _GraphQLError("POST body is not valid JSON", code="BAD_REQUEST") from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise _GraphQLError('POST body must be a JSON object with a "query" string', code="BAD_REQUEST")
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            raise _GraphQLError('"variables" must be a JSON object', code="BAD_REQUEST")
        operations = parse(payload["query"])
        wanted = payload.get("operationName")
        if wanted is not None:
            chosen = [op for op in operations if op.name == wanted]
            if not chosen:
                raise _invalid(f'Unknown operation named "{wanted}".')
            return chosen[0], variables
        if len(operations) > 1:
            raise _invalid("Must provide operation name if query contains multiple operations.")
        return operations[0], variables

    def _sync(self) -> float:
        self._sync_id += 1
        return float(self._sync_id)

    def _user(self, user: FakeUser | str) -> FakeUser:
        if isinstance(user, FakeUser):
            return self._users[user.id]
        found = next((u for u in self._users.values() if user in (u.display_name, u.id, u.email)), None)
        if found is None:
            raise KeyError(f"no user {user!r}")
        return found

    def _team(self, team: FakeTeam | str) -> FakeTeam:
        if isinstance(team, FakeTeam):
            return self._teams[team.id]
        found = self._teams.get(team) or next((t for t in self._teams.values() if t.key == team.upper()), None)
        if found is None:
            raise KeyError(f"no team {team!r}")
        return found

    def _state(self, team: FakeTeam, name_or_type: str) -> FakeState:
        states = sorted((s for s in self._states.values() if s.team_id == team.id), key=lambda s: s.position)
        for state in states:
            if state.name.lower() == name_or_type.lower():
                return state
        for state in states:
            if state.type == name_or_type:
                return state
        raise KeyError(f"team {team.key} has no state named or typed {name_or_type!r}")

    def _default_state(self, team: FakeTeam) -> FakeState:
        for wanted in ("backlog", "unstarted", "triage"):
            try:
                return self._state(team, wanted)
            except KeyError:
                continue
        raise KeyError(f"team {team.key} has no backlog or unstarted state")

    def _find_label(self, team: FakeTeam, name: str) -> FakeLabel | None:
        """The team's label of that name, else the workspace's."""
        matches = [x for x in self._labels.values() if x.name.lower() == name.lower() and x.team_id in (None, team.id)]
        matches.sort(key=lambda x: x.team_id is None)
        return matches[0] if matches else None

    def _add_issue(
        self,
        team: FakeTeam,
        title: str,
        *,
        description: str | None,
        state: FakeState,
        label_ids: list[str],
        assignee_id: str | None,
        priority: int,
        creator: FakeUser,
        number: int | None = None,
    ) -> FakeIssue:
        if number is None:
            number = team.last_number + 1
        team.last_number = max(team.last_number, number)
        issue = FakeIssue(
            team_id=team.id,
            number=number,
            identifier=f"{team.key}-{number}",
            title=title,
            description=description,
            priority=_check_priority(priority),
            state_id=state.id,
            creator_id=creator.id,
            label_ids=list(label_ids),
            assignee_id=assignee_id,
        )
        self._issues[issue.id] = issue
        return issue


class _FaultAnswer(Exception):
    def __init__(self, error: _GraphQLError, headers: dict[str, str]) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers


def _make_handler(fake: FakeLinear) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait for the ACK
        server_version = "FakeLinear/1.0"
        error_content_type = "application/json"
        allowed: ClassVar[tuple[str, ...]] = ("/graphql", "/graphql/")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.split("?", 1)[0] not in self.allowed:
                self._send(404, {"errors": [{"message": f"Cannot POST {self.path}"}]})
                return
            content_type = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
            if content_type != "application/json":
                error = _GraphQLError("Content-Type must be application/json", code="BAD_REQUEST")
                self._send(400, {"errors": [error.to_json()]})
                return
            if fake.latency:
                time.sleep(fake.latency)
            status, answer, headers = fake.handle(body, self.headers.get("Authorization"))
            self._send(status, answer, headers)

        def do_GET(self) -> None:
            self._send(405, {"errors": [{"message": "use POST /graphql"}]}, {"Allow": "POST"})

        def _send(self, status: int, answer: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

    return Handler
