"""Editing Codex's config.toml: only the requested values change, atomically, under a lock."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from ao_agent_codex._config_toml import set_tables, table_header, toml_string
from ao_core.errors import WorkspaceError

USER_CONFIG = """\
# my Codex settings
model = "gpt-5"   # the default
model_provider = "openai"

[tui]
notifications = true

[projects."/home/me/code"]
trust_level = "trusted"  # my own repo
"""

TRUST = {"trust_level": "trusted"}


def test_a_missing_file_is_created(tmp_path: Path) -> None:
    config = tmp_path / "home" / "config.toml"
    assert set_tables(config, [(("projects", "/srv/w"), TRUST)]) is True
    assert tomllib.loads(config.read_text()) == {"projects": {"/srv/w": TRUST}}
    assert config.stat().st_mode & 0o777 == 0o600


def test_the_rest_of_the_file_is_kept_byte_for_byte(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_CONFIG)
    config.chmod(0o640)
    assert set_tables(config, [(("projects", "/srv/w"), TRUST)]) is True
    text = config.read_text()
    assert text.startswith(USER_CONFIG)
    assert text[len(USER_CONFIG) :] == '\n[projects."/srv/w"]\ntrust_level = "trusted"\n'
    assert config.stat().st_mode & 0o777 == 0o640


def test_an_existing_table_is_changed_in_place(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    mine = '\n[projects."/srv/w"]\n# decided earlier\ntrust_level = "untrusted"\nextra = 1\n\n[later]\nx = 2\n'
    config.write_text(USER_CONFIG + mine)
    assert set_tables(config, [(("projects", "/srv/w"), TRUST)]) is True
    text = config.read_text()
    assert '# decided earlier\ntrust_level = "trusted"\nextra = 1\n' in text
    assert text.startswith(USER_CONFIG)
    assert text.endswith("[later]\nx = 2\n")
    assert tomllib.loads(text)["projects"]["/srv/w"] == {"trust_level": "trusted", "extra": 1}


def test_missing_keys_are_added_to_an_existing_table(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[model_providers.ao]\nname = "old"\n\n[tui]\nx = 1\n')
    values = {"name": "ao", "base_url": "http://127.0.0.1:9/v1", "wire_api": "responses"}
    set_tables(config, [(("model_providers", "ao"), values)])
    text = config.read_text()
    assert text.endswith("[tui]\nx = 1\n")
    assert tomllib.loads(text) == {"model_providers": {"ao": values}, "tui": {"x": 1}}


def test_nothing_is_written_when_everything_is_set(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_CONFIG)
    before = config.stat().st_mtime_ns
    assert set_tables(config, [(("projects", "/home/me/code"), TRUST)]) is False
    assert config.read_text() == USER_CONFIG
    assert config.stat().st_mtime_ns == before
    set_tables(config, [(("projects", "/srv/w"), TRUST)])
    once = config.read_text()
    assert set_tables(config, [(("projects", "/srv/w"), TRUST)]) is False
    assert config.read_text() == once


@pytest.mark.parametrize(
    "folder",
    ['/srv/with "quotes"/and\\backslash', "/srv/ünïcödé/dir", "/srv/tab\there", "/srv/new\nline", "/srv/del\x7f"],
)
def test_any_path_round_trips_as_a_table_key(tmp_path: Path, folder: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_CONFIG)
    set_tables(config, [(("projects", folder), TRUST)])
    assert tomllib.loads(config.read_text())["projects"][folder] == TRUST
    assert set_tables(config, [(("projects", folder), TRUST)]) is False


@pytest.mark.parametrize(
    "text",
    [
        'projects = { "/srv/w" = { trust_level = "untrusted" } }\n',
        'projects."/srv/w".trust_level = "untrusted"\n',
    ],
)
def test_a_table_that_cannot_be_edited_safely_is_left_alone(tmp_path: Path, text: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(WorkspaceError, match=r'set it there by hand: trust_level = "trusted"'):
        set_tables(config, [(("projects", "/srv/w"), TRUST)])
    assert config.read_text() == text


def test_invalid_toml_is_reported_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    config = tmp_path / "home" / "config.toml"
    config.write_text("model = \n")
    with pytest.raises(WorkspaceError, match=r"config\.toml is not valid TOML"):
        set_tables(config, [(("projects", "/srv/w"), TRUST)])
    assert config.read_text() == "model = \n"
    assert [p.name for p in config.parent.iterdir()] == ["config.toml"]  # no temporary file left behind


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(USER_CONFIG)
    code = (
        "import sys; from pathlib import Path; from ao_agent_codex._config_toml import set_tables\n"
        "for i in range(20):\n"
        "    set_tables(Path(sys.argv[1]), [(('projects', f'/srv/{sys.argv[2]}-{i}'), {'trust_level': 'trusted'})])\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", code, str(config), f"w{n}"]) for n in range(6)]
    assert [writer.wait(timeout=60) for writer in writers] == [0] * 6
    projects = tomllib.loads(config.read_text())["projects"]
    assert len(projects) == 1 + 6 * 20
    assert config.read_text().startswith(USER_CONFIG)


def test_headers_and_strings() -> None:
    assert table_header(("model_providers", "ao-1")) == "[model_providers.ao-1]"
    assert table_header(("projects", "/a b")) == '[projects."/a b"]'
    assert toml_string('a"b\\c\n\x01') == '"a\\"b\\\\c\\n\\u0001"'
    assert tomllib.loads(f"x = {toml_string('ü' + chr(0x7F))}\n") == {"x": "ü\x7f"}
