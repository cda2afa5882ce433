"""Importing and checking plugin modules: the mechanics behind :mod:`ao_core.registry`.

Everything here works on one module at a time and raises :class:`~ao_core.errors.PluginLoadError` naming
the plugin's origin, chained from the cause.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import sys
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ao_core.errors import PluginLoadError
from ao_core.interfaces import API_VERSION, PluginManifest
from ao_core.models import PluginSlot

__all__ = [
    "CreateSignature",
    "check_module",
    "create_signature",
    "guess_local_identity",
    "import_by_name",
    "import_local_path",
    "local_entry_file",
]


_SLOT_VALUES = frozenset(s.value for s in PluginSlot)


def import_by_name(module_name: str, *, slot: str, name: str, origin: str) -> types.ModuleType:
    """Import ``module_name``, turning any failure into a ``PluginLoadError`` chained from the cause."""
    try:
        return importlib.import_module(module_name)
    except Exception as exc:
        raise PluginLoadError(slot, name, origin, f"importing {module_name} failed: {_describe(exc)}") from exc


def local_entry_file(path: Path) -> Path:
    """The file to execute for a local plugin path: the ``.py`` file, or a package's ``__init__.py``.

    Raises:
        PluginLoadError: when the path is neither.
    """
    if path.is_dir():
        init = path / "__init__.py"
        if init.is_file():
            return init
        raise PluginLoadError(
            "local", path.name, str(path), "a plugin directory must be a package: it has no __init__.py"
        )
    if path.is_file() and path.suffix == ".py":
        return path
    if not path.exists():
        raise PluginLoadError("local", path.stem, str(path), "the path does not exist")
    raise PluginLoadError("local", path.stem, str(path), "expected a .py file or a package directory")


def import_local_path(path: Path) -> types.ModuleType:
    """Import a plugin from a ``.py`` file or package directory under a unique synthetic module name.

    The name is derived from the absolute path, so importing the same path twice gives the same module and
    two files with the same name never collide. The module is registered in ``sys.modules`` before it runs
    (pydantic models and relative imports inside a package need that) and removed again if it fails.

    Raises:
        PluginLoadError: when the path is not a plugin file or package, or executing it fails.
    """
    path = path.resolve()
    entry = local_entry_file(path)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in (path.name if path.is_dir() else path.stem))
    module_name = f"_ao_local_plugin_{stem}_{digest}"
    existing = sys.modules.get(module_name)
    if existing is not None:
        return existing
    search = [str(path)] if path.is_dir() else None
    spec = importlib.util.spec_from_file_location(module_name, entry, submodule_search_locations=search)
    if spec is None or spec.loader is None:  # pragma: no cover - only for files Python cannot load at all
        raise PluginLoadError("local", path.stem, str(path), "Python cannot load this file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        for key in [k for k in sys.modules if k == module_name or k.startswith(module_name + ".")]:
            del sys.modules[key]
        raise PluginLoadError("local", path.stem, str(path), f"importing it failed: {_describe(exc)}") from exc
    return module


def check_module(
    module: object,
    *,
    slot: PluginSlot | None,
    name: str | None,
    origin: str,
) -> PluginManifest:
    """Check that ``module`` is a plugin for ``slot`` named ``name`` and return its manifest.

    ``slot`` / ``name`` of ``None`` accept whatever the manifest says (local paths: the manifest decides).

    Raises:
        PluginLoadError: when ``manifest`` or ``create`` is missing or wrong, the slot or name differ from
            what was asked for, or the plugin speaks another plugin API version.
    """
    label_slot = str(slot) if slot is not None else "local"
    label_name = name if name is not None else _module_label(module)
    manifest = getattr(module, "manifest", None)
    if manifest is None:
        raise PluginLoadError(label_slot, label_name, origin, "the module has no 'manifest'")
    if not isinstance(manifest, PluginManifest):
        raise PluginLoadError(
            label_slot,
            label_name,
            origin,
            f"'manifest' must be an ao_core.interfaces.PluginManifest, not {type(manifest).__name__}",
        )
    label_slot = str(slot) if slot is not None else str(manifest.slot)
    label_name = name if name is not None else manifest.name
    if not callable(getattr(module, "create", None)):
        raise PluginLoadError(label_slot, label_name, origin, "the module has no callable 'create'")
    if manifest.api_version != API_VERSION:
        newer = "ao-core" if manifest.api_version > API_VERSION else "the plugin"
        raise PluginLoadError(
            label_slot,
            label_name,
            origin,
            f"it is written for plugin API version {manifest.api_version}, but this ao-core speaks version "
            f"{API_VERSION}; upgrade {newer}",
        )
    if slot is not None and manifest.slot != slot:
        raise PluginLoadError(
            label_slot,
            label_name,
            origin,
            f"its manifest declares slot '{manifest.slot}', but it was asked for as a {slot} plugin",
        )
    if name is not None and manifest.name != name:
        raise PluginLoadError(
            label_slot,
            label_name,
            origin,
            f"its manifest names it '{manifest.name}'; the names must agree",
        )
    return manifest


class CreateSignature(typing.NamedTuple):
    """How to call a plugin's ``create``: with a config model instance, with ``None``, or with nothing."""

    takes_argument: bool
    config_model: type[BaseModel] | None


