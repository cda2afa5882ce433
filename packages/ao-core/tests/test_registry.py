"""The plugin registry: sources, lazy loading, checks of plugin modules, options, conflicts, not-installed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import pytest
from ao_core.config import PluginRef, load_config
from ao_core.errors import ConfigError, PluginConflictError, PluginLoadError, PluginNotFoundError
from ao_core.interfaces import API_VERSION, SCM, Agent, Notifier, Runtime, Terminal, Tracker, Workspace
from ao_core.models import EventPriority, EventType, OrchestratorEvent, PluginSlot, Session
from ao_core.registry import BUILTIN_PLUGINS, BuiltinPlugin, Registry, entry_point_group

DATA = Path(__file__).parent / "data" / "plugins"
PROTOCOLS: dict[str, type] = {
    "runtime": Runtime,
    "agent": Agent,
    "workspace": Workspace,
    "tracker": Tracker,
    "scm": SCM,
    "notifier": Notifier,
    "terminal": Terminal,
}
EntryPoints = Callable[[str], Iterable[importlib.metadata.EntryPoint]]


def plugin_source(
    slot: str,
    name: str,
    *,
    manifest: str | None = None,
    create: str | None = None,
    before: str = "",
) -> str:
    """The text of a plugin module whose object has every member of the slot's Protocol."""
    members = sorted(m for m in vars(PROTOCOLS[slot]) if not m.startswith("_") and m != "name")
    methods = "".join(f"    def {member}(self, *args: object) -> None:\n        return None\n\n" for member in members)
    if manifest is None:
        manifest = f"PluginManifest(name={name!r}, slot=PluginSlot.{slot.upper()}, description='A {slot} named {name}')"
    if create is None:
        create = "def create(config: Options | None = None) -> Plugin:\n    return Plugin(config or Options())\n"
    return (
        textwrap.dedent(
            """\
            from __future__ import annotations

            from pydantic import BaseModel, ConfigDict
            from pydantic.alias_generators import to_camel

            from ao_core.interfaces import PluginManifest
            from ao_core.models import PluginSlot
            """
        )
        + before
        + f"\nmanifest = {manifest}\n\n"
        + textwrap.dedent(
            """\
            class Options(BaseModel):
                model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
                socket_name: str = "ao"
                retries: int = 0

            """
        )
        + f"class Plugin:\n    name = {name!r}\n\n    def __init__(self, options: Options) -> None:\n"
        + "        self.options = options\n\n"
        + methods
        + "\n"
        + create
    )


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path for importable test plugin modules."""
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def write_module(directory: Path, module: str, source: str) -> str:
    (directory / f"{module}.py").write_text(source)
    return module


def entry_points(*entries: tuple[str, str, str]) -> EntryPoints:
    """An entry-point source with (group, name, value) triples."""
    eps = [importlib.metadata.EntryPoint(name=name, value=value, group=group) for group, name, value in entries]

    def find(group: str) -> list[importlib.metadata.EntryPoint]:
        return [ep for ep in eps if ep.group == group]

    return find


def no_entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    return []


def loaded_from(path: Path) -> bool:
    return any(getattr(module, "__file__", None) == str(path) for module in list(sys.modules.values()))


def event(message: str = "CI is failing") -> OrchestratorEvent:
    return OrchestratorEvent(
        type=EventType.CI_FAILING, priority=EventPriority.WARNING, session_id="app-1", project_id="app", message=message
    )


# --------------------------------------------------------------------------- the first-party table


def test_builtin_table_names_every_first_party_plugin() -> None:
    expected = {
        "runtime": {"tmux", "process", "docker", "k8s"},
        "agent": {"claude-code", "codex", "aider", "opencode"},
        "workspace": {"worktree", "clone"},
        "tracker": {"github", "linear"},
        "scm": {"github"},
        "notifier": {"desktop", "slack", "webhook", "composio"},
        "terminal": {"iterm2", "web"},
    }
    found: dict[str, set[str]] = {}
    for slot, name in BUILTIN_PLUGINS:
        found.setdefault(slot.value, set()).add(name)
    assert found == expected
    assert BUILTIN_PLUGINS[(PluginSlot.AGENT, "claude-code")] == BuiltinPlugin(
        distribution="ao-agent-claude-code", module="ao_agent_claude_code"
    )
    assert BUILTIN_PLUGINS[(PluginSlot.RUNTIME, "docker")].distribution == "ao-runtime-docker"
    assert entry_point_group("runtime") == "ao.runtime"


@pytest.mark.parametrize(("slot", "name"), sorted(BUILTIN_PLUGINS))
def test_each_first_party_plugin_loads_or_says_what_to_install(slot: PluginSlot, name: str) -> None:
    builtin = BUILTIN_PLUGINS[(slot, name)]
    registry = Registry(entry_points=no_entry_points)
    if importlib.util.find_spec(builtin.module) is None:
        with pytest.raises(PluginNotFoundError, match=f"pip install {builtin.distribution}$"):
            registry.load(slot, name)
    else:
        loaded = registry.load(slot, name)
        assert (loaded.manifest.slot, loaded.manifest.name) == (slot, name)
        assert loaded.source == "built-in"


def test_first_party_plugin_not_installed_names_its_distribution() -> None:
    absent = replace(BUILTIN_PLUGINS[(PluginSlot.RUNTIME, "docker")], module=unique("ao_runtime_docker_absent"))
    registry = Registry(builtins={(PluginSlot.RUNTIME, "docker"): absent}, entry_points=no_entry_points)

    with pytest.raises(PluginNotFoundError) as caught:
        registry.load("runtime", "docker")

    assert caught.value.distribution == "ao-runtime-docker"
    assert "install it with: pip install ao-runtime-docker" in str(caught.value)
    [info] = registry.discover()
    assert (info.installed, info.source, info.error) == (False, "built-in", None)
    assert info.install_hint == "pip install ao-runtime-docker"


# --------------------------------------------------------------------------- local paths


def test_local_py_file_is_loaded_and_its_options_validated(tmp_path: Path) -> None:
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[DATA / "local_notifier.py"])
    out = tmp_path / "out.txt"

    loaded = registry.load("notifier", "local-file")
    notifier = registry.notifier(
        PluginRef(plugin="local-file", options={"outFile": str(out), "linePrefix": "> "}), key_path="notifiers.mine"
    )

    assert loaded.source == "local"
    assert loaded.origin == str((DATA / "local_notifier.py").resolve())
    assert loaded.config_model is not None
    assert loaded.config_model.__name__ == "LocalFileNotifierConfig"
    import anyio

    anyio.run(notifier.notify, event("the build broke"))
    assert out.read_text() == "> app-1: the build broke\n"


def test_local_package_directory_is_loaded_with_relative_imports() -> None:
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[DATA / "local_terminal_pkg"])

    terminal = registry.terminal(PluginRef(plugin="recorder", options={"windowLabel": "tab"}))

    import anyio

    anyio.run(terminal.open_all, [Session(id="app-1", project_id="app"), Session(id="app-2", project_id="app")])
    assert getattr(terminal, "opened", None) == ["tab:app-1", "tab:app-2"]
    assert registry.load("terminal", "recorder").source == "local"


def test_relative_local_paths_resolve_against_the_base_dir(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    shutil.copy(DATA / "local_notifier.py", tmp_path / "plugins" / "mine.py")

    registry = Registry(
        builtins={}, entry_points=no_entry_points, local_paths=[Path("plugins/mine.py")], base_dir=tmp_path
    )

    assert registry.load("notifier", "local-file").origin == str((tmp_path / "plugins" / "mine.py").resolve())


def test_invalid_option_is_a_config_error_with_the_key_path() -> None:
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[DATA / "local_notifier.py"])
    ref = PluginRef(plugin="local-file", options={"outFile": "/tmp/x", "linePrefix": "much too long a prefix"})

    with pytest.raises(ConfigError) as caught:
        registry.create("notifier", ref, key_path="notifiers.mine")

    assert caught.value.key_path == "notifiers.mine.linePrefix"
    assert "invalid option for notifier plugin 'local-file'" in caught.value.problem


def test_unknown_option_is_refused_and_named() -> None:
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[DATA / "local_terminal_pkg"])

    with pytest.raises(ConfigError) as caught:
        registry.create(
            "terminal", PluginRef(plugin="recorder", options={"windowLable": "x"}), key_path="defaults.terminal"
        )

    assert caught.value.key_path == "defaults.terminal.windowLable"


def test_options_for_a_plugin_without_a_config_model_are_refused(tmp_path: Path) -> None:
    source = plugin_source("notifier", "plain", create="def create() -> Plugin:\n    return Plugin(Options())\n")
    (tmp_path / "plain.py").write_text(source)
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "plain.py"])

    assert registry.load("notifier", "plain").config_model is None
    assert registry.load("notifier", "plain").takes_config is False
    assert registry.create("notifier", "plain").options.socket_name == "ao"
    with pytest.raises(ConfigError, match="takes no options; remove: color") as caught:
        registry.create("notifier", PluginRef(plugin="plain", options={"color": "red"}), key_path="notifiers.plain")
    assert caught.value.key_path == "notifiers.plain.color"


def test_create_gets_the_validated_model_and_default_options(tmp_path: Path) -> None:
    (tmp_path / "opts.py").write_text(plugin_source("runtime", "opts"))
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "opts.py"])

    configured = registry.create("runtime", PluginRef(plugin="opts", options={"socketName": "team", "retries": "3"}))
    default = registry.create("runtime", "opts")

    assert (configured.options.socket_name, configured.options.retries) == ("team", 3)
    assert default.options.socket_name == "ao"


def test_inline_path_ref_names_the_plugin_by_its_manifest(tmp_path: Path) -> None:
    shutil.copy(DATA / "local_notifier.py", tmp_path / "jsonish.py")
    registry = Registry(builtins={}, entry_points=no_entry_points, base_dir=tmp_path)

    notifier = registry.notifier(PluginRef(path="jsonish.py", options={"outFile": str(tmp_path / "o")}))

    assert notifier.name == "local-file"
    with pytest.raises(PluginLoadError, match="its manifest names it 'local-file', but the config says plugin: other"):
        registry.notifier(PluginRef(plugin="other", path="jsonish.py"))
    with pytest.raises(PluginLoadError, match="declares slot 'notifier'"):
        registry.runtime(PluginRef(path="jsonish.py"))


def test_construction_imports_nothing(tmp_path: Path, module_dir: Path) -> None:
    local = tmp_path / "lazy_local.py"
    local.write_text(plugin_source("notifier", "lazy-local"))
    module = write_module(module_dir, unique("ao_test_lazy"), plugin_source("runtime", "lazy-ep"))

    Registry(entry_points=entry_points(("ao.runtime", "lazy-ep", module)), local_paths=[local])

    assert module not in sys.modules
    assert not loaded_from(local)


def test_loading_imports_only_the_plugin_asked_for(module_dir: Path) -> None:
    first = write_module(module_dir, unique("ao_test_first"), plugin_source("runtime", "first"))
    second = write_module(module_dir, unique("ao_test_second"), plugin_source("runtime", "second"))
    builtin = write_module(module_dir, unique("ao_test_builtin"), plugin_source("notifier", "desk"))
    registry = Registry(
        builtins={(PluginSlot.NOTIFIER, "desk"): BuiltinPlugin("ao-notifier-desk", builtin)},
        entry_points=entry_points(("ao.runtime", "first", first), ("ao.runtime", "second", second)),
    )

    loaded = registry.load(PluginSlot.RUNTIME, "first")

    assert first in sys.modules
    assert second not in sys.modules
    assert builtin not in sys.modules
    assert registry.load("runtime", "first") is loaded
    assert registry.available("runtime") == ["first", "second"]
    assert second not in sys.modules


# --------------------------------------------------------------------------- entry points


def test_entry_point_plugin_is_installed_source(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_ep"), plugin_source("notifier", "pager"))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.notifier", "pager", module)))

    loaded = registry.load("notifier", "pager")

    assert loaded.source == "installed"
    assert loaded.origin == f"entry point pager = {module}"
    assert loaded.module is sys.modules[module]


def test_first_party_entry_point_is_the_built_in_plugin_not_a_conflict(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_runtime_tmux_stand_in"), plugin_source("runtime", "tmux"))
    registry = Registry(
        builtins={(PluginSlot.RUNTIME, "tmux"): BuiltinPlugin("ao-runtime-tmux", module)},
        entry_points=entry_points(("ao.runtime", "tmux", module)),
    )

    loaded = registry.load("runtime", "tmux")

    assert (loaded.source, loaded.origin) == ("built-in", "ao-runtime-tmux")
    assert [(i.name, i.source) for i in registry.discover()] == [("tmux", "built-in")]


def test_entry_point_value_must_be_a_module(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_attr"), plugin_source("notifier", "attr"))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.notifier", "attr", f"{module}:create")))

    with pytest.raises(PluginLoadError, match="must be a module name"):
        registry.load("notifier", "attr")


def test_entry_point_name_must_match_the_manifest(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_named"), plugin_source("notifier", "real-name"))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.notifier", "other-name", module)))

    with pytest.raises(PluginLoadError, match="its manifest names it 'real-name'"):
        registry.load("notifier", "other-name")


# --------------------------------------------------------------------------- conflicts


def test_entry_point_and_local_path_with_the_same_name_conflict(tmp_path: Path, module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_dup"), plugin_source("notifier", "dup"))
    (tmp_path / "dup.py").write_text(plugin_source("notifier", "dup"))
    registry = Registry(
        builtins={}, entry_points=entry_points(("ao.notifier", "dup", module)), local_paths=[tmp_path / "dup.py"]
    )

    with pytest.raises(PluginConflictError) as caught:
        registry.load("notifier", "dup")

    message = str(caught.value)
    assert f"entry point dup = {module}" in message
    assert str((tmp_path / "dup.py").resolve()) in message
    infos = [i for i in registry.discover() if i.name == "dup"]
    assert [i.source for i in infos] == ["installed", "local"]
    assert all(i.error is not None and "provided twice" in i.error for i in infos)


def test_two_local_paths_with_the_same_name_conflict(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(plugin_source("runtime", "twin"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "__init__.py").write_text(plugin_source("runtime", "twin"))
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "a.py", tmp_path / "b"])

    with pytest.raises(PluginConflictError) as caught:
        registry.runtime("twin")

    assert caught.value.first == str((tmp_path / "a.py").resolve())
    assert caught.value.second == str((tmp_path / "b").resolve())


def test_the_same_path_twice_is_one_plugin(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(plugin_source("runtime", "once"))
    registry = Registry(
        builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "a.py", tmp_path / "." / "a.py"]
    )

    assert registry.load("runtime", "once").source == "local"


# --------------------------------------------------------------------------- broken plugins


def test_api_version_mismatch_names_both_versions(module_dir: Path) -> None:
    manifest = f"PluginManifest(name='future', slot=PluginSlot.RUNTIME, description='x', api_version={API_VERSION + 1})"
    module = write_module(module_dir, unique("ao_test_api"), plugin_source("runtime", "future", manifest=manifest))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.runtime", "future", module)))

    with pytest.raises(PluginLoadError) as caught:
        registry.load("runtime", "future")

    assert f"plugin API version {API_VERSION + 1}" in caught.value.reason
    assert f"speaks version {API_VERSION}" in caught.value.reason
    assert "upgrade ao-core" in caught.value.reason


def test_slot_mismatch_is_refused(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_slot"), plugin_source("notifier", "confused"))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.runtime", "confused", module)))

    with pytest.raises(PluginLoadError, match="declares slot 'notifier', but it was asked for as a runtime plugin"):
        registry.load("runtime", "confused")


def test_import_error_is_chained_and_names_the_origin(module_dir: Path) -> None:
    before = "import ao_test_dependency_that_is_not_installed  # noqa: F401\n"
    module = write_module(module_dir, unique("ao_test_broken"), plugin_source("runtime", "broken", before=before))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.runtime", "broken", module)))

    with pytest.raises(PluginLoadError) as caught:
        registry.load("runtime", "broken")

    assert isinstance(caught.value.__cause__, ModuleNotFoundError)
    assert caught.value.origin == f"entry point broken = {module}"
    assert "ao_test_dependency_that_is_not_installed" in str(caught.value)


def test_local_file_that_fails_to_import_is_chained(tmp_path: Path) -> None:
    path = tmp_path / "raises.py"
    path.write_text(plugin_source("runtime", "raises", before="raise RuntimeError('no config for me')\n"))
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[path])

    with pytest.raises(PluginLoadError) as caught:
        registry.load("runtime", "anything")

    assert isinstance(caught.value.__cause__, RuntimeError)
    assert caught.value.origin == str(path.resolve())
    assert "RuntimeError: no config for me" in str(caught.value)
    [info] = registry.discover()
    assert (info.slot, info.name, info.source) == (PluginSlot.RUNTIME, "raises", "local")
    assert info.error is not None
    assert "no config for me" in info.error


def test_missing_create_is_refused(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_nocreate"), plugin_source("runtime", "nocreate", create=""))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.runtime", "nocreate", module)))

    with pytest.raises(PluginLoadError, match="has no callable 'create'"):
        registry.load("runtime", "nocreate")


def test_manifest_must_be_a_plugin_manifest(module_dir: Path) -> None:
    manifest = "{'name': 'dicty', 'slot': 'runtime', 'description': 'x'}"
    module = write_module(module_dir, unique("ao_test_dict"), plugin_source("runtime", "dicty", manifest=manifest))
    registry = Registry(builtins={}, entry_points=entry_points(("ao.runtime", "dicty", module)))

    with pytest.raises(PluginLoadError, match=r"must be an ao_core\.interfaces\.PluginManifest, not dict"):
        registry.load("runtime", "dicty")


def test_missing_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bare.py").write_text("def create() -> None:\n    return None\n")
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "bare.py"])

    with pytest.raises(PluginLoadError, match="has no 'manifest'"):
        registry.load("runtime", "bare")


def test_local_path_that_is_not_a_plugin_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "not-a-package").mkdir()

    for path, reason in (
        (tmp_path / "notes.txt", "expected a .py file or a package directory"),
        (tmp_path / "not-a-package", "it has no __init__.py"),
        (tmp_path / "missing.py", "the path does not exist"),
    ):
        registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[path])
        with pytest.raises(PluginLoadError, match=reason):
            registry.load("runtime", "x")


def test_create_that_misses_protocol_members_is_refused(tmp_path: Path) -> None:
    create = "class Half:\n    name = 'half'\n\ndef create() -> Half:\n    return Half()\n"
    (tmp_path / "half.py").write_text(plugin_source("runtime", "half", create=create))
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "half.py"])

    with pytest.raises(PluginLoadError, match="returned a Half, which lacks create, destroy, get_output"):
        registry.runtime("half")


def test_create_that_raises_is_a_load_error_chained(tmp_path: Path) -> None:
    create = "def create(config: Options | None = None) -> Plugin:\n    raise OSError('socket busy')\n"
    (tmp_path / "busy.py").write_text(plugin_source("runtime", "busy", create=create))
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "busy.py"])

    with pytest.raises(PluginLoadError, match=r"create\(\) failed: OSError: socket busy") as caught:
        registry.runtime("busy")

    assert isinstance(caught.value.__cause__, OSError)


def test_unresolvable_config_annotation_is_a_load_error(tmp_path: Path) -> None:
    create = "def create(config: Missing | None = None) -> Plugin:\n    return Plugin(Options())\n"
    (tmp_path / "typo.py").write_text(plugin_source("runtime", "typo", create=create))
    registry = Registry(builtins={}, entry_points=no_entry_points, local_paths=[tmp_path / "typo.py"])

    with pytest.raises(PluginLoadError, match="cannot resolve the annotation of create"):
        registry.load("runtime", "typo")


def test_unknown_name_lists_what_is_available(module_dir: Path) -> None:
    module = write_module(module_dir, unique("ao_test_avail"), plugin_source("runtime", "mine"))
    registry = Registry(entry_points=entry_points(("ao.runtime", "mine", module)))

    with pytest.raises(PluginNotFoundError) as caught:
        registry.load("runtime", "tmxu")

    assert str(caught.value) == "unknown runtime 'tmxu'; available: docker, k8s, mine, process, tmux"


# --------------------------------------------------------------------------- a whole config


@pytest.fixture
def fakes() -> dict[str, Path]:
    from ao_core.testing.plugins import PLUGIN_FILES

    return PLUGIN_FILES


def write_config(tmp_path: Path, body: str, fakes: dict[str, Path]) -> Path:
    """A config that loads the kernel's fake plugins by path, then ``body``."""
    (tmp_path / "repo").mkdir(exist_ok=True)
    plugins = "".join(f"  - path: {fakes[slot]}\n" for slot in ("runtime", "agent", "workspace", "notifier"))
    header = f"plugins:\n{plugins}  - path: ./local_notifier.py\n"
    shutil.copy(DATA / "local_notifier.py", tmp_path / "local_notifier.py")
    path = tmp_path / "agent-orchestrator.yaml"
    path.write_text(header + textwrap.dedent(body))
    return path


