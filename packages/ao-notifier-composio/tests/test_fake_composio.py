"""The fake Composio answers in the shapes of the SDK's own response types (the ground the other tests stand on)."""

from __future__ import annotations

import httpx
import pytest
from ao_testing.fakes.composio import FakeComposio
from composio_client.types.tool_execute_response import ToolExecuteResponse
from composio_client.types.tool_retrieve_response import ToolRetrieveResponse

pytestmark = pytest.mark.timeout(30)


def _client(fake: FakeComposio, key: str | None = None) -> httpx.Client:
    headers = {"x-api-key": key if key is not None else fake.api_key}
    return httpx.Client(base_url=fake.url, headers=headers, timeout=5, trust_env=False)


@pytest.mark.parametrize("slug", ["SLACK_SEND_MESSAGE", "DISCORDBOT_CREATE_MESSAGE", "GMAIL_SEND_EMAIL"])
def test_a_tools_schema_is_a_valid_tool_retrieve_response(fake_composio: FakeComposio, slug: str) -> None:
    with _client(fake_composio) as client:
        answer = client.get(f"/api/v3.1/tools/{slug}", params={"toolkit_versions": "latest"})

    assert answer.status_code == 200
    tool = ToolRetrieveResponse.model_validate(answer.json(), strict=True)
    assert tool.slug == slug
    assert tool.input_parameters["type"] == "object"


def test_an_execution_is_a_valid_tool_execute_response(fake_composio: FakeComposio) -> None:
    with _client(fake_composio) as client:
        answer = client.post(
            "/api/v3.1/tools/execute/SLACK_SEND_MESSAGE",
            json={"user_id": "default", "version": "latest", "arguments": {"channel": "C1", "text": "hi"}},
        )

    result = ToolExecuteResponse.model_validate(answer.json(), strict=True)
    assert (result.successful, result.error) == (True, None)
    assert result.data["ok"] is True


@pytest.mark.parametrize(
    ("key", "slug", "message"),
    [("", "Auth_ApiKeyMissing", "API key is missing"), ("ak_wrong", "Auth_InvalidApiKey", "Invalid API key")],
)
def test_a_missing_or_wrong_key_is_401_in_the_error_envelope(
    fake_composio: FakeComposio, key: str, slug: str, message: str
) -> None:
    with _client(fake_composio, key) as client:
        answer = client.get("/api/v3.1/tools/SLACK_SEND_MESSAGE")

    assert answer.status_code == 401
    error = answer.json()["error"]
    assert (error["slug"], error["message"], error["status"], error["code"]) == (slug, message, 401, 10401)
    assert isinstance(error["request_id"], str)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"arguments": {"text": "no channel"}}, "Missing required argument 'channel'"),
        ({"arguments": {"channel": "C1", "colour": "red"}}, "Unknown argument 'colour'"),
        ({"arguments": {"channel": 5}}, "Argument 'channel' must be of type string"),
        ({"arguments": {"channel": "C1"}, "text": "and text"}, "Only one of 'text' or 'arguments'"),
    ],
)
def test_invalid_arguments_are_400_with_the_problems(
    fake_composio: FakeComposio, body: dict[str, object], expected: str
) -> None:
    with _client(fake_composio) as client:
        answer = client.post("/api/v3.1/tools/execute/SLACK_SEND_MESSAGE", json=body)

    assert answer.status_code == 400
    assert any(expected in problem for problem in answer.json()["error"]["errors"])
    assert fake_composio.executions == []


def test_unknown_tools_and_routes_are_404(fake_composio: FakeComposio) -> None:
    with _client(fake_composio) as client:
        assert client.get("/api/v3.1/tools/NOPE_NOT_A_TOOL").status_code == 404
        assert client.get("/api/v3.1/connected_accounts").status_code == 404