def create_signature(create: Callable[..., Any], *, slot: str, name: str, origin: str) -> CreateSignature:
    """Find the config model of a plugin: the annotation of ``create``'s first parameter.

    ``X | None`` and ``Optional[X]`` are unwrapped. A parameter annotated with anything but a pydantic model
    (or not annotated) means the plugin takes no options.

    Raises:
        PluginLoadError: when the annotation cannot be resolved.
    """
    try:
        parameters = list(inspect.signature(create).parameters.values())
    except (TypeError, ValueError):
        return CreateSignature(takes_argument=True, config_model=None)
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        or p.kind is inspect.Parameter.VAR_POSITIONAL
    ]
    if not positional:
        return CreateSignature(takes_argument=False, config_model=None)
    first = positional[0]
    if first.kind is inspect.Parameter.VAR_POSITIONAL or first.annotation is inspect.Parameter.empty:
        return CreateSignature(takes_argument=True, config_model=None)
    # Resolve only this parameter's annotation: the return annotation (the slot's Protocol) is often imported
    # under TYPE_CHECKING only, and resolving it would fail for no reason.
    holder = types.SimpleNamespace(__annotations__={first.name: first.annotation})
    try:
        hints = typing.get_type_hints(holder, globalns=getattr(create, "__globals__", None))
    except Exception as exc:
        raise PluginLoadError(
            slot,
            name,
            origin,
            f"cannot resolve the annotation of create()'s parameter '{first.name}': {_describe(exc)}",
        ) from exc
    return CreateSignature(takes_argument=True, config_model=_model_of(hints.get(first.name)))


def _model_of(annotation: object) -> type[BaseModel] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) != 1:
            return None
        annotation = members[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def guess_local_identity(path: Path) -> tuple[PluginSlot | None, str | None]:
    """Read slot and name from a local plugin's source without running it (for listing broken plugins).

    Looks for ``PluginManifest(name="...", slot=PluginSlot.X | "x")``; returns ``None`` for what it
    cannot find, including when the file does not parse.
    """
    try:
        tree = ast.parse(local_entry_file(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, PluginLoadError):
        tree = None
    slot: PluginSlot | None = None
    name: str | None = None
    if tree is not None:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called_name(node.func) == "PluginManifest"):
                continue
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "name" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    name = value.value
                elif keyword.arg == "slot":
                    text = value.attr if isinstance(value, ast.Attribute) else getattr(value, "value", None)
                    if isinstance(text, str) and text.lower() in _SLOT_VALUES:
                        slot = PluginSlot(text.lower())
            break
    if slot is None:
        words = path.stem.lower().replace("-", "_").split("_")
        slot = next((s for s in PluginSlot if s.value in words), None)
    return slot, name


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _module_label(module: object) -> str:
    return str(getattr(module, "__name__", "?")).rpartition(".")[2]


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