BASE = """\
defaults:
  runtime: fake
  agent: fake
  workspace: fake
projects:
  my-app:
    path: ./repo
"""


def test_validate_accepts_a_config_whose_plugins_all_load(tmp_path: Path, fakes: dict[str, Path]) -> None:
    body = BASE + textwrap.dedent(
        """\
            runtime:
              plugin: fake
              failCreate: false
        notifiers:
          file:
            plugin: local-file
            outFile: ./events.txt
        notificationRouting:
          urgent: [file, fake]
        """
    )
    config = load_config(write_config(tmp_path, body, fakes))
    registry = Registry.from_config(config, entry_points=no_entry_points)

    registry.validate(config)

    notifier = registry.notifier(config.notifiers["file"], key_path="notifiers.file", config=config)
    assert notifier.name == "local-file"


def test_validate_reports_an_unknown_runtime_with_file_and_line(tmp_path: Path, fakes: dict[str, Path]) -> None:
    body = BASE + "    runtime: tmxu\n"
    path = write_config(tmp_path, body, fakes)
    config = load_config(path)

    with pytest.raises(ConfigError) as caught:
        Registry.from_config(config, entry_points=no_entry_points).validate(config)

    line = path.read_text().splitlines().index("    runtime: tmxu") + 1
    assert str(caught.value) == (
        f"{path}:{line}: projects.my-app.runtime: unknown runtime 'tmxu'; available: docker, fake, k8s, process, tmux"
    )


