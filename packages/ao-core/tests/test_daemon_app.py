"""The daemon's HTTP app (called through ASGI, no network), its lock, and its address checks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import anyio
import pytest
from ao_core.config import OrchestratorConfig
from ao_core.daemon import DaemonInfo, DaemonLock, build_app, check_listen_address, running_daemon
from ao_core.errors import AoError
from ao_core.lifecycle import LifecycleManager
from ao_core.models import RuntimeCreateConfig, Session, SessionStatus
from ao_core.registry import Registry
from ao_core.sessions import SessionManager
from ao_core.store import Store
from ao_core.testing import FakeRuntime, FakeSCM, wait_until
from ao_core.testing.plugins import PLUGIN_FILES

SECRET = "s3cret"
DATA = Path(__file__).parent / "data" / "lifecycle"


@dataclass
class App:
    lifecycle: LifecycleManager
    store: Store
    manager: SessionManager

    @property
    def scm(self) -> FakeSCM:
        return cast(FakeSCM, self.manager.scm_for("app"))

    @property
    def runtime(self) -> FakeRuntime:
        return cast(FakeRuntime, self.manager.runtime_for("app"))


def make_app(tmp_path: Path, *, scm: dict[str, Any] | None = None) -> Iterator[App]:
    config = OrchestratorConfig.model_validate(
        {
            "pollIntervalMs": 1000,
            "defaults": {"runtime": "fake", "agent": "fake", "workspace": "fake"},
            "projects": {
                "app": {
                    "path": str(tmp_path),
                    "repo": "acme/app",
                    "scm": scm if scm is not None else {"plugin": "fake", "webhookSecret": SECRET},
                }
            },
        }
    )
    registry = Registry(local_paths=[*PLUGIN_FILES.values(), DATA / "plain_scm.py"])
    store = Store(tmp_path / "ao.db")
    manager = SessionManager(config, registry, store, state_dir=tmp_path)
    try:
        yield App(LifecycleManager(config, registry, store, manager, send_ready_wait_s=0), store, manager)
    finally:
        store.close()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    yield from make_app(tmp_path)


async def call(
    asgi: Any, method: str, path: str, *, headers: Sequence[tuple[str, str]] = (), body: bytes = b""
) -> tuple[int, Any]:
    """One HTTP request through the ASGI interface; returns the status and the decoded JSON body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 3000),
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload)


def signed(
    payload: dict[str, Any], event: str = "pull_request", secret: str = SECRET
) -> tuple[list[tuple[str, str]], bytes]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = [("content-type", "application/json"), ("x-github-event", event), ("x-hub-signature-256", signature)]
    return headers, body


async def add_session(app: App, session_id: str, branch: str) -> Session:
    handle = await app.runtime.create(
        RuntimeCreateConfig(session_id=session_id, workspace_path="/tmp", launch_command="fake-agent")
    )
    session = Session(
        id=session_id,
        project_id="app",
        status=SessionStatus.WORKING,
        branch=branch,
        runtime_handle=handle,
        agent="fake",
    )
    app.store.save_session(session)
    return session


@pytest.mark.anyio
async def test_health_reports_polls(app: App) -> None:
    asgi = build_app(app.lifecycle)
    status, body = await call(asgi, "GET", "/api/health")
    assert status == 200
    assert (body["ok"], body["polls"], body["last_poll"]) == (True, 0, None)
    await app.lifecycle.poll_once()
    _, body = await call(asgi, "GET", "/api/health")
    assert body["polls"] == 1
    assert body["last_poll"]["sessions_checked"] == 0


@pytest.mark.anyio
async def test_webhook_with_a_bad_signature_is_refused(app: App) -> None:
    await add_session(app, "app-1", "feat/one")
    headers, body = signed({"pull_request": {"number": 1}}, secret="wrong")
    status, answer = await call(build_app(app.lifecycle), "POST", "/api/webhooks/github", headers=headers, body=body)
    assert status == 401
    assert answer == {"error": "signature does not match the body"}


