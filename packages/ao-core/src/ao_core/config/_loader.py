"""Finding, reading and validating ``agent-orchestrator.yaml``.

The file is parsed into YAML nodes (not straight into Python objects) so that every key keeps its line and
duplicate keys are caught. String values get ``${VAR}`` expansion, the result is validated by the pydantic
schema, and every problem becomes one :class:`~ao_core.errors.ConfigError` reading
``<file>:<line>: <key.path>: <problem>``.
"""

from __future__ import annotations

import difflib
import enum
import os
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ao_core.config._schema import (
    OrchestratorConfig,
    PluginRef,
    _merged_reactions,
)
from ao_core.errors import ConfigError

__all__ = ["CONFIG_FILE_NAMES", "dump_config", "find_config_file", "load_config"]

CONFIG_FILE_NAMES = ("agent-orchestrator.yaml", "agent-orchestrator.yml")
"""The names looked for in the working directory and its parents, in order."""

_GLOBAL_NAME = Path("agent-orchestrator") / "config.yaml"
_REDACTED = "***"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# ${NAME} / ${NAME:-default}; "$${" is the escape for a literal "${"; a lone "${" is malformed.
_REFERENCE_RE = re.compile(r"\$\$\{|\$\{(?P<body>[^}]*)\}|\$\{")
_VARIABLE_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>.*))?", re.DOTALL)
# Key names whose values are secrets even when written literally (compared lower-case, without - and _).
_SECRET_WORDS = ("token", "apikey", "secret", "password", "passwd", "webhookurl", "authorization", "privatekey")
_NOT_SECRET_SUFFIXES = ("envvar", "env", "file", "path", "header")
_MISSING_HINTS = {
    "projects": "; list the repositories ao works on under 'projects:' ('ao init' writes one)",
    "path": "; give the directory of the repository",
}


# --------------------------------------------------------------------------------------------- discovery


