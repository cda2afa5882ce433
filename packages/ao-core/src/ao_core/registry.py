"""The plugin registry: discovery, lazy loading, and instantiation with validated config.

A plugin for a ``(slot, name)`` comes from one of three sources, looked up in this order:

1. **built-in**: :data:`BUILTIN_PLUGINS`, the first-party table. An entry whose module cannot be found is
   "not installed", and asking for it says which distribution to ``pip install``.
2. **installed**: entry points in the group ``ao.<slot>``; the entry point's name is the plugin's name and its
   value the module (``[project.entry-points."ao.runtime"] tmux = "ao_runtime_tmux"``). First-party
   distributions declare their own entry point too: one whose module is the built-in module is the same
   plugin, not a second one.
3. **local**: ``.py`` files and package directories listed in the config (``plugins: [{path: ...}]``) or
   named inline (``tracker: {path: ./jira.py}``), and modules named by ``{package: ...}``. Their manifest
   decides their slot and name, so they are imported the first time the registry resolves any name.

Two sources giving the same ``(slot, name)`` is a :class:`~ao_core.errors.PluginConflictError` naming both.
Built-in and installed plugins are imported only when asked for (:meth:`Registry.load`); constructing a
registry imports nothing. The registry holds no global state: its sources are constructor arguments.

Example::

    registry = Registry.from_config(config)
    registry.validate(config)              # every plugin the config names exists and its options validate
    runtime = registry.runtime(config.projects["app"].runtime or config.defaults.runtime,
                               key_path="projects.app.runtime", config=config)
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Literal, cast

from pydantic import BaseModel, ValidationError

from ao_core import _registry_loading as _loading
from ao_core.config._schema import OrchestratorConfig, PluginRef
from ao_core.errors import AoError, ConfigError, PluginConflictError, PluginError, PluginLoadError, PluginNotFoundError
from ao_core.interfaces import SCM, Agent, Notifier, PluginManifest, Runtime, Terminal, Tracker, Workspace
from ao_core.models import PluginSlot

__all__ = [
    "BUILTIN_PLUGINS",
    "BuiltinPlugin",
    "LoadedPlugin",
    "PluginInfo",
    "PluginSource",
    "Registry",
    "entry_point_group",
]

PluginSource = Literal["built-in", "installed", "local"]
"""Where a plugin was found."""

EntryPointsFn = Callable[[str], Iterable[importlib.metadata.EntryPoint]]


@dataclass(frozen=True)
class BuiltinPlugin:
    """A first-party plugin: the distribution that provides it and the module to import."""

    distribution: str
    module: str


def _first_party() -> dict[tuple[PluginSlot, str], BuiltinPlugin]:
    names = {
        PluginSlot.RUNTIME: ("tmux", "process", "docker", "k8s"),
        PluginSlot.AGENT: ("claude-code", "codex", "aider", "opencode"),
        PluginSlot.WORKSPACE: ("worktree", "clone"),
        PluginSlot.TRACKER: ("github", "linear"),
        PluginSlot.SCM: ("github",),
        PluginSlot.NOTIFIER: ("desktop", "slack", "webhook", "composio"),
        PluginSlot.TERMINAL: ("iterm2", "web"),
    }
    return {
        (slot, name): BuiltinPlugin(
            distribution=f"ao-{slot.value}-{name}",
            module=f"ao_{slot.value}_{name.replace('-', '_')}",
        )
        for slot, slot_names in names.items()
        for name in slot_names
    }


BUILTIN_PLUGINS: Mapping[tuple[PluginSlot, str], BuiltinPlugin] = MappingProxyType(_first_party())
"""The first-party plugins: ``(slot, name)`` → distribution ``ao-<slot>-<name>``, module ``ao_<slot>_<name>``."""


def entry_point_group(slot: PluginSlot | str) -> str:
    """The entry-point group of a slot: ``ao.runtime``, ``ao.notifier``, ..."""
    return f"ao.{PluginSlot(slot).value}"


@dataclass(frozen=True)
class PluginInfo:
    """One discoverable plugin, as ``ao plugins`` lists it.

    Attributes:
        slot: The slot it plugs into.
        name: Its name (what configs write).
        source: ``built-in``, ``installed`` (an entry point or a ``package:`` entry) or ``local`` (a path).
        origin: The distribution (built-in), ``entry point <distribution>`` (installed), or the file path.
        module: The module that is (or would be) imported; ``None`` when unknown.
        version: The manifest's version, else the distribution's; ``None`` when unknown.
        description: The manifest's description, when it could be read.
        error: Why it cannot be used (load error, conflict); ``None`` when it loads.
        installed: ``False`` only for a first-party plugin whose distribution is not installed.
    """

    slot: PluginSlot
    name: str
    source: PluginSource
    origin: str
    module: str | None
    version: str | None
    description: str | None
    error: str | None
    installed: bool

    @property
    def install_hint(self) -> str | None:
        """``pip install <distribution>`` for a first-party plugin that is not installed, else ``None``."""
        if self.installed or self.source != "built-in":
            return None
        return f"pip install {self.origin}"


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin module that was imported and checked.

    Attributes:
        manifest: Its manifest.
        module: The imported module (exposes ``manifest`` and ``create``).
        config_model: The pydantic model of its options (``create``'s first parameter), or ``None``.
        source: Where it was found.
        origin: The distribution, entry point or path it came from.
        takes_config: Whether ``create`` accepts a config argument at all.
    """

    manifest: PluginManifest
    module: ModuleType
    config_model: type[BaseModel] | None
    source: PluginSource
    origin: str
    takes_config: bool = True


