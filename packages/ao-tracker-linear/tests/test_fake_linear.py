"""The fake Linear itself: it answers the subset it implements like Linear and refuses everything else.

(These live here, next to the plugin that needs the fake, because the fake's module is owned with it.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ao_testing.fakes.linear import FakeLinear, parse, slugify


@pytest.fixture
def client(linear: FakeLinear) -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": linear.default_api_key}, timeout=10) as http:
        yield http


def post(client: httpx.Client, linear: FakeLinear, query: str, **variables: Any) -> tuple[int, dict[str, Any]]:
    response = client.post(linear.url, json={"query": query, "variables": variables})
    return response.status_code, response.json()


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    (error,) = body["errors"]
    assert isinstance(error, dict)
    return error


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ('{ issue(id: "INT-100") { id nope } }', 'Cannot query field "nope" on type "Issue".'),
        ('{ issue(id: "INT-100") { id state { id kind } } }', 'Cannot query field "kind" on type "WorkflowState".'),
        ('{ issue(id: "INT-100", team: "x") { id } }', 'Unknown argument "team" on field "Query.issue".'),
        ("{ issue { id } }", 'argument "id" of type "String!" is required'),
        ('{ issue(id: "INT-100") }', "must have a selection of subfields"),
        ('{ issue(id: "INT-100") { title { x } } }', "must not have a selection"),
        ("{ project { id } }", 'Cannot query field "project" on type "Query".'),
        ('{ issue(id: "INT-100") { ...IssueFields } }', "fragments are not supported"),
        ('{ issue(id: "INT-100") { id @include(if: true) } }', "directives are not supported"),
        ("fragment F on Issue { id }", "fragments are not supported"),
        ("subscription { issue { id } }", "subscriptions are not supported"),
        ('{ issue(id: "INT-100") { id }', "Syntax Error"),
        ("query Q($id: String!) { issue(id: $other) { id } }", 'Variable "$other" is not defined.'),
        ("query Q($id: String!, $x: Int) { issue(id: $id) { id } }", 'Variable "$x" is never used'),
        ("query Q($id: Int!) { issue(id: $id) { id } }", 'used in position expecting type "String!"'),
        (
            "query Q($id: String!) { issue(id: $id) { id } }",
            'Variable "$id" of required type "String!" was not provided.',
        ),
        (
            '{ issues(filter: { flavour: { eq: "x" } }) { nodes { id } } }',
            'Field "flavour" is not defined by type "IssueFilter".',
        ),
        (
            '{ issues(filter: { title: { like: "x" } }) { nodes { id } } }',
            'Field "like" is not defined by type "StringComparator".',
        ),
        (
            '{ issues(filter: { state: { kind: { eq: "x" } } }) { nodes { id } } }',
            'Field "kind" is not defined by type "WorkflowStateFilter".',
        ),
        ('{ issues(first: "ten") { nodes { id } } }', "Int cannot represent"),
    ],
)
def test_queries_outside_the_subset_are_refused(
    client: httpx.Client, linear: FakeLinear, query: str, message: str
) -> None:
    status, body = post(client, linear, query)
    assert status == 400
    error = only_error(body)
    assert message in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in body


def test_an_unknown_input_field_is_refused_before_anything_changes(client: httpx.Client, linear: FakeLinear) -> None:
    query = 'mutation M($input: IssueUpdateInput!) { issueUpdate(id: "INT-100", input: $input) { success } }'
    before = linear.state_of("INT-100").name
    status, body = post(client, linear, query, input={"stateId": linear.states("INT")[-1].id, "estimate": 3})
    assert status == 400
    assert 'Field "estimate" is not defined by type "IssueUpdateInput"' in only_error(body)["message"]
    assert linear.state_of("INT-100").name == before


def test_a_refused_mutation_changes_nothing(client: httpx.Client, linear: FakeLinear) -> None:
    other_team_state = linear.states("ENG")[0].id
    query = 'mutation M($input: IssueUpdateInput!) { issueUpdate(id: "INT-100", input: $input) { success } }'
    status, body = post(client, linear, query, input={"title": "Renamed", "stateId": other_team_state})
    assert status == 200
    assert only_error(body)["message"] == "Entity not found: WorkflowState"
    assert body["data"] is None
    assert linear.issue("INT-100").title == "Fix login timeout"


def test_entity_not_found_looks_like_linears(client: httpx.Client, linear: FakeLinear) -> None:
    status, body = post(client, linear, 'query Q { issue(id: "INT-404") { id } }')
    assert status == 200
    assert body["data"] is None
    error = only_error(body)
    assert error["message"] == "Entity not found: Issue"
    assert error["path"] == ["issue"]
    assert error["extensions"]["code"] == "INPUT_ERROR"
    assert error["extensions"]["type"] == "invalid input"
    assert error["extensions"]["userPresentableMessage"] == "Could not find referenced Issue."


@pytest.mark.parametrize("header", [None, "", "wrong", "Bearer lin_api_fake_0123456789abcdef"])
def test_authentication(linear: FakeLinear, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = httpx.post(linear.url, json={"query": "{ viewer { id } }"}, headers=headers, timeout=10)
    assert response.status_code == 401
    error = only_error(response.json())
    assert error["extensions"]["code"] == "AUTHENTICATION_ERROR"
    assert error["extensions"]["type"] == "authentication error"
    assert linear.requests[-1].user is None


def test_transport_errors(client: httpx.Client, linear: FakeLinear) -> None:
    assert client.get(linear.url).status_code == 405
    assert client.post(linear.url.replace("/graphql", "/other"), json={"query": "{ viewer { id } }"}).status_code == 404
    assert client.post(linear.url, content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
    assert client.post(linear.url, content=b"query", headers={"Content-Type": "text/plain"}).status_code == 400
    assert client.post(linear.url, json={"variables": {}}).status_code == 400


def test_aliases_typename_literals_and_operation_choice(client: httpx.Client, linear: FakeLinear) -> None:
    document = """
    # two operations; operationName picks one
    query Skip { viewer { id } }
    query Pick($n: Float = 100, $teams: [String!] = ["INT"]) {
      a: issues(filter: { number: { eq: $n }, team: { key: { in: $teams } } }, first: 5) {
        __typename
        nodes { key: identifier prio: priorityLabel state { type } }
      }
      me: viewer { displayName }
    }
    """
    response = client.post(linear.url, json={"query": document, "operationName": "Pick"})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data == {
        "a": {
            "__typename": "IssueConnection",
            "nodes": [{"key": "INT-100", "prio": "High", "state": {"type": "backlog"}}],
        },
        "me": {"displayName": "alice"},
    }
    assert linear.requests[-1].operation == "Pick"
    status, body = post(client, linear, document)
    assert status == 400
    assert "Must provide operation name" in only_error(body)["message"]


def test_filters_and_pages(client: httpx.Client, linear: FakeLinear) -> None:
    query = """
    query Q($filter: IssueFilter, $first: Int, $after: String) {
      issues(filter: $filter, first: $first, after: $after) { nodes { identifier } pageInfo { hasNextPage endCursor } }
    }
    """

    def ids(**variables: Any) -> list[str]:
        status, body = post(client, linear, query, **variables)
        assert status == 200, body
        return [n["identifier"] for n in body["data"]["issues"]["nodes"]]

    assert ids(filter={"state": {"type": {"in": ["completed", "canceled"]}}}) == ["INT-103", "INT-102"]
    assert ids(filter={"labels": {"name": {"eq": "backend"}}}) == ["INT-100"]
    assert ids(filter={"labels": {"every": {"name": {"eq": "frontend"}}}, "team": {"key": {"eq": "ENG"}}}) == ["ENG-1"]
    assert ids(filter={"assignee": {"null": False}}) == ["INT-100"]
    assert ids(
        filter={
            "or": [{"number": {"gte": 102}}, {"title": {"containsIgnoreCase": "LOGIN"}}],
            "team": {"key": {"eq": "INT"}},
        }
    ) == [
        "INT-103",
        "INT-102",
        "INT-100",
    ]
    first = post(client, linear, query, first=2)[1]["data"]["issues"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = post(client, linear, query, first=10, after=first["pageInfo"]["endCursor"])[1]["data"]["issues"]
    assert len(first["nodes"]) + len(rest["nodes"]) == 5
    assert rest["pageInfo"]["hasNextPage"] is False
    status, body = post(client, linear, query, first=251)
    assert (status, only_error(body)["extensions"]["code"]) == (200, "INPUT_ERROR")


def test_mutations_create_update_and_comment(client: httpx.Client, linear: FakeLinear) -> None:
    fields = "success issue { identifier branchName }"
    create = f"mutation C($input: IssueCreateInput!) {{ issueCreate(input: $input) {{ {fields} }} }}"
    status, body = post(client, linear, create, input={"teamId": linear.team("INT").id, "title": "Brand new"})
    assert status == 200, body
    assert body["data"]["issueCreate"] == {
        "success": True,
        "issue": {"identifier": "INT-104", "branchName": "alice/int-104-brand-new"},
    }
    status, body = post(client, linear, create, input={"teamId": "INT", "title": "By key"})  # teamId is a UUID
    assert only_error(body)["message"] == "Entity not found: Team"
    comment = (
        "mutation K($input: CommentCreateInput!) { commentCreate(input: $input) { success comment { body url } } }"
    )
    status, body = post(client, linear, comment, input={"issueId": linear.issue("INT-104").id, "body": "Hi"})
    assert body["data"]["commentCreate"]["comment"]["body"] == "Hi"
    assert linear.comments("INT-104") == ["Hi"]
    update = (
        "mutation U($id: String!, $input: IssueUpdateInput!) "
        "{ issueUpdate(id: $id, input: $input) { success issue { labels { nodes { name } } } } }"
    )
    bug = linear.label("bug", team="INT")
    status, body = post(client, linear, update, id="INT-104", input={"addedLabelIds": [bug.id]})
    assert body["data"]["issueUpdate"]["issue"]["labels"]["nodes"] == [{"name": "bug"}]
    frontend = linear.label("frontend", team="ENG")
    status, body = post(client, linear, update, id="INT-104", input={"labelIds": [frontend.id]})  # ENG's label
    assert only_error(body)["message"] == "Entity not found: IssueLabel"


def test_injected_faults(client: httpx.Client, linear: FakeLinear) -> None:
    linear.fail_next(503, count=2, code="SERVICE_UNAVAILABLE", headers={"Retry-After": "1"})
    first = client.post(linear.url, json={"query": "{ viewer { id } }"})
    second = client.post(linear.url, json={"query": "{ viewer { id } }"})
    third = client.post(linear.url, json={"query": "{ viewer { id } }"})
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.headers["Retry-After"] == "1"
    assert [r.error_codes for r in linear.requests] == [("SERVICE_UNAVAILABLE",), ("SERVICE_UNAVAILABLE",), ()]


def test_parser_literals() -> None:
    (operation,) = parse(
        'query Q($a: [Int!]! = [1, 2]) { issues(filter: {title: {in: ["x", """  block\n  text  """]}, '
        "priority: {gt: -1.5e0}}, first: 3) { nodes { id } } }"
    )
    assert operation.name == "Q"
    assert operation.variables[0].type == "[Int!]!"
    assert operation.variables[0].default == [1, 2]
    (field,) = operation.selections
    assert field.arguments["filter"] == {"title": {"in": ["x", "block\ntext  "]}, "priority": {"gt": -1.5}}
    assert field.arguments["first"] == 3


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Fix login timeout", "fix-login-timeout"),
        ("Ünïcödé ✓ & stuff!!", "unicode-stuff"),
        ("a" * 70, "a" * 60),
        ("word " * 20, "word-word-word-word-word-word-word-word-word-word-word-word"),
    ],
)
def test_slugify(title: str, slug: str) -> None:
    assert slugify(title) == slug
