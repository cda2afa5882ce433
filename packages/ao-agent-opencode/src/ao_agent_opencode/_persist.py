"""Recording what the agent learnt (OpenCode's session id) in the session's metadata in ao's store.

The kernel hands agents a :class:`~ao_core.models.Session`, not the store, so the store is found the way the
kernel lays out its state directory, trying in order: the state directory the kernel named in
``setup_workspace_hooks`` (``data_dir``); the one the session's system prompt file lies in
(``<state>/projects/<project>/sessions/<session>/system-prompt.md``); ``$AO_STATE_DIR`` or the default. A
candidate is used only when its database holds this session with the same workspace.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ao_core.errors import AoError
from ao_core.models import Session
from ao_core.paths import database_path, session_dir, state_dir

__all__ = ["persist_metadata", "state_dir_candidates"]

log = logging.getLogger("ao.agent.opencode")


def state_dir_candidates(session: Session, known: Path | None) -> list[Path]:
    """The state directories that may hold the session, most likely first, without duplicates."""
    candidates: list[Path] = []
    if known is not None:
        candidates.append(known)
    prompt_file = session.metadata.get("systemPromptFile")
    if isinstance(prompt_file, str) and prompt_file:
        path = Path(prompt_file)
        if len(path.parents) >= 5:
            root = path.parents[4]
            if session_dir(root, session.project_id, session.id) == path.parent:
                candidates.append(root)
    candidates.append(state_dir())
    unique: list[Path] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def persist_metadata(session: Session, key: str, value: Any, roots: Iterable[Path]) -> bool:
    """Set ``key`` in the session's metadata in the first store of ``roots`` that holds the session.

    Blocking (SQLite): run it in a worker thread. Returns whether a store took it; failures are logged, not
    raised (the value is found again next time).
    """
    from ao_core.store import Store

    for root in roots:
        database = database_path(root)
        if not database.is_file():
            continue
        try:
            store = Store(database, busy_timeout=3.0)
        except AoError as exc:
            log.debug("cannot open the store %s: %s", database, exc)
            continue
        try:
            stored = store.get_session(session.id)
            if stored is None or stored.workspace_path != session.workspace_path:
                continue
            store.set_metadata(session.id, key, value)
            return True
        except AoError as exc:
            log.warning("session %s: cannot record %s in %s: %s", session.id, key, database, exc)
            return False
        finally:
            store.close()
    log.debug("session %s: no store holds it; %s not recorded", session.id, key)
    return False
