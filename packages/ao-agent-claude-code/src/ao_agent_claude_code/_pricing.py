"""Prices of Anthropic models, for estimating a session's cost from its token usage.

Figures are US dollars per million tokens from Anthropic's public price list (standard tier, prompts up to
200k tokens, 5-minute cache writes). Batch discounts and long-context surcharges are not modelled. Override
or extend them with the plugin option ``pricing``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ao_agent_claude_code._config import ModelPrice

__all__ = ["DEFAULT_PRICE", "PRICES", "price_for"]

_OPUS_LEGACY = ModelPrice(input=15.0, output=75.0, cache_read=1.50, cache_write=18.75)
_OPUS = ModelPrice(input=5.0, output=25.0, cache_read=0.50, cache_write=6.25)
_SONNET = ModelPrice(input=3.0, output=15.0, cache_read=0.30, cache_write=3.75)
_HAIKU = ModelPrice(input=1.0, output=5.0, cache_read=0.10, cache_write=1.25)
_HAIKU_35 = ModelPrice(input=0.80, output=4.0, cache_read=0.08, cache_write=1.0)
_HAIKU_3 = ModelPrice(input=0.25, output=1.25, cache_read=0.03, cache_write=0.30)

DEFAULT_PRICE = _SONNET
"""For models the table does not know: Sonnet-class, $3 in, $15 out, $0.30 cache read, $3.75 cache write."""

PRICES: Mapping[str, ModelPrice] = {
    # Prefixes, matched longest first. Opus 4.0 and 4.1 kept the old Opus price; Opus 4.5 and later cost less.
    "claude-opus-4-0": _OPUS_LEGACY,
    "claude-opus-4-1": _OPUS_LEGACY,
    "claude-opus-4-2025": _OPUS_LEGACY,
    "claude-3-opus": _OPUS_LEGACY,
    "claude-opus-4": _OPUS,
    "claude-sonnet-4": _SONNET,
    "claude-3-7-sonnet": _SONNET,
    "claude-3-5-sonnet": _SONNET,
    "claude-haiku-4": _HAIKU,
    "claude-3-5-haiku": _HAIKU_35,
    "claude-3-haiku": _HAIKU_3,
    # Family words, for names the prefixes miss.
    "opus": _OPUS,
    "sonnet": _SONNET,
    "haiku": _HAIKU,
}
"""The built-in table: model-name prefixes and family words to prices."""

_SUFFIX = re.compile(r"\[[^\]]*\]$")


def price_for(model: str | None, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """The price of ``model``: ``overrides`` first, then the built-in table, else :data:`DEFAULT_PRICE`.

    A key matches the model name exactly, as a prefix (the longest wins), or as a family word in it.
    Claude Code's context suffixes (``claude-opus-4-8[1m]``) are ignored.
    """
    if not model:
        return DEFAULT_PRICE
    name = _SUFFIX.sub("", model.strip().lower())
    for table in (overrides or {}, PRICES):
        lowered = {key.lower(): price for key, price in table.items()}
        if name in lowered:
            return lowered[name]
        prefixes = [key for key in lowered if name.startswith(key)]
        if prefixes:
            return lowered[max(prefixes, key=len)]
        words = [key for key in lowered if re.search(rf"(^|[^a-z]){re.escape(key)}([^a-z]|$)", name)]
        if words:
            return lowered[max(words, key=len)]
    return DEFAULT_PRICE
