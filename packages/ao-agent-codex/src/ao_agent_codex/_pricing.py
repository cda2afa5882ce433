"""Estimating the cost of a Codex thread from its token usage.

The built-in estimate is the one upstream ao used for every Codex model: US$2.50 per million uncached input
tokens, US$0.625 per million cached input tokens and US$10 per million output tokens. Reasoning tokens are
part of the output tokens (OpenAI's usage convention, which Codex keeps), so they are priced once, as output.
Prices of particular models (and of proxies that bill differently) are set with the plugin option
``pricing``; a key matches a model name exactly or as a prefix, the longest prefix winning.
"""

from __future__ import annotations

from collections.abc import Mapping

from ao_core.models import CostEstimate

from ao_agent_codex._config import ModelPrice
from ao_agent_codex._rollout import TokenTotals

__all__ = ["DEFAULT_PRICE", "estimate", "price_for"]

DEFAULT_PRICE = ModelPrice(input=2.50, cached_input=0.625, output=10.0)
"""US dollars per million tokens, for any model without an entry in ``pricing``."""


def price_for(model: str | None, overrides: Mapping[str, ModelPrice] | None = None) -> ModelPrice:
    """The price of ``model``: an exact or longest-prefix key of ``overrides``, else :data:`DEFAULT_PRICE`."""
    if not model or not overrides:
        return DEFAULT_PRICE
    name = model.strip().lower()
    table = {key.lower(): price for key, price in overrides.items()}
    if name in table:
        return table[name]
    prefixes = [key for key in table if name.startswith(key)]
    return table[max(prefixes, key=len)] if prefixes else DEFAULT_PRICE


def estimate(totals: TokenTotals, model: str | None, overrides: Mapping[str, ModelPrice] | None = None) -> CostEstimate:
    """Tokens and dollars of a thread.

    ``input_tokens`` of the result are the uncached input tokens and ``cache_read_tokens`` the cached ones
    (Codex's ``input_tokens`` counts both); ``output_tokens`` include reasoning.
    """
    price = price_for(model, overrides)
    cached = min(totals.cached_input_tokens, totals.input_tokens)
    uncached = totals.input_tokens - cached
    dollars = (uncached * price.input + cached * price.cached_input + totals.output_tokens * price.output) / 1e6
    return CostEstimate(
        input_tokens=uncached,
        output_tokens=totals.output_tokens,
        cache_read_tokens=cached,
        estimated_cost_usd=dollars,
    )
