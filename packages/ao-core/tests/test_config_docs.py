"""docs/config.md stays in sync with the schema: every key has a row, and every scalar default is stated."""

from __future__ import annotations

import enum
import re
from pathlib import Path

import pytest
from ao_core.config import (
    DEFAULT_REACTIONS,
    AgentSpecificConfig,
    DashboardConfig,
    DefaultsConfig,
    LifecycleConfig,
    LocalPluginEntry,
    OrchestratorConfig,
    PluginRef,
    PowerConfig,
    ProjectConfig,
    ReactionConfig,
    RoleAgentConfig,
)
from ao_core.models import EventPriority, PermissionMode, ReactionAction
from pydantic import BaseModel

DOC = Path(__file__).resolve().parents[3] / "docs" / "config.md"
ROW_RE = re.compile(r"^\| `([^`]+)` \|")

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("## Top-level keys", OrchestratorConfig),
    ("### power", PowerConfig),
    ("### lifecycle", LifecycleConfig),
    ("### dashboard", DashboardConfig),
    ("### defaults", DefaultsConfig),
    ("### plugins", LocalPluginEntry),
    ("### projects", ProjectConfig),
    ("### projects", AgentSpecificConfig),
    ("#### orchestrator and worker", RoleAgentConfig),
    ("## reactions", ReactionConfig),
]


def rows_by_section() -> dict[str, dict[str, list[str]]]:
    """heading → {key → the cells of its first table row}."""
    sections: dict[str, dict[str, list[str]]] = {}
    heading = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.strip()
            sections.setdefault(heading, {})
            continue
        match = ROW_RE.match(line)
        if match:
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
            sections[heading].setdefault(match.group(1), cells)
    return sections


def documented_default(value: object) -> str | None:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        return f"`{value.value}`"
    if isinstance(value, int | str):
        return f"`{value}`"
    if isinstance(value, PluginRef) and not value.options:
        return f"`{value.plugin}`"
    return None


@pytest.mark.parametrize(("heading", "model"), SECTIONS, ids=[f"{h}:{m.__name__}" for h, m in SECTIONS])
def test_every_key_is_documented_with_its_default(heading: str, model: type[BaseModel]) -> None:
    rows = rows_by_section()[heading]
    for name, info in model.model_fields.items():
        key = info.alias or name
        assert key in rows, f"docs/config.md, {heading}: no row for `{key}`"
        expected = documented_default(info.get_default(call_default_factory=True))
        if expected is not None:
            assert expected in rows[key][2], f"docs/config.md, {heading}: `{key}` should say its default {expected}"


def test_the_builtin_reaction_table_matches() -> None:
    rows = rows_by_section()["### Built-in reactions"]
    assert list(rows) == list(DEFAULT_REACTIONS)
    for key, reaction in DEFAULT_REACTIONS.items():
        _, auto, action, priority, other = rows[key]
        assert auto.strip("*") == str(reaction.auto).lower()
        assert action == f"`{reaction.action.value}`"
        assert priority == (f"`{reaction.priority.value}`" if reaction.priority else "—")
        for field, value in (
            ("retries", reaction.retries),
            ("escalateAfter", reaction.escalate_after),
            ("threshold", reaction.threshold),
        ):
            if value is not None:
                assert re.search(rf"{field} `?{value}`?", other), f"{key}: {field} {value} missing from {other!r}"


@pytest.mark.parametrize("values", [ReactionAction, EventPriority, PermissionMode])
def test_every_enum_value_is_documented(values: type[enum.Enum]) -> None:
    text = DOC.read_text(encoding="utf-8")
    for member in values:
        assert f"`{member.value}`" in text
