"""The shared checks of the contract suites: git's branch-name rules and the shell-syntax scan."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from ao_core.testing import require_executable
from ao_testing.contracts import active_shell_syntax, branch_name_problem, is_valid_branch_name

BRANCH_NAMES = [
    "main",
    "feat/issue-42",
    "feat/INT-100-add-login",
    "a/b/c",
    "v1.2.3",
    "x@y",
    "ünïcode",
    "",
    "-leading-dash",
    "HEAD",
    "@",
    "feat/issue 42",
    "two..dots",
    "ends.",
    "ends/",
    "/starts",
    "double//slash",
    "feat/.hidden",
    "feat/x.lock",
    "x.lock",
    "has~tilde",
    "has^caret",
    "has:colon",
    "has?question",
    "has*star",
    "has[bracket",
    "back\\slash",
    "at@{brace",
    "tab\there",
    "del\x7fchar",
    "feat/issue-42.",
    "refs/heads/main",
]


@pytest.mark.integration
@pytest.mark.parametrize("name", BRANCH_NAMES, ids=repr)
def test_branch_rules_agree_with_git(name: str, tmp_path: Path) -> None:
    git = require_executable("git")
    # Run outside any repository, so that git does not expand @{-1} and friends.
    completed = subprocess.run(
        [git, "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True, timeout=10, check=False
    )
    git_accepts = completed.returncode == 0
    assert is_valid_branch_name(name) == git_accepts, f"git says {git_accepts}; ours: {branch_name_problem(name)}"


def test_branch_problem_names_the_rule() -> None:
    assert branch_name_problem("feat/issue 42") == "contains the forbidden character ' '"
    assert branch_name_problem("feat/issue-42") is None


def test_quoted_values_add_no_syntax() -> None:
    hostile = "it's $(rm -rf ~) `id` ; | & > < * ? [a] {b} # x\nnext"
    assert active_shell_syntax(f"agent --prompt {shlex.quote(hostile)}") == []


def test_unquoted_values_are_reported() -> None:
    assert active_shell_syntax("agent --prompt $(id); echo `id` > out") == ["$(", "(", ")", ";", "`", "`", ">"]


def test_double_quotes_keep_substitution_active() -> None:
    assert active_shell_syntax('agent "$(id) ; `id` | x"') == ["$(", "`", "`"]


def test_escapes_are_honoured() -> None:
    assert active_shell_syntax(r'agent "\$(id) \`id\`" \; \$HOME') == []


def test_comment_only_at_word_start() -> None:
    assert active_shell_syntax("agent issue#42") == []
    assert active_shell_syntax("agent # comment") == ["#"]


def test_unterminated_quote_is_reported() -> None:
    assert active_shell_syntax("agent 'open") == ["<unterminated quote>"]
    assert active_shell_syntax('agent "open') == ["<unterminated quote>"]
