"""A follow-up step at scale: a job whose N first emails are in the outbox (written straight into a
checkpoint, no campaign run), then `resume` after the due time drafts and writes follow-up 1 for
every lead. Prints the step's wall time, its checkpoints, the database's growth, and how long
`history` takes to list them.

    .venv/bin/python bench/follow_ups.py [--leads 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.job_lock import hold_job_lock
from cmo_agent.core.records import Draft, Hygiene, Lead, Repo, RunParams
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.mail.message import message_id_for
from cmo_agent.runner import checkpoint_history, open_campaigns, resume_campaign

JOB = "bench-follow-ups"
SENDER = "dana@example.com"


def seeded_state(leads: int) -> RunState:
    repos = {
        f"org{n % 200}/repo{n % 200}": Repo(full_name=f"org{n % 200}/repo{n % 200}", language="Python")
        for n in range(200)
    }
    state = new_run_state(
        JOB, "Find active ML engineers", RunParams(deliver="outbox", follow_ups=1, follow_up_after="5s")
    )
    people: dict[str, Lead] = {}
    drafts: dict[str, Draft] = {}
    for n in range(leads):
        login, repo = f"dev{n:05d}", f"org{n % 200}/repo{n % 200}"
        lead = Lead(login=login, repos={repo: 3}, contributions=3, status="enriched", email=f"{login}@example.org")
        lead |= {"address": f"{login}@example.org", "hygiene": Hygiene(ok=True, reason=None), "qualified": True}
        people[login] = lead | {"score": 60, "email_source": "profile"}
        drafts[login] = Draft(
            login=login,
            to=f"{login}@example.org",
            subject=f"Your work on repo{n % 200}",
            body="Hi,\n\nfirst\n",
            message_id=message_id_for(JOB, login, SENDER),
            status="written",
        )
    return state | RunState(repos=repos, leads=people, to_send=drafts, query="topic:machine-learning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--database", help="a postgresql:// URL (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(CMO_DATA_DIR=Path(tmp) / "data", CMO_SENDER_EMAIL=SENDER, CMO_CHECKPOINT_URL=args.database)
        state = seeded_state(args.leads)
        with open_campaigns(settings) as (graph, jobs), hold_job_lock(settings.resolved_checkpoint_url(), JOB):
            jobs.create(JOB, state["goal"], state["params"])
            graph.update_state(thread_config(JOB), state, as_node="deliver")
        database = None if args.database else settings.data_dir / "cmo_agent.db"
        before = database.stat().st_size if database else 0
        assert resume_campaign(settings, JOB).status == "waiting"
        started = time.perf_counter()
        early = resume_campaign(settings, JOB)
        print(f"resume before the due time: {time.perf_counter() - started:.2f} s ({early.status})")
        due = early.state["reports"]["follow_ups"]["due_at"]
        time.sleep(max(0.0, due - time.time()) + 0.1)
        started = time.perf_counter()
        outcome = resume_campaign(settings, JOB)
        elapsed = time.perf_counter() - started
        written = sum(1 for draft in outcome.state["follow_ups"].values() if draft.get("status") == "written")
        print(f"leads: {args.leads}; follow-ups written: {written}; status: {outcome.status}")
        print(f"follow-up step: {elapsed:.1f} s ({written / elapsed:.0f} per second)")
        if database is not None:
            print(f"database: {before / 1e6:.1f} MB before the step, {database.stat().st_size / 1e6:.1f} MB after")
        started = time.perf_counter()
        rows = checkpoint_history(settings, JOB)
        print(f"history: {len(rows)} checkpoints listed in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
