"""Drafting by the model: wall time, requests, tokens and estimated cost per draft, against the
loopback OpenAI stand-in answering after a fixed latency (a stand-in for a real model's).

    .venv/bin/python bench/llm_drafting.py [--leads 40] [--latency 0.8] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.demo.snapshot import load_snapshot
from cmo_agent.runner import start_campaign
from tests.loopback.openai_server import OpenAIStandIn
from tests.stages.test_personalize import honest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.8, help="seconds the model takes per answer")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    stages: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        GitHubStandIn(load_snapshot()) as github,
        OpenAIStandIn(honest, latency=args.latency) as model,
    ):
        settings = Settings(
            CMO_DATA_DIR=Path(tmp),
            GITHUB_API_URL=github.url,
            CMO_GITHUB_MAX_PER_MIN=60_000,
            CMO_MX_CHECK=False,
            OPENAI_API_KEY="bench-key",
            OPENAI_BASE_URL=model.url,
            CMO_LLM_WORKERS=args.workers,
        )

        def on_progress(event: dict[str, Any]) -> None:
            stage = str(event.get("stage"))
            stages.setdefault(f"{stage}_first", time.perf_counter())
            stages[f"{stage}_last"] = time.perf_counter()

        started = time.perf_counter()
        outcome = start_campaign(settings, "Find active ML engineers", {"max_leads": args.leads}, None, on_progress)
        wall = time.perf_counter() - started
        state, usage = outcome.state, model.usage_totals()
    drafts = state["to_send"]
    by_model = sum(1 for d in drafts.values() if d["generator"] == "llm")
    drafting = stages["personalize_last"] - stages["score_last"]
    counters = state["counters"]
    print(f"model latency {args.latency} s, {args.workers} workers, {len(drafts)} drafts ({by_model} by the model)")
    per_draft = drafting / max(len(drafts), 1)
    print(f"campaign wall time {wall:.1f} s; drafting {drafting:.1f} s = {per_draft:.2f} s per draft")
    print(f"model requests {counters['llm_calls']} (stand-in received {len(model.requests)}), incl. 1 for the query")
    print(
        f"tokens: prompt {counters['llm_prompt_tokens']:,}, completion {counters['llm_completion_tokens']:,}"
        f" (stand-in reported {usage['prompt_tokens']:,} / {usage['completion_tokens']:,})"
    )
    cost = counters.get("llm_cost_micro_usd", 0) / 1e6
    per_thousand = cost / max(by_model, 1) * 1000
    print(f"estimated cost at gpt-4o-mini list prices: ${cost:.4f} (${per_thousand:.3f} per 1,000 drafts)")
    print(json.dumps(state["reports"]["summary"]["llm"]))


if __name__ == "__main__":
    main()