@pytest.mark.anyio
async def test_webhook_without_signature_is_refused(app: App) -> None:
    status, _ = await call(
        build_app(app.lifecycle), "POST", "/api/webhooks/github", headers=[("x-github-event", "push")], body=b"{}"
    )
    assert status == 401


@pytest.mark.anyio
async def test_oversized_webhook_is_refused_before_verification(app: App) -> None:
    headers, body = signed({"pull_request": {"number": 1}, "padding": "x" * 5000})
    status, answer = await call(
        build_app(app.lifecycle, max_webhook_bytes=1024), "POST", "/api/webhooks/github", headers=headers, body=body
    )
    assert status == 413
    assert "larger than 1024 bytes" in answer["error"]
    assert app.scm.calls["verify_webhook"] == 0


@pytest.mark.anyio
async def test_no_project_accepts_webhooks(tmp_path: Path) -> None:
    for app in make_app(tmp_path, scm={"plugin": "plain"}):
        headers, body = signed({})
        status, answer = await call(
            build_app(app.lifecycle), "POST", "/api/webhooks/github", headers=headers, body=body
        )
        assert status == 404
        assert "no configured project" in answer["error"]


@pytest.mark.anyio
@pytest.mark.timeout(30)
async def test_signed_webhook_checks_the_affected_session_at_once(app: App) -> None:
    await add_session(app, "app-1", "feat/one")
    await add_session(app, "app-2", "feat/two")
    pr = app.scm.open_pr("feat/one")
    app.scm.open_pr("feat/two")
    await app.lifecycle.poll_once()  # both PRs detected
    app.scm.add_pending_comment(pr, "Handle the empty list.", author="dana", path="core.py", line=8)

    headers, body = signed({"action": "submitted", "pull_request": {"number": pr.number, "head": {"ref": "feat/one"}}})
    asgi = build_app(app.lifecycle)
    stop = anyio.Event()
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(app.lifecycle.run, stop)
            await wait_until(lambda: app.lifecycle.polls >= 2, within=15)
            status, answer = await call(asgi, "POST", "/api/webhooks/github", headers=headers, body=body)
            assert (status, answer) == (202, {"accepted": True, "sessions": ["app-1"]})
            await wait_until(lambda: bool(app.runtime.sent_to("app-1")), within=15)
            stop.set()
    [message] = app.runtime.sent_to("app-1")
    assert 'core.py:8 (@dana): "Handle the empty list."' in message
    assert app.runtime.sent_to("app-2") == []


@pytest.mark.anyio
async def test_token_guards_everything_but_webhooks(app: App) -> None:
    await add_session(app, "app-1", "feat/one")
    asgi = build_app(app.lifecycle, token="t0ken")
    assert (await call(asgi, "GET", "/api/health"))[0] == 401
    assert (await call(asgi, "GET", "/api/health", headers=[("authorization", "Bearer nope")]))[0] == 401
    assert (await call(asgi, "GET", "/api/health", headers=[("authorization", "Bearer t0ken")]))[0] == 200
    headers, body = signed({"pull_request": {"number": 9}})
    assert (await call(asgi, "POST", "/api/webhooks/github", headers=headers, body=body))[0] == 202


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_needs_no_token(host: str) -> None:
    check_listen_address(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::"])
def test_beyond_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(AoError, match=r"refusing to listen on .* without a token"):
        check_listen_address(host, None)
    check_listen_address(host, "t0ken")


def test_one_daemon_per_state_directory(tmp_path: Path) -> None:
    first = DaemonLock(tmp_path)
    first.acquire()
    info = DaemonInfo(
        pid=4242, host="127.0.0.1", port=3999, started_at="now", log="daemon.log", state_dir=str(tmp_path)
    )
    info.write(tmp_path / "daemon.json")
    assert running_daemon(tmp_path) == info
    second = DaemonLock(tmp_path)
    with pytest.raises(AoError, match=r"already running .*pid 4242, http://127.0.0.1:3999"):
        second.acquire()
    first.release()
    # daemon.json is left behind (as after a SIGKILL): stale, not running.
    assert (tmp_path / "daemon.json").exists()
    assert running_daemon(tmp_path) is None
    second.acquire()
    second.release()