def test_validate_says_how_to_install_a_first_party_plugin(tmp_path: Path, fakes: dict[str, Path]) -> None:
    path = write_config(tmp_path, BASE + "    runtime: docker\n", fakes)
    config = load_config(path)
    absent = replace(BUILTIN_PLUGINS[(PluginSlot.RUNTIME, "docker")], module=unique("ao_runtime_docker_absent"))

    with pytest.raises(ConfigError) as caught:
        Registry.from_config(
            config, builtins={(PluginSlot.RUNTIME, "docker"): absent}, entry_points=no_entry_points
        ).validate(config)

    assert caught.value.key_path == "projects.my-app.runtime"
    assert caught.value.problem.endswith("install it with: pip install ao-runtime-docker")
    assert isinstance(caught.value.__cause__, PluginNotFoundError)


def test_validate_reports_a_bad_option_at_its_own_line(tmp_path: Path, fakes: dict[str, Path]) -> None:
    body = BASE + "    runtime:\n      plugin: fake\n      failCreate: maybe\n"
    path = write_config(tmp_path, body, fakes)
    config = load_config(path)

    with pytest.raises(ConfigError) as caught:
        Registry.from_config(config, entry_points=no_entry_points).validate(config)

    assert caught.value.key_path == "projects.my-app.runtime.failCreate"
    assert caught.value.line == path.read_text().splitlines().index("      failCreate: maybe") + 1


