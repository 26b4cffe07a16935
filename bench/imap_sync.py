"""`sync` on a big mailbox: Dovecot on loopback with N messages, a share of them replies to a job.

A finished SMTP job of `--ours` leads is written straight into a data directory (state, job record
and ledger), the folder is filled, then `sync` runs twice; it prints both times and what each read.
Needs Dovecot (dovecot-imapd) and root, like the tests.

    .venv/bin/python -m bench.imap_sync [--messages 10000] [--ours 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from cmo_agent.core.checkpointer import thread_config
from cmo_agent.core.config import Settings
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.records import Draft, Hygiene, Lead, RunParams
from cmo_agent.core.state import RunState, new_run_state
from cmo_agent.runner import open_campaigns
from cmo_agent.sync.run import sync
from tests.loopback.imap_server import DovecotStandIn
from tests.sync import messages as m

JOB = "bench-sync"
SENDER = "dana@example.com"


def write_job(settings: Settings, ours: int) -> list[tuple[str, str, str]]:
    """A finished SMTP job with `ours` sent messages; (login, Message-ID, address) of each."""
    sent = [(f"lead{i}", f"<bench-{i}@example.com>", f"lead{i}@example.org") for i in range(ours)]
    leads = {
        login: Lead(login=login, repos={"a/b": 1}, contributions=1, status="enriched", address=address)
        | {"hygiene": Hygiene(ok=True, reason=None), "qualified": True, "score": 50}
        for login, _, address in sent
    }
    drafts = {
        login: Draft(login=login, to=address, subject="Your work on b", message_id=message_id, status="sent")
        for login, message_id, address in sent
    }
    state = new_run_state(JOB, "bench", RunParams(deliver="smtp")) | RunState(
        leads=leads, to_send=drafts, completed_at="2026-11-27T00:00:00+00:00"
    )
    with open_campaigns(settings) as (graph, jobs):
        jobs.create(JOB, "bench", RunParams(deliver="smtp"))
        graph.update_state(thread_config(JOB), state, as_node="report")
        jobs.set_status(JOB, "done")
    with open_ledger(settings) as ledger:
        for login, message_id, address in sent:
            ledger.plan(JOB, login, message_id, address, SENDER)
            ledger.begin_send(JOB, login)
            ledger.finish(JOB, login, "sent", 250)
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--ours", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, DovecotStandIn(Path(tmp) / "dovecot") as dovecot:
        imap: dict[str, Any] = dict(dovecot.env())
        settings = Settings(_env_file=None, CMO_DATA_DIR=Path(tmp) / "data", **imap)
        sent = write_job(settings, args.ours)
        every = max(1, args.messages // args.ours)
        for i in range(args.messages):
            if i % every == 0 and i // every < len(sent):
                _, message_id, address = sent[i // every]
                dovecot.deliver(m.reply(message_id, address, "Your work on b"))
            else:
                dovecot.deliver(m._mail(f"Newsletter {i}", "News of the week.", sender=f"news{i}@example.net"))
        for run in ("first", "second"):
            started = time.perf_counter()
            result = sync(settings)
            seconds = time.perf_counter() - started
            print(
                f"{run} sync: {seconds:.2f} s, {result.new_messages} new messages, kinds {dict(result.kinds)}, "
                f"applied {result.applied}"
            )


if __name__ == "__main__":
    main()
