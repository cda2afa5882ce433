"""Creating a plugin package from the template shipped in ``ao_core/_template`` (``ao plugin new``).

The template has a ``common/`` tree and one tree per supported slot; a slot's file replaces the common file
at the same path. Files ending in ``.tmpl`` are rendered (``{{placeholder}}`` replaced, the suffix dropped);
other files are copied as they are. A path part ``__module__`` becomes the import name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ao_core.errors import PluginError
from ao_core.interfaces import API_VERSION

__all__ = [
    "MAX_NAME_LENGTH",
    "SCAFFOLD_SLOTS",
    "PluginNames",
    "ScaffoldError",
    "plugin_names",
    "render",
    "scaffold",
    "template_root",
]

SCAFFOLD_SLOTS = ("notifier", "runtime", "terminal")
"""The slots ``ao plugin new`` can generate a working plugin for (one template tree each)."""

MAX_NAME_LENGTH = 30
"""The longest plugin name ``ao plugin new`` accepts (configs spell it; generated lines must stay short)."""

_ALL_SLOTS = ("runtime", "agent", "workspace", "tracker", "scm", "notifier", "terminal")
_PROTOCOLS = {
    "runtime": "Runtime",
    "agent": "Agent",
    "workspace": "Workspace",
    "tracker": "Tracker",
    "scm": "SCM",
    "notifier": "Notifier",
    "terminal": "Terminal",
}
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_PLACEHOLDER_RE = re.compile(r"\{\{([a-z_]+)\}\}")
_MODULE_PART = "__module__"
_SUFFIX = ".tmpl"


class ScaffoldError(PluginError):
    """Raised when ``ao plugin new`` cannot create a package: bad slot or name, or the target exists."""


@dataclass(frozen=True)
class PluginNames:
    """Every spelling of a new plugin's identity that the template uses."""

    slot: str
    name: str
    description: str

    @property
    def distribution(self) -> str:
        """``ao-<slot>-<name>``."""
        return f"ao-{self.slot}-{self.name}"

    @property
    def module(self) -> str:
        """``ao_<slot>_<name>`` with ``-`` turned into ``_``."""
        return self.distribution.replace("-", "_")

    @property
    def protocol(self) -> str:
        """The slot's Protocol in ``ao_core.interfaces`` (``Notifier``)."""
        return _PROTOCOLS[self.slot]

    @property
    def class_name(self) -> str:
        """``<Name><Slot>``: ``my-thing`` notifier → ``MyThingNotifier``."""
        return "".join(part.capitalize() for part in self.name.split("-")) + self.protocol

    def placeholders(self) -> dict[str, str]:
        """The values of the template's ``{{placeholders}}``."""
        return {
            "slot": self.slot,
            "slot_const": self.slot.upper(),
            "name": self.name,
            "name_snake": self.name.replace("-", "_"),
            "dist": self.distribution,
            "module": self.module,
            "protocol": self.protocol,
            "class_name": self.class_name,
            "config_class": f"{self.class_name}Config",
            "contract": f"{self.protocol}Contract",
            "api_version": str(API_VERSION),
            "description": self.description,
            "description_toml": json.dumps(self.description, ensure_ascii=False),
            "description_py": _python_literal(self.description),
        }


def plugin_names(slot: str, name: str, description: str | None = None) -> PluginNames:
    """Check a slot and a name for ``ao plugin new`` and return every spelling the template needs.

    Raises:
        ScaffoldError: the slot is unknown or has no template, the name is not lowercase letters, digits and
            single ``-`` (starting with a letter), or the description is not one line.
    """
    if slot not in _ALL_SLOTS:
        raise ScaffoldError(f"unknown slot '{slot}'; slots: {', '.join(_ALL_SLOTS)}")
    if slot not in SCAFFOLD_SLOTS:
        raise ScaffoldError(
            f"'ao plugin new' cannot generate a working {slot} plugin yet; it supports "
            f"{', '.join(SCAFFOLD_SLOTS)}. For a {slot} plugin, start from one of these and implement "
            f"ao_core.interfaces.{_PROTOCOLS[slot]} (see docs/plugins.md)"
        )
    if not _NAME_RE.match(name) or len(name) > MAX_NAME_LENGTH:
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and '-', starting with a letter, "
            f"at most {MAX_NAME_LENGTH} characters (for example 'my-notifier')"
        )
    text = f"A {slot} plugin for ao." if description is None else description.strip()
    if not text or any(ord(c) < 32 for c in text):
        raise ScaffoldError("the description must be one non-empty line of text")
    return PluginNames(slot=slot, name=name, description=text)


def template_root() -> Traversable:
    """The template tree shipped inside ``ao_core``."""
    return resources.files("ao_core") / "_template"


def render(text: str, values: dict[str, str]) -> str:
    """Replace every ``{{key}}`` in ``text``.

    Raises:
        ScaffoldError: a placeholder has no value (a bug in the template).
    """

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise ScaffoldError(f"the template uses an unknown placeholder {{{{{key}}}}}")
        return values[key]

    return _PLACEHOLDER_RE.sub(replace, text)


def scaffold(names: PluginNames, directory: Path, *, template: Traversable | None = None) -> Path:
    """Create the package ``directory / names.distribution`` from the template and return its path.

    Raises:
        ScaffoldError: the target exists.
    """
    template = template if template is not None else template_root()
    target = directory / names.distribution
    if target.exists() or target.is_symlink():
        raise ScaffoldError(f"{target} already exists; remove it or choose another --dir or name")
    files: dict[tuple[str, ...], Traversable] = {}
    for tree in ("common", names.slot):
        for relative, item in _walk(template / tree, ()):
            files[relative] = item
    values = names.placeholders()
    rendered: list[tuple[Path, bytes]] = []
    for relative, item in sorted(files.items()):
        parts = [names.module if part == _MODULE_PART else part for part in relative]
        if parts[-1].endswith(_SUFFIX):
            parts[-1] = render(parts[-1][: -len(_SUFFIX)], values)
            content = render(item.read_text(encoding="utf-8"), values).encode()
        else:
            content = item.read_bytes()
        rendered.append((target.joinpath(*parts), content))
    target.mkdir(parents=True)
    for path, content in rendered:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return target


def _python_literal(text: str) -> str:
    """``text`` as a Python string literal, quoted the way ``ruff format`` writes it (fewest escapes)."""
    body = text.replace("\\", "\\\\")
    if text.count('"') > text.count("'"):
        return "'" + body.replace("'", "\\'") + "'"
    return '"' + body.replace('"', '\\"') + '"'


def _walk(node: Traversable, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], Traversable]]:
    found: list[tuple[tuple[str, ...], Traversable]] = []
    if not node.is_dir():
        return found
    for child in node.iterdir():
        if child.name == "__pycache__" or child.name.endswith(".pyc"):
            continue
        if child.is_dir():
            found.extend(_walk(child, (*prefix, child.name)))
        else:
            found.append(((*prefix, child.name), child))
    return found