def find_config_file(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Find the config file to use.

    The order: ``$AO_CONFIG_PATH`` (an error when set but missing); ``agent-orchestrator.yaml`` then
    ``agent-orchestrator.yml`` in ``cwd`` and each of its parents; then the global config:
    ``$AO_GLOBAL_CONFIG``, ``$XDG_CONFIG_HOME/agent-orchestrator/config.yaml`` (``~/.config`` when the
    variable is unset), ``~/.agent-orchestrator/config.yaml``.

    Args:
        cwd: where to start looking (default: the current directory).
        env: the environment to read (default: ``os.environ``).

    Returns:
        The path of the config file.

    Raises:
        ConfigError: when ``$AO_CONFIG_PATH`` names a missing file, or no config file exists anywhere.
    """
    env = os.environ if env is None else env
    start = (Path.cwd() if cwd is None else cwd).absolute()
    explicit = env.get("AO_CONFIG_PATH")
    if explicit:
        path = _expand_home(explicit, env)
        path = path if path.is_absolute() else start / path
        if not path.is_file():
            raise ConfigError(
                f"AO_CONFIG_PATH is set to {explicit!r}, but there is no such file; fix or unset the variable"
            )
        return path
    for directory in (start, *start.parents):
        for name in CONFIG_FILE_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    for candidate in _global_candidates(env):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_FILE_NAMES[0]} found in {start} or any parent directory, and no global config "
        f"(~/.agent-orchestrator/config.yaml); run 'ao init' in your repository to create one"
    )


def _global_candidates(env: Mapping[str, str]) -> list[Path]:
    candidates: list[Path] = []
    if env.get("AO_GLOBAL_CONFIG"):
        candidates.append(_expand_home(env["AO_GLOBAL_CONFIG"], env))
    xdg = env.get("XDG_CONFIG_HOME")
    candidates.append((Path(xdg) if xdg else _home(env) / ".config") / _GLOBAL_NAME)
    candidates.append(_home(env) / ".agent-orchestrator" / "config.yaml")
    return candidates


def _home(env: Mapping[str, str]) -> Path:
    home = env.get("HOME")
    return Path(home) if home else Path.home()


def _expand_home(raw: str, env: Mapping[str, str]) -> Path:
    if raw == "~" or raw.startswith("~/"):
        return _home(env) / raw[2:]
    return Path(raw).expanduser()


# --------------------------------------------------------------------------------------------- reading


@dataclass
class _Source:
    """What the loader learned about the file besides its data."""

    file: str
    env: Mapping[str, str]
    top_line: int = 1
    lines: dict[str, int] = field(default_factory=dict)
    secret_paths: set[str] = field(default_factory=set)

    def line_for(self, key_path: str) -> int:
        """The line of ``key_path`` or of its innermost parent key that exists in the file."""
        path = key_path
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return self.top_line

    def is_secret(self, key_path: str) -> bool:
        """Whether ``key_path`` or any parent holds a secret (its value must not appear in messages)."""
        path = key_path
        while path:
            if path in self.secret_paths:
                return True
            path = path.rpartition(".")[0]
        return False

    def error(self, key_path: str, problem: str, *, line: int | None = None) -> ConfigError:
        return ConfigError(
            problem,
            file=self.file,
            line=self.line_for(key_path) if line is None else line,
            key_path=key_path or None,
        )


class _NodeLoader(yaml.SafeLoader):
    """A safe loader used only to compose nodes and construct scalars; mappings are built by the loader."""


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _looks_secret(key: str) -> bool:
    name = key.lower().replace("-", "").replace("_", "")
    return any(word in name for word in _SECRET_WORDS) and not name.endswith(_NOT_SECRET_SUFFIXES)


def _read_yaml(text: str, src: _Source) -> Any:
    loader = _NodeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        src.top_line = node.start_mark.line + 1
        return _build(node, "", loader, src, set())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        context = ""
        if exc.context and exc.problem and exc.context_mark is not None and exc.context_mark is not mark:
            context = f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        raise ConfigError(
            f"invalid YAML: {problem}{context}", file=src.file, line=mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=src.file) from exc
    finally:
        loader.dispose()


def _build(node: Node, path: str, loader: _NodeLoader, src: _Source, active: set[int]) -> Any:
    """Turn a node into plain data, recording key lines, duplicate keys, expansions and secret keys."""
    if id(node) in active:
        raise src.error(path, "a YAML alias refers to one of its own parents; remove the recursion")
    if isinstance(node, MappingNode):
        active.add(id(node))
        try:
            return _build_mapping(node, path, loader, src, active)
        finally:
            active.discard(id(node))
    if isinstance(node, SequenceNode):
        active.add(id(node))
        try:
            items = []
            for index, item in enumerate(node.value):
                item_path = _join(path, str(index))
                src.lines[item_path] = item.start_mark.line + 1
                items.append(_build(item, item_path, loader, src, active))
            return items
        finally:
            active.discard(id(node))
    assert isinstance(node, ScalarNode)  # the composer yields only these three node kinds
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str):
        return _expand(value, path, src)
    return value


def _build_mapping(node: MappingNode, path: str, loader: _NodeLoader, src: _Source, active: set[int]) -> Any:
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode):
            raise src.error(path, "a key must be a plain name, not a list or a mapping", line=line)
        key = str(key_node.value)
        if key in seen:
            raise src.error(
                _join(path, key), f"duplicate key '{key}' (first set on line {seen[key]}); remove one", line=line
            )
        seen[key] = line
    loader.flatten_mapping(node)  # resolve "<<: *anchor" merges; explicit keys come after merged ones
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise src.error(path, "a key must be a plain name, not a list or a mapping")
        key = str(key_node.value)
        key_path = _join(path, key)
        src.lines[key_path] = key_node.start_mark.line + 1
        if _looks_secret(key):
            src.secret_paths.add(key_path)
        result[key] = _build(value_node, key_path, loader, src, active)
    return result


def _expand(text: str, key_path: str, src: _Source) -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}`` in one string value; ``$${`` stays a literal ``${``.

    A value that took anything from the environment is recorded as a secret path.
    """
    if "${" not in text:
        return text
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        if match.group(0) == "$${":
            return "${"
        body = match.group("body")
        variable = _VARIABLE_RE.fullmatch(body) if body is not None else None
        if variable is None:
            shown = match.group(0) if body is not None else "${"
            raise src.error(
                key_path,
                f"malformed variable reference {shown!r}; write ${{NAME}} or ${{NAME:-default}} "
                "(and $${ for a literal '${')",
            )
        name, default = variable.group("name"), variable.group("default")
        value = src.env.get(name)
        if default is not None and not value:
            return default  # the text of the file, not a value from the environment: not a secret
        used = True
        if value is None:
            raise src.error(
                key_path,
                f"environment variable {name} is not set; set it, or give a default with ${{{name}:-default}}",
            )
        return value

    expanded = _REFERENCE_RE.sub(replace, text)
    if used:
        src.secret_paths.add(key_path)
    return expanded


# --------------------------------------------------------------------------------------------- loading


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> OrchestratorConfig:
    """Load, expand and validate a config file.

    Args:
        path: the file (default: :func:`find_config_file` from ``cwd``).
        env: the environment for ``${VAR}`` expansion and discovery (default: ``os.environ``).
        cwd: where discovery starts when ``path`` is ``None`` (default: the current directory).

    Returns:
        The validated config with defaults filled in: project paths absolute, ``name`` and
        ``sessionPrefix`` set on every project, GitHub inferred as tracker and SCM for ``owner/name``
        repos, the built-in reactions merged in. ``line_of()`` maps key paths to lines of the file.

    Raises:
        ConfigError: for the first problem in the file, as ``<file>:<line>: <key.path>: <problem>``.
    """
    env = os.environ if env is None else env
    if path is None:
        path = find_config_file(cwd, env)
    src = _Source(file=str(path), env=env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("no such file; run 'ao init' to create one, or pass the right path", file=src.file) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=src.file) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the file: {exc.strerror or exc}", file=src.file) from exc

    data = _read_yaml(text, src)
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {_yaml_kind(data)}"
        raise src.error("", f"the file must be a mapping of settings with a 'projects:' section, but it is {kind}")
    _default_notifier_plugins(data)

    try:
        config = OrchestratorConfig.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, data, src) from exc

    config_dir = path.absolute().parent
    _resolve_paths(config, config_dir, env)
    _fill_project_defaults(config)
    _check_session_prefixes(config, src)
    config.reactions = _merged_reactions(config.reactions)
    config._config_path = path.absolute()
    config._lines = dict(src.lines)
    config._secret_paths = set(src.secret_paths)
    return config


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return "single value"


