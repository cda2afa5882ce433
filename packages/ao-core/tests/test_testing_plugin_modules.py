from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest
from ao_core.interfaces import SCM, Agent, Notifier, PluginModule, Runtime, Terminal, Tracker, Workspace
from ao_core.models import PluginSlot
from ao_core.testing import (
    FakeAgent,
    FakeRuntime,
    FakeSCM,
    FakeTerminal,
    FakeTracker,
    FakeWorkspace,
    RecordingNotifier,
)
from ao_core.testing.plugins import (
    PLUGIN_FILES,
    agent_fake,
    notifier_fake,
    runtime_fake,
    scm_fake,
    terminal_fake,
    tracker_fake,
    workspace_fake,
)

# Static conformance: mypy checks that each module is a plugin module of its slot.
_runtime: PluginModule[Runtime] = runtime_fake
_agent: PluginModule[Agent] = agent_fake
_workspace: PluginModule[Workspace] = workspace_fake
_tracker: PluginModule[Tracker] = tracker_fake
_scm: PluginModule[SCM] = scm_fake
_notifier: PluginModule[Notifier] = notifier_fake
_terminal: PluginModule[Terminal] = terminal_fake

EXPECTED: dict[str, type[Any]] = {
    "runtime": FakeRuntime,
    "agent": FakeAgent,
    "workspace": FakeWorkspace,
    "tracker": FakeTracker,
    "scm": FakeSCM,
    "notifier": RecordingNotifier,
    "terminal": FakeTerminal,
}


def _load_by_path(slot: str) -> ModuleType:
    """Load a plugin file the way a local-path plugin is loaded: by file, under a name of its own."""
    spec = importlib.util.spec_from_file_location(f"ao_local_plugin_{slot}", PLUGIN_FILES[slot])
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("slot", list(EXPECTED))
def test_plugin_file_loads_by_path(slot: str) -> None:
    module = _load_by_path(slot)
    assert module.manifest.slot is PluginSlot(slot)
    assert module.manifest.name == "fake"
    plugin = module.create()
    assert isinstance(plugin, EXPECTED[slot])
    assert plugin.name == "fake"
    assert isinstance(module.create(None), EXPECTED[slot])


def test_every_slot_has_a_plugin_file() -> None:
    assert set(PLUGIN_FILES) == {slot.value for slot in PluginSlot}
    assert all(path.is_file() for path in PLUGIN_FILES.values())


def test_configs_use_camel_case_and_refuse_unknown_keys() -> None:
    config = scm_fake.FakeSCMConfig.model_validate({"webhookSecret": "s", "owner": "o"})
    scm = scm_fake.create(config)
    assert isinstance(scm, FakeSCM)
    assert (scm.webhook_secret, scm.owner) == ("s", "o")
    with pytest.raises(ValueError, match="webhookSecrt"):
        scm_fake.FakeSCMConfig.model_validate({"webhookSecrt": "s"})
    agent = agent_fake.create(agent_fake.FakeAgentConfig.model_validate({"promptDelivery": "post-launch"}))
    assert agent.prompt_delivery.value == "post-launch"


@pytest.mark.anyio
async def test_configured_fakes_behave(tmp_path: object) -> None:
    from ao_core.errors import NotifyError
    from ao_core.testing import make_event

    notifier = notifier_fake.create(notifier_fake.RecordingNotifierConfig(fail_with="down"))
    with pytest.raises(NotifyError, match="down"):
        await notifier.notify(make_event())
    tracker = tracker_fake.create(
        tracker_fake.FakeTrackerConfig.model_validate(
            {"issues": [{"id": "1", "title": "T", "url": "https://t.test/1"}]}
        )
    )
    from ao_core.config import ProjectConfig

    assert (await tracker.get_issue("1", ProjectConfig(path="/r"))).title == "T"
    workspace = workspace_fake.create(workspace_fake.FakeWorkspaceConfig(base_dir=str(tmp_path)))
    assert isinstance(workspace, FakeWorkspace)
    assert str(workspace.base_dir) == str(tmp_path)
    assert runtime_fake.create(runtime_fake.FakeRuntimeConfig(fail_create=True)).name == "fake"


def test_the_registry_loads_every_fake_as_a_local_path_plugin() -> None:
    from ao_core.config import PluginRef
    from ao_core.registry import Registry

    registry = Registry(local_paths=list(PLUGIN_FILES.values()), entry_points=lambda _group: [])
    for slot, cls in EXPECTED.items():
        assert isinstance(registry.create(slot, "fake"), cls), slot
    scm = registry.create("scm", PluginRef(plugin="fake", options={"webhookSecret": "s"}))
    assert isinstance(scm, FakeSCM)
    assert scm.webhook_secret == "s"