def test_validate_checks_notifier_names_in_routing(tmp_path: Path, fakes: dict[str, Path]) -> None:
    body = BASE + "notificationRouting:\n  action: [fake, pagr]\n"
    path = write_config(tmp_path, body, fakes)
    config = load_config(path)

    with pytest.raises(ConfigError) as caught:
        Registry.from_config(config, entry_points=no_entry_points).validate(config)

    assert caught.value.key_path == "notificationRouting.action"
    assert "unknown notifier 'pagr'" in caught.value.problem
    assert "a key of 'notifiers' (none configured)" in caught.value.problem
    assert "notifier plugin (composio, desktop, fake, local-file, slack, webhook)" in caught.value.problem


def test_validate_checks_role_agents(tmp_path: Path, fakes: dict[str, Path]) -> None:
    body = BASE + "    orchestrator:\n      agent: claude-cod\n"
    config = load_config(write_config(tmp_path, body, fakes))

    with pytest.raises(ConfigError, match="unknown agent 'claude-cod'") as caught:
        Registry.from_config(config, entry_points=no_entry_points).validate(config)

    assert caught.value.key_path == "projects.my-app.orchestrator.agent"


def test_validate_reports_a_broken_local_plugin_at_its_entry(tmp_path: Path, fakes: dict[str, Path]) -> None:
    (tmp_path / "broken.py").write_text("raise ImportError('needs a library')\n")
    body = "plugins:\n  - path: ./broken.py\n" + BASE
    path = tmp_path / "agent-orchestrator.yaml"
    (tmp_path / "repo").mkdir()
    path.write_text(body)
    config = load_config(path)

    with pytest.raises(ConfigError) as caught:
        Registry.from_config(config, entry_points=no_entry_points).validate(config)

    assert caught.value.key_path == "plugins.0.path"
    assert caught.value.line == 2
    assert "needs a library" in caught.value.problem


