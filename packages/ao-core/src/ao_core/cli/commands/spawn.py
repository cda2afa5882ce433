"""``ao spawn``: start an agent on an issue or a prompt, in its own workspace and session."""

from __future__ import annotations

import argparse
from typing import Any

from ao_core.cli._context import add_config_argument

HELP = "start an agent on an issue (or a prompt) in its own workspace and session"
DESCRIPTION = """\
Start one session: a new workspace on a new branch, the agent launched in its runtime with the issue as
its task, and the first prompt delivered once the agent is ready.

  ao spawn my-app 42                  GitHub issue #42 of project my-app
  ao spawn 42                         the project is found from the current directory (or the only one)
  ao spawn my-app --prompt "Fix the flaky login test"
  ao spawn my-app 43 --agent aider    a different agent for this session (remembered for restores)"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "spawn", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("target", nargs="*", metavar="[project] [issue]", help="project id and/or issue id")
    parser.add_argument("--prompt", help="the task, when there is no issue (or in addition to it)")
    parser.add_argument("--agent", help="agent plugin for this session (default: the project's)")
    parser.add_argument("--branch", help="branch name (default: from the tracker, e.g. feat/issue-42)")
    parser.add_argument("--open", action="store_true", help="open the session in the terminal plugin afterwards")
    parser.add_argument("--json", action="store_true", help="print the session as JSON")
    add_config_argument(parser)
    parser.set_defaults(handler=run)


def split_target(ctx_projects: Any, target: list[str]) -> tuple[str | None, str | None]:
    """``[project] [issue]``: one word is a project if it names one, else an issue."""
    from ao_core.errors import SessionError

    if len(target) > 2:
        raise SessionError(f"expected at most a project and an issue, got {len(target)} arguments: {' '.join(target)}")
    if len(target) == 2:
        return target[0], target[1]
    if len(target) == 1:
        return (target[0], None) if target[0] in ctx_projects else (None, target[0])
    return None, None


def run(args: argparse.Namespace) -> int:
    from ao_core.cli._context import open_context, resolve_project, run_async
    from ao_core.cli._format import print_json
    from ao_core.errors import SessionError

    ctx = open_context(args)
    project, issue = split_target(ctx.config.projects, args.target)
    project_id = resolve_project(ctx, project)
    if issue is None and not args.prompt:
        raise SessionError("give an issue id or --prompt")

    async def go() -> Any:
        session = await ctx.manager.spawn(
            project_id, issue_id=issue, prompt=args.prompt, agent=args.agent, branch=args.branch
        )
        attach = None
        runtime = ctx.manager.runtime_for(project_id)
        from ao_core.interfaces import SupportsAttachInfo

        if isinstance(runtime, SupportsAttachInfo) and session.runtime_handle is not None:
            attach = (await runtime.get_attach_info(session.runtime_handle)).command
        return session, attach

    session, attach = run_async(go)
    if args.json:
        print_json(session.model_dump(mode="json"))
        return 0
    print(f"Session {session.id} spawned: {session.agent} on branch {session.branch}")
    print(f"  workspace: {session.workspace_path}")
    if attach:
        print(f"  attach:    {attach}")
    if session.metadata.get("promptDelivered") is False:
        print(f"  warning:   the first prompt was not delivered; send it with: ao send {session.id} '...'")
    if args.open:
        from ao_core.cli.commands.open import open_sessions

        run_async(lambda: open_sessions(ctx, [session]))
    print(f"SESSION={session.id}")
    return 0
