"""How checkpoint storage grows with a campaign: bytes per lead, checkpoints, wall time.

Runs a full campaign (outbox delivery) against the loopback GitHub stand-in serving a generated
snapshot, with SQLite checkpoints in a temporary directory, and prints the figures.

    .venv/bin/python bench/checkpoint_size.py [--repos 40] [--people 1000] [--batch 20]
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.world.snapshot import build_snapshot
from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn, shift_dates
from cmo_agent.runner import checkpoint_history, start_campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=40)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()

    snapshot = shift_dates(build_snapshot(repos=args.repos, people=args.people), datetime.now(UTC))
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(snapshot) as github:
        settings = Settings(
            CMO_DATA_DIR=Path(tmp),
            GITHUB_API_URL=github.url,
            CMO_GITHUB_MAX_PER_MIN=60_000,
            CMO_BATCH_SIZE=args.batch,
            CMO_MX_CHECK=False,  # made-up addresses; and no DNS beyond loopback
        )
        started = time.perf_counter()
        outcome = start_campaign(settings, "Find active ML engineers", {"max_repos": args.repos, "min_score": 0})
        elapsed = time.perf_counter() - started
        assert outcome.status == "done", outcome.error
        db = Path(tmp) / "cmo_agent.db"
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            blob_bytes = conn.execute(
                "SELECT coalesce(sum(length(checkpoint)), 0) + "
                "(SELECT coalesce(sum(length(value)), 0) FROM writes) FROM checkpoints"
            ).fetchone()[0]
        file_bytes = db.stat().st_size
        leads = len(outcome.state["leads"])
        history_started = time.perf_counter()
        checkpoints = len(checkpoint_history(settings, outcome.job_id))
        history_seconds = time.perf_counter() - history_started

    print(f"snapshot: {args.repos} repos, {args.people} people; batch size {args.batch}")
    print(f"leads: {leads}, drafted: {len(outcome.state['to_send'])}, GitHub requests: {github.count()}")
    print(f"checkpoints: {checkpoints}, wall time: {elapsed:.1f} s, history read: {history_seconds:.2f} s")
    print(f"database file: {file_bytes / 1e6:.2f} MB, checkpoint+write blobs: {blob_bytes / 1e6:.2f} MB")
    print(f"bytes per lead: file {file_bytes / leads:,.0f}, blobs {blob_bytes / leads:,.0f}")


if __name__ == "__main__":
    main()
