"""The fakes as loadable plugin modules, one per slot, each exposing ``manifest`` and ``create()``.

A config loads one by path, e.g. ``plugins: [{path: .../ao_core/testing/plugins/runtime_fake.py}]``, and
then names it ``fake`` in its slot. :data:`PLUGIN_FILES` maps each slot to its file.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PLUGIN_FILES"]

_HERE = Path(__file__).resolve().parent

PLUGIN_FILES: dict[str, Path] = {
    slot: _HERE / f"{slot}_fake.py"
    for slot in ("runtime", "agent", "workspace", "tracker", "scm", "notifier", "terminal")
}
"""The plugin file of each slot's fake, by slot name."""
