"""What LLM tokens cost, to estimate a campaign's spend from the usage the API reports.

Prices are USD per million tokens (prompt, completion): list prices known when this table was
written; `CMO_LLM_PRICES` adds models or overrides them. A price per million tokens in dollars is
a price per token in micro-dollars, which is how costs are counted (integers add up exactly).
"""

from __future__ import annotations

from collections.abc import Mapping

Price = tuple[float, float]

LIST_PRICES: dict[str, Price] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}


def price_of(model: str, overrides: Mapping[str, Price] | None = None) -> Price | None:
    """The price of `model`: an exact entry, else the longest entry it starts with (a dated
    snapshot such as `gpt-4o-mini-2024-07-18` costs what `gpt-4o-mini` does); None if unknown."""
    table = {**LIST_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name + "-")]
    return table[max(prefixes, key=len)] if prefixes else None


def cost_micro_usd(prompt_tokens: int, completion_tokens: int, price: Price) -> int:
    """Estimated cost in millionths of a dollar."""
    return round(prompt_tokens * price[0] + completion_tokens * price[1])


def with_cost(counters: dict[str, int], model: str, overrides: Mapping[str, Price] | None = None) -> dict[str, int]:
    """LLM counters plus `llm_cost_micro_usd` when the model's price is known."""
    price = price_of(model, overrides)
    if price is None or not counters.get("llm_calls"):
        return counters
    cost = cost_micro_usd(counters.get("llm_prompt_tokens", 0), counters.get("llm_completion_tokens", 0), price)
    return counters | {"llm_cost_micro_usd": cost}