@dataclass(frozen=True)
class _External:
    """A plugin named by the config rather than found by name: a path or a module."""

    kind: Literal["path", "package"]
    target: str
    """Absolute path for ``path``; module name for ``package``."""
    key_path: str | None = None
    expected_name: str | None = None
    """The ``name`` the config states for it; the manifest must agree."""

    @property
    def origin(self) -> str:
        return self.target if self.kind == "path" else f"package {self.target}"

    @property
    def source(self) -> PluginSource:
        return "local" if self.kind == "path" else "installed"


@dataclass(frozen=True)
class _ExternalPlugin:
    external: _External
    module: ModuleType
    manifest: PluginManifest


@dataclass(frozen=True)
class _Candidate:
    source: PluginSource
    origin: str
    module_name: str
    distribution: str | None = None
    entry_point_value: str | None = None
    external: _ExternalPlugin | None = None


@dataclass
class _ExternalIndex:
    plugins: dict[tuple[PluginSlot, str], list[_ExternalPlugin]] = field(default_factory=dict)
    errors: list[tuple[_External, PluginLoadError]] = field(default_factory=list)
    done: set[_External] = field(default_factory=set)


_PROTOCOLS: Mapping[PluginSlot, type] = {
    PluginSlot.RUNTIME: Runtime,
    PluginSlot.AGENT: Agent,
    PluginSlot.WORKSPACE: Workspace,
    PluginSlot.TRACKER: Tracker,
    PluginSlot.SCM: SCM,
    PluginSlot.NOTIFIER: Notifier,
    PluginSlot.TERMINAL: Terminal,
}

_PROJECT_SLOTS = (
    PluginSlot.RUNTIME,
    PluginSlot.AGENT,
    PluginSlot.WORKSPACE,
    PluginSlot.TRACKER,
    PluginSlot.SCM,
    PluginSlot.TERMINAL,
)


def _installed_entry_points(group: str) -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=group)


def _module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _protocol_members(protocol: type) -> list[str]:
    return sorted(name for name in vars(protocol) if not name.startswith("_"))