def _default_notifier_plugins(data: dict[str, Any]) -> None:
    """A notifier entry without ``plugin``/``package``/``path`` uses the plugin named by its key (as upstream)."""
    notifiers = data.get("notifiers")
    if not isinstance(notifiers, dict):
        return
    for key, entry in notifiers.items():
        if entry is None:
            notifiers[key] = {"plugin": key}
        elif isinstance(entry, dict) and not {"plugin", "package", "path"} & set(entry):
            notifiers[key] = {"plugin": key, **entry}


def _resolve(raw: str, config_dir: Path, env: Mapping[str, str]) -> str:
    path = _expand_home(raw, env)
    if not path.is_absolute():
        path = config_dir / path
    return os.path.normpath(path)


def _plugin_refs(config: OrchestratorConfig) -> list[PluginRef]:
    refs: list[PluginRef | None] = [
        config.defaults.runtime,
        config.defaults.agent,
        config.defaults.workspace,
        config.defaults.terminal,
        *config.notifiers.values(),
    ]
    for project in config.projects.values():
        refs += [project.runtime, project.agent, project.workspace, project.tracker, project.scm, project.terminal]
    return [ref for ref in refs if ref is not None]


def _resolve_paths(config: OrchestratorConfig, config_dir: Path, env: Mapping[str, str]) -> None:
    for project in config.projects.values():
        project.path = _resolve(project.path, config_dir, env)
    for entry in config.plugins:
        if entry.path is not None:
            entry.path = _resolve(entry.path, config_dir, env)
    for ref in _plugin_refs(config):
        if ref.path is not None:
            ref.path = _resolve(ref.path, config_dir, env)


def _fill_project_defaults(config: OrchestratorConfig) -> None:
    for project_id, project in config.projects.items():
        if project.name is None:
            project.name = project_id
        if project.repo is not None and "/" in project.repo and (project.scm is None or project.tracker is None):
            host = _scm_host_plugin(project.scm, project.tracker)
            if project.scm is None:
                project.scm = PluginRef(plugin=host)
            if project.tracker is None:
                project.tracker = PluginRef(plugin=host)