def test_disabled_plugin_entries_are_not_loaded(tmp_path: Path, fakes: dict[str, Path]) -> None:
    (tmp_path / "broken.py").write_text("raise ImportError('needs a library')\n")
    body = "  - path: ./broken.py\n    enabled: false\n" + BASE
    path = write_config(tmp_path, body, fakes)
    config = load_config(path)

    Registry.from_config(config, entry_points=no_entry_points).validate(config)

    assert not loaded_from(tmp_path / "broken.py")


def test_package_entry_is_imported_by_module_name(tmp_path: Path, module_dir: Path, fakes: dict[str, Path]) -> None:
    module = write_module(module_dir, unique("ao_test_pkg"), plugin_source("notifier", "by-package"))
    also_entry_point = write_module(module_dir, unique("ao_test_pkg_ep"), plugin_source("notifier", "both-ways"))
    body = f"  - package: {module}\n  - package: {also_entry_point}\n" + BASE
    config = load_config(write_config(tmp_path, body, fakes))
    registry = Registry.from_config(config, entry_points=entry_points(("ao.notifier", "both-ways", also_entry_point)))

    registry.validate(config)

    loaded = registry.load("notifier", "by-package")
    assert (loaded.source, loaded.origin) == ("installed", f"package {module}")
    assert registry.load("notifier", "both-ways").origin == f"entry point both-ways = {also_entry_point}"