class Registry:
    """Finds plugins, imports them when asked, and builds them with validated options.

    Args:
        builtins: The first-party table (default :data:`BUILTIN_PLUGINS`).
        entry_points: Returns the entry points of a group (default: the installed distributions').
        local_paths: Plugin ``.py`` files or package directories; relative paths resolve against ``base_dir``.
        packages: Importable module names of plugins that declare no entry point.
        base_dir: Where relative paths (here and in ``PluginRef.path``) are resolved; default: the cwd.
    """

    def __init__(
        self,
        *,
        builtins: Mapping[tuple[PluginSlot, str], BuiltinPlugin] = BUILTIN_PLUGINS,
        entry_points: EntryPointsFn | None = None,
        local_paths: Sequence[Path] = (),
        packages: Sequence[str] = (),
        base_dir: Path | None = None,
    ) -> None:
        self._builtins = dict(builtins)
        self._entry_points_fn: EntryPointsFn = entry_points or _installed_entry_points
        self._base_dir = base_dir
        self._externals: list[_External] = []
        self._entry_point_cache: dict[str, list[importlib.metadata.EntryPoint]] = {}
        self._index: _ExternalIndex | None = None
        self._loaded: dict[tuple[PluginSlot, str], LoadedPlugin] = {}
        for path in local_paths:
            self._add_external(_External("path", str(self._resolve(Path(path)))))
        for package in packages:
            self._add_external(_External("package", _module_name(package)))

    # ------------------------------------------------------------------ construction from a config

    @classmethod
    def from_config(
        cls,
        config: OrchestratorConfig,
        *,
        builtins: Mapping[tuple[PluginSlot, str], BuiltinPlugin] = BUILTIN_PLUGINS,
        entry_points: EntryPointsFn | None = None,
    ) -> Registry:
        """A registry with the built-ins, the installed entry points, and every plugin the config names.

        Local sources are the ``plugins:`` entries (``path`` and ``package``; ``enabled: false`` ones are
        skipped) and the inline ``path`` / ``package`` of slot sections (``tracker: {path: ./jira.py}``).
        Relative paths resolve against the directory of the config file.
        """
        base_dir = config.config_path.parent if config.config_path is not None else None
        registry = cls(builtins=builtins, entry_points=entry_points, base_dir=base_dir)
        for index, entry in enumerate(config.plugins):
            if not entry.enabled:
                continue
            if entry.path is not None:
                path = registry._resolve(Path(entry.path).expanduser())
                registry._add_external(_External("path", str(path), f"plugins.{index}.path", entry.name))
            elif entry.package is not None:
                module = _module_name(entry.package)
                registry._add_external(_External("package", module, f"plugins.{index}.package", entry.name))
        for _slot, ref, key_path in _config_refs(config):
            external = registry._external_of_ref(ref, key_path, config)
            if external is not None:
                registry._add_external(external)
        return registry

    # ------------------------------------------------------------------ discovery

    def discover(self) -> list[PluginInfo]:
        """Every plugin from every source, in slot order then by name.

        Imports every plugin module to read its manifest. Load errors and conflicts are recorded in
        :attr:`PluginInfo.error`, never raised.
        """
        index = self._external_index()
        keys: set[tuple[PluginSlot, str]] = set(self._builtins)
        for slot in PluginSlot:
            keys.update((slot, ep.name) for ep in self._group(slot))
        keys.update(index.plugins)
        slot_order = {slot: position for position, slot in enumerate(PluginSlot)}
        infos: list[PluginInfo] = []
        for slot, name in sorted(keys, key=lambda key: (slot_order[key[0]], key[1])):
            candidates = self._candidates(slot, name)
            builtin = self._builtins.get((slot, name))
            if not candidates:
                if builtin is not None:
                    infos.append(
                        PluginInfo(
                            slot, name, "built-in", builtin.distribution, builtin.module, None, None, None, False
                        )
                    )
                continue
            conflict = None
            if len(candidates) > 1:
                conflict = str(PluginConflictError(str(slot), name, candidates[0].origin, candidates[1].origin))
            for candidate in candidates:
                infos.append(self._info(slot, name, candidate, conflict))
        for external, error in index.errors:
            guessed_slot, guessed_name = _guess_identity(external)
            fallback_name = Path(external.target).stem if external.kind == "path" else external.target
            reason = error.reason
            if guessed_slot is None:
                reason += " (its slot could not be read from its source; listed under runtime)"
            infos.append(
                PluginInfo(
                    slot=guessed_slot or PluginSlot.RUNTIME,
                    name=guessed_name or fallback_name,
                    source=external.source,
                    origin=external.origin,
                    module=external.target if external.kind == "package" else None,
                    version=None,
                    description=None,
                    error=reason,
                    installed=True,
                )
            )
        infos.sort(key=lambda info: (slot_order[info.slot], info.name))  # stable: conflicting sources keep order
        return infos

    def available(self, slot: PluginSlot | str) -> list[str]:
        """The names known for a slot from every source (first-party ones even when not installed)."""
        slot = PluginSlot(slot)
        names = {name for (s, name) in self._builtins if s == slot}
        names.update(ep.name for ep in self._group(slot))
        names.update(name for (s, name) in self._external_index().plugins if s == slot)
        return sorted(names)

    # ------------------------------------------------------------------ loading

    def load(self, slot: PluginSlot | str, name: str) -> LoadedPlugin:
        """Import and check one plugin (cached); nothing else is imported except local plugin files.

        Raises:
            PluginNotFoundError: no source provides it (naming the distribution for a first-party plugin).
            PluginConflictError: two sources provide it.
            PluginLoadError: it cannot be imported or is not a valid plugin for the slot, or a local plugin
                file named by the config cannot be imported.
        """
        slot = PluginSlot(slot)
        cached = self._loaded.get((slot, name))
        if cached is not None:
            return cached
        index = self._external_index()
        if index.errors:
            raise index.errors[0][1]
        candidates = self._candidates(slot, name)
        if len(candidates) > 1:
            raise PluginConflictError(str(slot), name, candidates[0].origin, candidates[1].origin)
        if not candidates:
            builtin = self._builtins.get((slot, name))
            if builtin is not None:
                raise PluginNotFoundError(str(slot), name, distribution=builtin.distribution)
            raise PluginNotFoundError(str(slot), name, available=self.available(slot))
        loaded = self._load_candidate(slot, name, candidates[0])
        self._loaded[(slot, name)] = loaded
        return loaded

    # ------------------------------------------------------------------ instantiation

    def create(
        self,
        slot: PluginSlot | str,
        ref: PluginRef | str,
        *,
        key_path: str | None = None,
        config: OrchestratorConfig | None = None,
    ) -> Any:
        """Build the plugin ``ref`` names, with ``ref.options`` validated against its config model.

        Args:
            slot: The slot.
            ref: A plugin name, or a :class:`~ao_core.config.PluginRef` (name or path/package, and options).
            key_path: Where ``ref`` sits in the YAML (``projects.app.runtime``), for error messages.
            config: The config ``ref`` came from, for the file and line in error messages.

        Returns:
            What the plugin's ``create`` returned (an object satisfying the slot's Protocol).

        Raises:
            ConfigError: the options do not validate (key path and line of the offending option).
            PluginError: the plugin is unknown, conflicting, broken, or its ``create`` failed.
        """
        slot = PluginSlot(slot)
        ref = PluginRef(plugin=ref) if isinstance(ref, str) else ref
        name = self._name_of(slot, ref, key_path, config)
        loaded = self.load(slot, name)
        options = self._validate_options(slot, loaded, ref, key_path, config)
        try:
            instance = loaded.module.create(options) if loaded.takes_config else loaded.module.create()
        except AoError:
            raise
        except Exception as exc:
            raise PluginLoadError(str(slot), name, loaded.origin, f"create() failed: {_describe(exc)}") from exc
        missing = [member for member in _protocol_members(_PROTOCOLS[slot]) if not hasattr(instance, member)]
        if missing:
            raise PluginLoadError(
                str(slot),
                name,
                loaded.origin,
                f"create() returned a {type(instance).__name__}, which lacks {', '.join(missing)} "
                f"of the {_PROTOCOLS[slot].__name__} protocol",
            )
        return instance

    def runtime(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> Runtime:
        """:meth:`create` for the runtime slot."""
        return cast(Runtime, self.create(PluginSlot.RUNTIME, ref, key_path=key_path, config=config))

    def agent(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> Agent:
        """:meth:`create` for the agent slot."""
        return cast(Agent, self.create(PluginSlot.AGENT, ref, key_path=key_path, config=config))

    def workspace(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> Workspace:
        """:meth:`create` for the workspace slot."""
        return cast(Workspace, self.create(PluginSlot.WORKSPACE, ref, key_path=key_path, config=config))

    def tracker(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> Tracker:
        """:meth:`create` for the tracker slot."""
        return cast(Tracker, self.create(PluginSlot.TRACKER, ref, key_path=key_path, config=config))

    def scm(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> SCM:
        """:meth:`create` for the scm slot."""
        return cast(SCM, self.create(PluginSlot.SCM, ref, key_path=key_path, config=config))

    def notifier(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> Notifier:
        """:meth:`create` for the notifier slot."""
        return cast(Notifier, self.create(PluginSlot.NOTIFIER, ref, key_path=key_path, config=config))

    def terminal(
        self, ref: PluginRef | str, *, key_path: str | None = None, config: OrchestratorConfig | None = None
    ) -> Terminal:
        """:meth:`create` for the terminal slot."""
        return cast(Terminal, self.create(PluginSlot.TERMINAL, ref, key_path=key_path, config=config))

    # ------------------------------------------------------------------ validation of a config

    def validate(self, config: OrchestratorConfig) -> None:
        """Check that every plugin the config names exists, loads, and accepts its options.

        Covers ``plugins:`` entries, ``defaults.*``, ``projects.*.{runtime,agent,workspace,tracker,scm,
        terminal}``, the orchestrator/worker agents, ``notifiers.*``, and the notifier names in
        ``defaults.notifiers`` and ``notificationRouting`` (each must be a key of ``notifiers`` or the name
        of a notifier plugin). Plugins are imported but not created.

        Raises:
            ConfigError: for the first problem, with the file, line and key path.
        """
        index = self._external_index()
        if index.errors:
            external, error = index.errors[0]
            raise self._config_error(config, external.key_path, str(error)) from error
        for slot, ref, key_path in _config_refs(config):
            try:
                name = self._name_of(slot, ref, key_path, config)
                loaded = self.load(slot, name)
            except PluginError as exc:
                raise self._config_error(config, key_path, str(exc)) from exc
            self._validate_options(slot, loaded, ref, key_path, config)
        configured = sorted(config.notifiers)
        name_lists: list[tuple[str, list[str]]] = [("defaults.notifiers", config.defaults.notifiers)]
        name_lists += [
            (f"notificationRouting.{priority}", names) for priority, names in config.notification_routing.items()
        ]
        for key_path, names in name_lists:
            for name in names:
                if name in config.notifiers:
                    continue
                try:
                    self.load(PluginSlot.NOTIFIER, name)
                except PluginNotFoundError as exc:
                    if exc.distribution is not None:
                        raise self._config_error(config, key_path, str(exc)) from exc
                    problem = (
                        f"unknown notifier '{name}'; name a key of 'notifiers' "
                        f"({', '.join(configured) or 'none configured'}) or a notifier plugin "
                        f"({', '.join(self.available(PluginSlot.NOTIFIER)) or 'none'})"
                    )
                    raise self._config_error(config, key_path, problem) from exc
                except PluginError as exc:
                    raise self._config_error(config, key_path, str(exc)) from exc

    # ------------------------------------------------------------------ internals

    def _resolve(self, path: Path, base_dir: Path | None = None) -> Path:
        if not path.is_absolute():
            path = (base_dir or self._base_dir or Path.cwd()) / path
        return path.resolve()

    def _add_external(self, external: _External) -> None:
        if any(e.kind == external.kind and e.target == external.target for e in self._externals):
            return
        self._externals.append(external)

    def _external_of_ref(
        self, ref: PluginRef, key_path: str | None, config: OrchestratorConfig | None = None
    ) -> _External | None:
        if ref.path is not None:
            base_dir = config.config_path.parent if config is not None and config.config_path is not None else None
            path = self._resolve(Path(ref.path).expanduser(), base_dir)
            return _External("path", str(path), f"{key_path}.path" if key_path else None)
        if ref.package is not None:
            return _External("package", _module_name(ref.package), f"{key_path}.package" if key_path else None)
        return None

    def _external_index(self) -> _ExternalIndex:
        if self._index is None:
            self._index = _ExternalIndex()
        index = self._index
        for external in self._externals:
            if external in index.done:
                continue
            index.done.add(external)
            try:
                if external.kind == "path":
                    module = _loading.import_local_path(Path(external.target))
                else:
                    module = _loading.import_by_name(
                        external.target, slot="local", name=external.target, origin=external.origin
                    )
                manifest = _loading.check_module(module, slot=None, name=None, origin=external.origin)
                if external.expected_name is not None and external.expected_name != manifest.name:
                    raise PluginLoadError(
                        str(manifest.slot),
                        external.expected_name,
                        external.origin,
                        f"its manifest names it '{manifest.name}'; fix or remove the entry's 'name'",
                    )
            except PluginLoadError as exc:
                index.errors.append((external, exc))
                continue
            index.plugins.setdefault((manifest.slot, manifest.name), []).append(
                _ExternalPlugin(external, module, manifest)
            )
        return index

    def _group(self, slot: PluginSlot) -> list[importlib.metadata.EntryPoint]:
        group = entry_point_group(slot)
        cached = self._entry_point_cache.get(group)
        if cached is None:
            seen: set[tuple[str, str]] = set()
            cached = []
            for ep in self._entry_points_fn(group):
                if (ep.name, ep.value) not in seen:
                    seen.add((ep.name, ep.value))
                    cached.append(ep)
            self._entry_point_cache[group] = cached
        return cached

    def _candidates(self, slot: PluginSlot, name: str) -> list[_Candidate]:
        candidates: list[_Candidate] = []
        modules: set[str] = set()
        builtin = self._builtins.get((slot, name))
        if builtin is not None and _module_available(builtin.module):
            candidates.append(_Candidate("built-in", builtin.distribution, builtin.module, builtin.distribution))
            modules.add(builtin.module)
        for ep in self._group(slot):
            if ep.name != name or ep.module in modules:
                continue
            modules.add(ep.module)
            if builtin is not None and ep.module == builtin.module:
                candidates.append(_Candidate("built-in", builtin.distribution, builtin.module, builtin.distribution))
                continue
            distribution = _distribution_name(ep)
            origin = f"entry point {distribution}" if distribution else f"entry point {ep.name} = {ep.value}"
            candidates.append(_Candidate("installed", origin, ep.module, distribution, entry_point_value=ep.value))
        for plugin in self._external_index().plugins.get((slot, name), []):
            if plugin.external.kind == "package" and plugin.external.target in modules:
                continue
            candidates.append(
                _Candidate(plugin.external.source, plugin.external.origin, plugin.module.__name__, external=plugin)
            )
        return candidates

    def _load_candidate(self, slot: PluginSlot, name: str, candidate: _Candidate) -> LoadedPlugin:
        if candidate.external is not None:
            module = candidate.external.module
            manifest = _loading.check_module(module, slot=slot, name=name, origin=candidate.origin)
        else:
            if candidate.entry_point_value is not None and ":" in candidate.entry_point_value:
                raise PluginLoadError(
                    str(slot),
                    name,
                    candidate.origin,
                    f"the entry point's value must be a module name, not '{candidate.entry_point_value}'",
                )
            module = _loading.import_by_name(candidate.module_name, slot=str(slot), name=name, origin=candidate.origin)
            manifest = _loading.check_module(module, slot=slot, name=name, origin=candidate.origin)
        signature = _loading.create_signature(module.create, slot=str(slot), name=name, origin=candidate.origin)
        return LoadedPlugin(
            manifest=manifest,
            module=module,
            config_model=signature.config_model,
            source=candidate.source,
            origin=candidate.origin,
            takes_config=signature.takes_argument,
        )

    def _info(self, slot: PluginSlot, name: str, candidate: _Candidate, conflict: str | None) -> PluginInfo:
        version = description = error = None
        try:
            loaded = self._load_candidate(slot, name, candidate)
        except PluginError as exc:
            error = exc.message
        else:
            version = loaded.manifest.version
            description = loaded.manifest.description
        if version is None and candidate.distribution is not None:
            try:
                version = importlib.metadata.version(candidate.distribution)
            except importlib.metadata.PackageNotFoundError:
                version = None
        if conflict is not None:
            error = conflict if error is None else f"{conflict}; {error}"
        return PluginInfo(
            slot=slot,
            name=name,
            source=candidate.source,
            origin=candidate.origin,
            module=candidate.module_name if candidate.external is None or candidate.source != "local" else None,
            version=version,
            description=description,
            error=error,
            installed=True,
        )

    def _name_of(
        self, slot: PluginSlot, ref: PluginRef, key_path: str | None, config: OrchestratorConfig | None
    ) -> str:
        external = self._external_of_ref(ref, key_path, config)
        if external is None:
            if ref.plugin is None:
                raise PluginNotFoundError(str(slot), "<none>", available=self.available(slot))
            return ref.plugin
        self._add_external(external)
        index = self._external_index()
        for err_external, error in index.errors:
            if err_external.kind == external.kind and err_external.target == external.target:
                raise error
        plugin = next(
            p
            for plugins in index.plugins.values()
            for p in plugins
            if p.external.kind == external.kind and p.external.target == external.target
        )
        if plugin.manifest.slot != slot:
            raise PluginLoadError(
                str(slot),
                plugin.manifest.name,
                external.origin,
                f"its manifest declares slot '{plugin.manifest.slot}', but it is configured as a {slot} plugin",
            )
        if ref.plugin is not None and ref.plugin != plugin.manifest.name:
            raise PluginLoadError(
                str(slot),
                ref.plugin,
                external.origin,
                f"its manifest names it '{plugin.manifest.name}', but the config says plugin: {ref.plugin}",
            )
        return plugin.manifest.name

    def _validate_options(
        self,
        slot: PluginSlot,
        loaded: LoadedPlugin,
        ref: PluginRef,
        key_path: str | None,
        config: OrchestratorConfig | None,
    ) -> BaseModel | None:
        base = key_path or str(slot)
        name = loaded.manifest.name
        if loaded.config_model is None:
            if ref.options:
                first = sorted(ref.options)[0]
                listed = ", ".join(sorted(ref.options))
                raise self._config_error(
                    config, f"{base}.{first}", f"{slot} plugin '{name}' takes no options; remove: {listed}"
                )
            return None
        try:
            return loaded.config_model.model_validate(ref.options)
        except ValidationError as exc:
            problems = []
            first_key = base
            for position, detail in enumerate(exc.errors(include_url=False, include_input=False)):
                loc = ".".join(str(part) for part in detail["loc"])
                key = f"{base}.{loc}" if loc else base
                if position == 0:
                    first_key = key
                    problems.append(str(detail["msg"]))
                else:
                    problems.append(f"also {key}: {detail['msg']}")
            problem = f"invalid option for {slot} plugin '{name}': " + "; ".join(problems)
            raise self._config_error(config, first_key, problem) from exc

    @staticmethod
    def _config_error(config: OrchestratorConfig | None, key_path: str | None, problem: str) -> ConfigError:
        file = line = None
        if config is not None:
            file = str(config.config_path) if config.config_path is not None else None
            line = config.line_of(key_path) if key_path else None
        return ConfigError(problem, file=file, line=line, key_path=key_path)


def _config_refs(config: OrchestratorConfig) -> Iterator[tuple[PluginSlot, PluginRef, str]]:
    defaults = config.defaults
    yield PluginSlot.RUNTIME, defaults.runtime, "defaults.runtime"
    yield PluginSlot.AGENT, defaults.agent, "defaults.agent"
    yield PluginSlot.WORKSPACE, defaults.workspace, "defaults.workspace"
    if defaults.terminal is not None:
        yield PluginSlot.TERMINAL, defaults.terminal, "defaults.terminal"
    for role in ("orchestrator", "worker"):
        role_config = getattr(defaults, role)
        if role_config is not None and role_config.agent is not None:
            yield PluginSlot.AGENT, PluginRef(plugin=role_config.agent), f"defaults.{role}.agent"
    for project_id, project in config.projects.items():
        for slot in _PROJECT_SLOTS:
            ref = getattr(project, slot.value)
            if ref is not None:
                yield slot, ref, f"projects.{project_id}.{slot.value}"
        for role in ("orchestrator", "worker"):
            role_config = getattr(project, role)
            if role_config is not None and role_config.agent is not None:
                yield PluginSlot.AGENT, PluginRef(plugin=role_config.agent), f"projects.{project_id}.{role}.agent"
    for key, ref in config.notifiers.items():
        yield PluginSlot.NOTIFIER, ref, f"notifiers.{key}"


def _guess_identity(external: _External) -> tuple[PluginSlot | None, str | None]:
    """Slot and name of a plugin that failed to load, read from its source without running it."""
    if external.kind == "path":
        return _loading.guess_local_identity(Path(external.target))
    try:
        spec = importlib.util.find_spec(external.target)
    except Exception:  # finding a dotted module runs its parents, which may be what is broken
        spec = None
    if spec is None or not spec.origin or not spec.has_location:
        return None, None
    return _loading.guess_local_identity(Path(spec.origin))


def _module_name(package: str) -> str:
    return package.strip().replace("-", "_")


def _distribution_name(ep: importlib.metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    return str(name) if name else None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
