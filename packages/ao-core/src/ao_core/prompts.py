"""The layered prompt given to agents.

Layer 1 is ao's base rules (how a session works, the git workflow, that CI failures and review comments will
be forwarded). Layer 2 is the project context (repository, default branch, the task and the issue as the
tracker describes it, which reactions are automatic). Layer 3 is the project's own rules (``agentRules`` and
the contents of ``agentRulesFile``). The system prompt goes to a file the agent reads; the task prompt is the
user's ``--prompt`` or a one-line pointer to the issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ao_core.config import OrchestratorConfig
from ao_core.models import ReactionAction

__all__ = ["PromptSet", "build_prompts"]

_BASE_RULES = """\
# How you work here

You are one of several coding agents that ao runs in parallel. You work alone in your own git workspace on
your own branch; other agents work on other branches. A human looks in only when a decision is needed.

- Stay on your branch. Commit in small, meaningful steps with conventional commit messages.
- When the work is ready, push your branch and open a pull request against the default branch.
- ao watches your pull request. When CI fails, when a reviewer leaves comments, or when your branch
  conflicts with the base branch, ao sends you a message with the details: fix what it names, push again,
  and keep the pull request open.
- Do not merge your own pull request unless you are told to.
- If you are blocked on a decision only a human can make, say so plainly and stop.
"""

_NO_REPO_RULES = """\
# How you work here

You are one of several coding agents that ao runs in parallel, each in its own workspace. Work on the task
below, commit your changes on your branch, and say plainly when you are done or blocked.
"""


@dataclass(frozen=True)
class PromptSet:
    """The prompts of one session."""

    system: str
    """Rules and context, written to a file the agent is started with."""
    task: str | None
    """The first message of the session (``None``: the agent starts without one)."""


def build_prompts(
    config: OrchestratorConfig,
    project_id: str,
    *,
    session_id: str,
    branch: str,
    issue_id: str | None = None,
    issue_title: str | None = None,
    issue_details: str | None = None,
    user_prompt: str | None = None,
) -> PromptSet:
    """Build the system prompt (three layers) and the task prompt of a session."""
    project = config.projects[project_id]
    layers = [_BASE_RULES if project.repo else _NO_REPO_RULES]

    context = ["## Project context", ""]
    context.append(f"- Project: {project.name or project_id}")
    if project.repo:
        context.append(f"- Repository: {project.repo}")
    context.append(f"- Default branch: {project.default_branch}")
    context.append(f"- Your session: {session_id}, on branch `{branch}`")
    if issue_id:
        title = f": {issue_title}" if issue_title else ""
        context += ["", "## Task", "", f"Work on issue {issue_id}{title}."]
    if issue_details:
        context += ["", "## Issue details", "", issue_details.strip()]
    automatic = []
    for key in sorted(set(config.reactions) | set(project.reactions) | _AUTO_KEYS):
        reaction = config.reaction_for(project_id, key)
        if reaction is not None and reaction.auto and reaction.action is ReactionAction.SEND_TO_AGENT:
            automatic.append(f"- {key}: {reaction.message or 'details will be sent to you'}")
    if automatic:
        context += ["", "## What ao will send you automatically", "", *automatic]
    layers.append("\n".join(context) + "\n")

    rules = []
    if project.agent_rules:
        rules.append(project.agent_rules.strip())
    if project.agent_rules_file:
        rules_path = Path(project.path) / project.agent_rules_file
        try:
            rules.append(rules_path.read_text(encoding="utf-8").strip())
        except OSError:
            rules.append(f"(The project's rules file {project.agent_rules_file} could not be read.)")
    if rules:
        layers.append("## Project rules\n\n" + "\n\n".join(rules) + "\n")

    if user_prompt:
        task: str | None = user_prompt
    elif issue_id:
        task = f"Work on issue {issue_id}" + (f": {issue_title}" if issue_title else "") + "."
    else:
        task = None
    return PromptSet(system="\n".join(layers), task=task)


_AUTO_KEYS = frozenset({"ci-failed", "changes-requested", "bugbot-comments", "merge-conflicts"})
