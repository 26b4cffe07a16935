"""The README's example report: a made-up three-step SMTP sequence to 400 people over a week
(first email, two follow-ups; replies, out-of-office answers, bounces and unsubscribes spread over
the days), rendered by `cmo-agent report --html`'s code to an HTML page; Chromium then takes the
screenshot in docs/. Prints the page's path and the figures it shows.

    .venv/bin/python bench/report_example.py [--out data/report-example.html]
    chromium --headless --screenshot=docs/report-example.png --window-size=1100,2000 file://$PWD/data/report-example.html
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cmo_agent.core.config import Settings
from cmo_agent.core.records import Draft, Lead, LeadOutcome, RunParams
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.report_html import render_html
from cmo_agent.reporting import job_report

START = datetime(2026, 11, 16, 9, tzinfo=UTC)
REPLIES = [
    "Happy to chat next week, Tuesday works.",
    "Interesting timing: we are rewriting our pipeline. Send me a calendar link.",
    "Not for us right now, but keep me posted.",
    "Could you share more about pricing?",
]


def example_state(people: int, seed: int) -> RunState:
    rng = random.Random(seed)
    params = RunParams(deliver="smtp", follow_ups=2, follow_up_after="3d")
    state = new_run_state("example", "Find active ML engineers", params)
    leads: dict[str, Lead] = {}
    first: dict[str, Draft] = {}
    follow_ups: dict[str, Draft] = {}
    for n in range(people):
        login = f"dev{n:03d}"
        leads[login] = Lead(login=login, qualified=True, status="enriched", email=f"{login}@example.org")
        leads[login] |= {"hygiene": {"ok": True, "reason": None}}
        sent = START + timedelta(minutes=2 * n)
        bounced = rng.random() < 0.03
        first[login] = Draft(login=login, status="bounced" if bounced else "sent", sent_at=sent.isoformat())
        if bounced:
            for later in (1, 2):
                why = "previous message not delivered"
                follow_ups[f"{login}/{later}"] = Draft(login=login, step=later, status="stopped", stop_reason=why)
            continue
        outcome: LeadOutcome | None = None
        for step in range(3):
            at = sent + timedelta(days=3 * step, hours=rng.uniform(1, 60))
            roll = rng.random()
            if roll < (0.07, 0.05, 0.03)[step]:
                outcome = "replied"
            elif roll < (0.09, 0.065, 0.04)[step]:
                outcome = "unsubscribed"
            elif roll < (0.12, 0.08, 0.05)[step]:
                leads[login] |= Lead(outcome="auto_replied", outcome_at=at.isoformat(), outcome_detail="away")
            if outcome is not None:
                leads[login] |= Lead(outcome=outcome, outcome_at=at.isoformat(), outcome_detail=rng.choice(REPLIES))
                for later in range(step + 1, 3):
                    stopped = Draft(login=login, step=later, status="stopped", stop_reason=outcome)
                    follow_ups[f"{login}/{later}"] = stopped
                break
            if step < 2:
                when = sent + timedelta(days=3 * (step + 1))
                follow_ups[f"{login}/{step + 1}"] = Draft(
                    login=login, step=step + 1, status="sent", sent_at=when.isoformat()
                )
    counters = {"github_api_calls": 212, "github_cache_hits": 40, "ms_enrich": 48_200, "ms_deliver": 812_000}
    return state | RunState(
        repos={f"org/repo{n}": {"full_name": f"org/repo{n}"} for n in range(25)},
        candidates={login: {"login": login} for login in [*leads, *(f"other{n}" for n in range(900))]},
        leads=leads,
        to_send=first,
        follow_ups=follow_ups,
        counters=counters,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=Path("data/report-example.html"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = example_state(args.people, args.seed)
    data = job_report(state, Settings(_env_file=None))
    args.out.write_text(render_html(data, state), encoding="utf-8")
    print(args.out)
    print("outcomes:", data["outcomes"])
    for row in data["steps"]:
        print(f"{row['name']}: delivered {row['delivered']}, replied {row['replied']}, not sent to {row['stopped']}")


if __name__ == "__main__":
    main()