def test_a_stated_name_must_match_the_manifest(tmp_path: Path, fakes: dict[str, Path]) -> None:
    shutil.copy(DATA / "local_notifier.py", tmp_path / "named.py")
    body = "  - path: ./named.py\n    name: local-files\n" + BASE
    path = write_config(tmp_path, body, fakes)
    config = load_config(path)

    with pytest.raises(ConfigError, match="its manifest names it 'local-file'") as caught:
        Registry.from_config(config, entry_points=no_entry_points).validate(config)

    assert caught.value.key_path == "plugins.5.path"


def test_discover_lists_a_broken_package_entry_under_its_slot(module_dir: Path) -> None:
    source = plugin_source("terminal", "half-done", before="raise RuntimeError('not finished')\n")
    module = write_module(module_dir, unique("ao_test_broken_pkg"), source)
    registry = Registry(builtins={}, entry_points=no_entry_points, packages=[module])

    [info] = registry.discover()

    assert (info.slot, info.name, info.source, info.origin) == (
        PluginSlot.TERMINAL,
        "half-done",
        "installed",
        f"package {module}",
    )
    assert info.error is not None
    assert "RuntimeError: not finished" in info.error


def test_discover_keeps_slot_order_with_broken_local_plugins(tmp_path: Path) -> None:
    (tmp_path / "good_terminal.py").write_text(plugin_source("terminal", "good"))
    (tmp_path / "bad_runtime.py").write_text(plugin_source("runtime", "bad", before="raise OSError('x')\n"))
    registry = Registry(
        builtins={},
        entry_points=no_entry_points,
        local_paths=[tmp_path / "good_terminal.py", tmp_path / "bad_runtime.py"],
    )

    assert [(i.slot.value, i.name, i.error is None) for i in registry.discover()] == [
        ("runtime", "bad", False),
        ("terminal", "good", True),
    ]