def _scm_host_plugin(*refs: PluginRef | None) -> str:
    """``gitlab`` when the configured tracker/SCM points at GitLab, else ``github`` (as upstream)."""
    for ref in refs:
        if ref is None:
            continue
        if ref.plugin == "gitlab" or "gitlab" in str(ref.options.get("host", "")):
            return "gitlab"
    return "github"


def _check_session_prefixes(config: OrchestratorConfig, src: _Source) -> None:
    owners: dict[str, str] = {}
    for project_id, project in config.projects.items():
        explicit = project.session_prefix is not None
        prefix = config.project_prefix(project_id)
        other = owners.get(prefix)
        if other is not None:
            how = "set explicitly" if explicit else f"derived from the directory name {Path(project.path).name!r}"
            key_path = f"projects.{project_id}" + (".sessionPrefix" if explicit else "")
            raise src.error(
                key_path,
                f"session prefix {prefix!r} ({how}) is also the prefix of project '{other}'; session ids "
                f"would collide: give '{project_id}' or '{other}' an explicit, distinct sessionPrefix",
            )
        owners[prefix] = project_id
        project.session_prefix = prefix


# --------------------------------------------------------------------------------------------- errors


@dataclass
class _Problem:
    line: int
    order: int
    key_path: str
    message: str
    expected: str | None  # the "Input should be ..." part, to combine the members of a union


def _first_error(exc: ValidationError, data: dict[str, Any], src: _Source) -> ConfigError:
    problems = [_convert(error, index, data, src) for index, error in enumerate(exc.errors())]
    first = min(problems, key=lambda p: (p.line, p.order))
    message = first.message
    same = [p for p in problems if p.key_path == first.key_path and p.expected is not None]
    if first.expected is not None and len(same) > 1:
        alternatives = " or ".join(dict.fromkeys(p.expected for p in same if p.expected))
        message = f"expected {alternatives}"
        shown = _shown_input(_value_at(data, first.key_path), first.key_path, src)
        message += shown
    return src.error(first.key_path, message, line=first.line)


def _value_at(data: Any, key_path: str) -> Any:
    node = data
    for part in key_path.split(".") if key_path else []:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _convert(error: Any, order: int, data: dict[str, Any], src: _Source) -> _Problem:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind: str = error["type"]
    missing = kind == "missing"
    parts: list[str] = []
    node: Any = data
    # Keep the parts of ``loc`` that exist in the file; drop union-member and "[key]" tags pydantic adds.
    for part in loc[:-1] if missing else loc:
        if isinstance(node, dict) and str(part) in node:
            parts.append(str(part))
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            parts.append(str(part))
            node = node[part]
    if missing:
        parts.append(str(loc[-1]))
    key_path = ".".join(parts)
    line = src.line_for(".".join(parts[:-1]) if missing else key_path)
    message, expected = _describe(error, loc, key_path, src)
    return _Problem(line=line, order=order, key_path=key_path, message=message, expected=expected)


def _describe(error: Any, loc: tuple[int | str, ...], key_path: str, src: _Source) -> tuple[str, str | None]:
    kind: str = error["type"]
    msg: str = error["msg"]
    value = error.get("input")
    if kind == "missing":
        hint = _MISSING_HINTS.get(str(loc[-1]), "")
        return f"missing required key '{loc[-1]}'{hint}", None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown key '{key}'{_did_you_mean(key, _allowed_keys(loc[:-1]))}", None
    if kind in ("value_error", "assertion_error"):
        text = str(error.get("ctx", {}).get("error", msg))
        if isinstance(value, str) and value and src.is_secret(key_path):
            text = text.replace(repr(value), "'***'").replace(value, "***")  # the schema's messages quote values
        return text, None
    if loc and loc[-1] == "[key]":
        choices = msg.removeprefix("Input should be ")
        options = re.findall(r"'([^']*)'", choices)
        return f"unknown key {value!r}; expected {choices}{_did_you_mean(str(value), options)}", None
    if kind == "model_type":
        if error.get("ctx", {}).get("class_name") == PluginRef.__name__:
            text = "expected a plugin name or a mapping with 'plugin' and the plugin's options"
        else:
            text = "expected a mapping of settings"
        return text + _shown_input(value, key_path, src), None
    expected = msg.removeprefix("Input should be ") if msg.startswith("Input should be ") else None
    text = msg[:1].lower() + msg[1:]
    return text + _shown_input(value, key_path, src), expected


