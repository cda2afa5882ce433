"""Finding the config file: $AO_CONFIG_PATH, walking up from the cwd, .yml, the global locations."""

from __future__ import annotations

from pathlib import Path

import pytest
from ao_core.config import find_config_file
from ao_core.errors import ConfigError

CONFIG = "projects:\n  app:\n    path: .\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "repo"
    (path / "src" / "pkg").mkdir(parents=True)
    return path


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG, encoding="utf-8")
    return path


def test_ao_config_path_wins(repo: Path, home: Path, tmp_path: Path) -> None:
    touch(repo / "agent-orchestrator.yaml")
    explicit = touch(tmp_path / "elsewhere" / "my.yaml")
    env = {"HOME": str(home), "AO_CONFIG_PATH": str(explicit)}
    assert find_config_file(repo / "src", env) == explicit


def test_ao_config_path_relative_to_cwd(repo: Path, home: Path) -> None:
    explicit = touch(repo / "conf" / "ao.yaml")
    assert find_config_file(repo, {"HOME": str(home), "AO_CONFIG_PATH": "conf/ao.yaml"}) == explicit


def test_ao_config_path_set_but_missing_is_an_error(repo: Path, home: Path, tmp_path: Path) -> None:
    touch(repo / "agent-orchestrator.yaml")
    env = {"HOME": str(home), "AO_CONFIG_PATH": str(tmp_path / "gone.yaml")}
    with pytest.raises(ConfigError, match=r"AO_CONFIG_PATH is set to '.*gone\.yaml', but there is no such file"):
        find_config_file(repo, env)


def test_walks_up_from_a_nested_directory(repo: Path, home: Path) -> None:
    found = touch(repo / "agent-orchestrator.yaml")
    assert find_config_file(repo / "src" / "pkg", {"HOME": str(home)}) == found


def test_the_nearest_file_wins(repo: Path, home: Path, tmp_path: Path) -> None:
    touch(tmp_path / "work" / "agent-orchestrator.yaml")
    nearest = touch(repo / "agent-orchestrator.yaml")
    assert find_config_file(repo / "src", {"HOME": str(home)}) == nearest


def test_yml_is_the_fallback_name(repo: Path, home: Path) -> None:
    yml = touch(repo / "agent-orchestrator.yml")
    assert find_config_file(repo / "src", {"HOME": str(home)}) == yml
    yaml = touch(repo / "agent-orchestrator.yaml")
    assert find_config_file(repo / "src", {"HOME": str(home)}) == yaml


def test_ao_global_config(repo: Path, home: Path, tmp_path: Path) -> None:
    glob = touch(tmp_path / "global.yaml")
    touch(home / ".agent-orchestrator" / "config.yaml")
    assert find_config_file(repo, {"HOME": str(home), "AO_GLOBAL_CONFIG": str(glob)}) == glob


def test_xdg_config_home(repo: Path, home: Path, tmp_path: Path) -> None:
    xdg = touch(tmp_path / "xdg" / "agent-orchestrator" / "config.yaml")
    touch(home / ".agent-orchestrator" / "config.yaml")
    assert find_config_file(repo, {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}) == xdg


def test_dot_config_when_xdg_is_unset(repo: Path, home: Path) -> None:
    found = touch(home / ".config" / "agent-orchestrator" / "config.yaml")
    assert find_config_file(repo, {"HOME": str(home)}) == found


def test_home_dot_agent_orchestrator_last(repo: Path, home: Path, tmp_path: Path) -> None:
    found = touch(home / ".agent-orchestrator" / "config.yaml")
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "AO_GLOBAL_CONFIG": str(tmp_path / "no")}
    assert find_config_file(repo, env) == found


def test_a_local_file_beats_the_global_one(repo: Path, home: Path) -> None:
    touch(home / ".agent-orchestrator" / "config.yaml")
    local = touch(repo / "agent-orchestrator.yaml")
    assert find_config_file(repo / "src", {"HOME": str(home)}) == local


def test_not_found_says_to_run_ao_init(repo: Path, home: Path) -> None:
    with pytest.raises(ConfigError) as info:
        find_config_file(repo / "src" / "pkg", {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "xdg")})
    assert "no agent-orchestrator.yaml found in" in str(info.value)
    assert "run 'ao init'" in str(info.value)
    assert info.value.exit_code == 2