def _shown_input(value: Any, key_path: str, src: _Source) -> str:
    """`` (got 'abc')`` for a scalar that is not a secret, else nothing."""
    if value is None:
        return " (the value is empty)"
    if src.is_secret(key_path):
        return ""
    if isinstance(value, dict | list):
        return f" (got a {'mapping' if isinstance(value, dict) else 'list'})"
    text = repr(value)
    return f" (got {text if len(text) <= 60 else text[:57] + '...'})"


def _did_you_mean(key: str, allowed: list[str]) -> str:
    if not allowed:
        return ""
    camel = to_camel(key)
    if camel != key and camel in allowed:
        return f"; did you mean '{camel}'?"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if not close:
        lowered = {name.lower(): name for name in allowed}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    return f"; did you mean '{close[0]}'?" if close else ""


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the schema accepts at ``loc`` (the location of a mapping), or [] when unknown."""
    current: Any = OrchestratorConfig
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
            if name is None:
                return []
            current = _unwrap(fields[name].annotation)
        elif get_origin(current) is dict:
            current = _unwrap(get_args(current)[1])
        elif get_origin(current) is list:
            current = _unwrap(get_args(current)[0])
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``; other unions → ``None`` (not followed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else None
    return annotation


# --------------------------------------------------------------------------------------------- dumping


def dump_config(config: OrchestratorConfig, *, redact: bool = True) -> dict[str, Any]:
    """The effective configuration as plain data, with the keys of the YAML file.

    Defaults are filled in and the built-in reactions merged in; a slot's plugin is a plain name
    when it has no options, else ``{plugin: name, ...options}``; unset (``None``) values are left out.

    Args:
        config: a loaded (or constructed) config.
        redact: replace every secret with ``"***"``: values that came from a ``${VAR}`` expansion and
            values of keys whose name says secret (token, apiKey, secret, password, webhookUrl, ...).

    Returns:
        A mapping that ``yaml.safe_dump`` and ``json.dumps`` accept.
    """
    secrets = config._secret_paths if redact else None
    data = _dump_model(config, "", secrets)
    data["reactions"] = {
        key: _dump_value(reaction, _join("reactions", key), secrets)
        for key, reaction in _merged_reactions(config.reactions).items()
    }
    return data


def _is_secret(key: str, key_path: str, value: Any, secrets: set[str] | None) -> bool:
    if secrets is None or value is None or value in ("", [], {}):
        return False
    return key_path in secrets or (_looks_secret(key) and not isinstance(value, bool))


def _dump_model(model: BaseModel, path: str, secrets: set[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        key = info.alias or name
        out[key] = _dump_entry(key, _join(path, key), value, secrets)
    for key, value in (model.model_extra or {}).items():
        out[key] = _dump_entry(key, _join(path, key), value, secrets)
    return out


def _dump_entry(key: str, key_path: str, value: Any, secrets: set[str] | None) -> Any:
    if _is_secret(key, key_path, value, secrets):
        return _REDACTED
    return _dump_value(value, key_path, secrets)


def _dump_value(value: Any, path: str, secrets: set[str] | None) -> Any:
    if isinstance(value, PluginRef):
        return _dump_plugin_ref(value, path, secrets)
    if isinstance(value, BaseModel):
        return _dump_model(value, path, secrets)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = str(raw_key.value if isinstance(raw_key, enum.Enum) else raw_key)
            out[key] = _dump_entry(key, _join(path, key), item, secrets)
        return out
    if isinstance(value, list | tuple):
        return [_dump_entry("", _join(path, str(i)), item, secrets) for i, item in enumerate(value)]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def _dump_plugin_ref(ref: PluginRef, path: str, secrets: set[str] | None) -> Any:
    if not ref.options and ref.package is None and ref.path is None:
        return ref.plugin
    out: dict[str, Any] = {}
    for key in ("plugin", "package", "path"):
        value = getattr(ref, key)
        if value is not None:
            out[key] = _dump_entry(key, _join(path, key), value, secrets)
    for key, value in ref.options.items():
        # The file may spell options flat (``token:``) or under ``options:``; both paths are secret paths.
        nested = _join(path, f"options.{key}")
        if secrets is not None and nested in secrets:
            out[key] = _REDACTED
        else:
            out[key] = _dump_entry(key, _join(path, key), value, secrets)
    return out
