"""How checkpoint storage grows with a campaign: bytes per lead and against the export, checkpoints,
wall time, and how long `status`, `resume` (of the finished job), `history` and `export` take to
answer from a fresh process; with `--prune`, the same again after `cmo-agent prune`.

Runs a full campaign (outbox delivery, `--min-score 0`) against the loopback GitHub stand-in serving
a generated snapshot, with SQLite checkpoints in a temporary directory (or the PostgreSQL database
of `--database`, which should be empty), and prints the figures.

    .venv/bin/python bench/checkpoint_size.py [--repos 40] [--people 1000] [--batch 20]
    .venv/bin/python bench/checkpoint_size.py --leads 10000 [--follow-ups 1] [--prune]
                                              [--database postgresql://postgres@127.0.0.1:5432/DB]
                                              [--keep DIR]

`--leads N` sizes the world for about N leads (N / 70 repositories, 1.1 N people) and takes every
repository that is not archived (`--query archived:false`), as the issue-13 figures do.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.world.snapshot import build_snapshot
from cmo_agent.core.checkpointer import thread_id_for
from cmo_agent.core.config import Settings
from cmo_agent.core.database import connect_postgres, is_postgres
from cmo_agent.demo.github_server import GitHubStandIn, shift_dates
from cmo_agent.runner import checkpoint_history, current_state, export_json, resume_campaign, start_campaign

CLI = str(Path(sys.executable).with_name("cmo-agent"))


def sqlite_figures(db: Path, thread_id: str) -> dict[str, Any]:
    """The file, and the bytes of the saver's two tables by kind (checkpoints, writes by channel)."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        checkpoints = conn.execute(
            "SELECT count(*), coalesce(sum(length(checkpoint)), 0), coalesce(sum(length(metadata)), 0)"
            " FROM checkpoints WHERE thread_id = ?",
            [thread_id],
        ).fetchone()
        writes = conn.execute(
            "SELECT channel, count(*), sum(length(value)) FROM writes WHERE thread_id = ? GROUP BY channel"
            " ORDER BY 3 DESC",
            [thread_id],
        ).fetchall()
        snapshots = _sqlite_snapshot_bytes(conn, thread_id)
        pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    return {
        "file": db.stat().st_size,
        "tables": {name: size for name, size in pages.items() if "checkpoints" in name or "writes" in name},
        "checkpoints": checkpoints[0],
        "checkpoint_blobs": checkpoints[1],
        "metadata": checkpoints[2],
        "delta_snapshots": snapshots,
        "writes": {channel: (rows, size) for channel, rows, size in writes},
    }


def _sqlite_snapshot_bytes(conn: sqlite3.Connection, thread_id: str) -> dict[str, tuple[int, int]]:
    """Per channel stored inline in checkpoint blobs: (checkpoints holding it, bytes re-serialized)."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    serde = JsonPlusSerializer()
    found: dict[str, tuple[int, int]] = {}
    for type_, blob in conn.execute("SELECT type, checkpoint FROM checkpoints WHERE thread_id = ?", [thread_id]):
        checkpoint = serde.loads_typed((type_, blob))
        for channel, value in checkpoint.get("channel_values", {}).items():
            rows, size = found.get(channel, (0, 0))
            found[channel] = (rows + 1, size + len(serde.dumps_typed(value)[1]))
    return dict(sorted(found.items(), key=lambda item: -item[1][1]))


def postgres_figures(url: str, thread_id: str) -> dict[str, Any]:
    """pg_total_relation_size of the saver's three tables, and their rows' bytes by channel."""
    with connect_postgres(url) as conn:
        conn.execute("CHECKPOINT")
        sizes = {
            table: conn.execute("select pg_total_relation_size(%s)", [table]).fetchone()[0]  # type: ignore[index]
            for table in ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
        }
        checkpoints = conn.execute(
            "select count(*), coalesce(sum(pg_column_size(checkpoint)), 0), coalesce(sum(pg_column_size(metadata)), 0)"
            " from checkpoints where thread_id = %s",
            [thread_id],
        ).fetchone()
        blobs = conn.execute(
            "select channel, count(*), coalesce(sum(length(blob)), 0) from checkpoint_blobs where thread_id = %s"
            " group by channel order by 3 desc",
            [thread_id],
        ).fetchall()
        writes = conn.execute(
            "select channel, count(*), sum(length(blob)) from checkpoint_writes where thread_id = %s"
            " group by channel order by 3 desc",
            [thread_id],
        ).fetchall()
    assert checkpoints is not None
    return {
        "relations": sizes,
        "checkpoints": checkpoints[0],
        "checkpoint_json": checkpoints[1],
        "metadata": checkpoints[2],
        "blobs": {channel: (rows, size) for channel, rows, size in blobs},
        "writes": {channel: (rows, size) for channel, rows, size in writes},
    }


def storage(settings: Settings, job_id: str) -> tuple[int, dict[str, Any]]:
    """(the bytes the issue compares with the export, the breakdown)."""
    url = settings.resolved_checkpoint_url()
    if is_postgres(url):
        figures = postgres_figures(url, thread_id_for(job_id))
        return sum(figures["relations"].values()), figures
    figures = sqlite_figures(settings.data_dir / "cmo_agent.db", thread_id_for(job_id))
    return sum(figures["tables"].values()), figures


IMPORTS = "import cmo_agent.cli, cmo_agent.runner, cmo_agent.reporting"
"""What `status` imports before it reads anything: the floor of every command that reads a state."""


def wall_times(env: dict[str, str], args: list[str], runs: int) -> list[float]:
    """Process start to exit of `cmo-agent ARGS` (`python -c IMPORTS` for `["imports"]`), `runs` times."""
    command = [sys.executable, "-c", IMPORTS] if args == ["imports"] else [CLI, *args]
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        found.append(time.perf_counter() - started)
        assert done.returncode == 0, (args, done.returncode, done.stderr)
    return found


def command_times(settings: Settings, job_id: str, runs: int) -> dict[str, list[float]]:
    env = os.environ | {
        "CMO_DATA_DIR": str(settings.data_dir),
        "CMO_CHECKPOINT_URL": settings.resolved_checkpoint_url(),
    }
    commands = {
        "imports": ["imports"],
        "status": ["status", job_id],
        "resume": ["resume", job_id],
        "history": ["history", job_id, "--json"],
        "export": ["export", job_id, "--out", str(settings.data_dir / "bench-export.json"), "--force"],
        "report": ["report", job_id, "--json"],
    }
    return {name: wall_times(env, args, runs) for name, args in commands.items()}


def show(title: str, settings: Settings, job_id: str, runs: int) -> tuple[str, int]:
    """Print one measurement of the finished job; return its export and the storage bytes."""
    exported = export_json(settings, job_id)
    total, figures = storage(settings, job_id)
    started = time.perf_counter()
    rows = checkpoint_history(settings, job_id)
    history_seconds = time.perf_counter() - started
    reads = []
    for _ in range(runs):
        started = time.perf_counter()
        current_state(settings, job_id)
        reads.append(time.perf_counter() - started)
    export_bytes = len(exported.encode())
    print(f"--- {title}")
    print(f"export: {export_bytes / 1e6:.2f} MB; history: {len(rows)} rows in {history_seconds:.2f} s (in process)")
    print(f"reading the state (in process, what status and resume do): median {statistics.median(reads):.2f} s")
    print(f"checkpoint storage: {total / 1e6:.2f} MB = {total / export_bytes:.2f} x the export")
    if "file" in figures:
        blobs = figures["checkpoint_blobs"] + sum(size for _, size in figures["writes"].values())
        print(
            f"  SQLite file {figures['file'] / 1e6:.2f} MB = {figures['file'] / export_bytes:.2f} x the export;"
            f" checkpoint and write blobs {blobs / 1e6:.2f} MB = {blobs / export_bytes:.2f} x"
        )
    for name, value in figures.items():
        if isinstance(value, dict):
            value = {key: item for key, item in value.items() if item not in ((1, 0), (0, 0)) and item != [0, 0]}
        print(f"  {name}: {json.dumps(value, default=str)}")
    for name, seconds in command_times(settings, job_id, runs).items():
        shown = ", ".join(f"{s:.2f}" for s in seconds)
        label = "its imports alone" if name == "imports" else f"`cmo-agent {name}`"
        print(f"{label}: median {statistics.median(seconds):.2f} s ({shown})")
    return exported, total


@contextmanager
def data_dir(keep: str | None) -> Iterator[Path]:
    """A temporary data directory, or `keep` (created, left in place) to look at the job afterwards."""
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        yield Path(keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=40)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--leads", type=int, help="size the world for about this many leads (all repositories)")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--follow-ups", type=int, default=0, help="follow-up steps, 2 s apart")
    parser.add_argument("--database", help="a postgresql:// URL of an empty database (default: SQLite)")
    parser.add_argument("--runs", type=int, default=3, help="times each command is timed")
    parser.add_argument("--prune", action="store_true", help="then `cmo-agent prune` and measure again")
    parser.add_argument("--keep", metavar="DIR", help="use and keep this data directory (default: a temporary one)")
    args = parser.parse_args()

    params: dict[str, Any] = {"min_score": 0}
    if args.leads:
        args.repos, args.people = max(40, round(args.leads / 70)), round(args.leads * 1.1)
        params["query"] = "archived:false"
    params["max_repos"] = args.repos
    if args.follow_ups:
        params |= {"follow_ups": args.follow_ups, "follow_up_after": "2s"}
    snapshot = shift_dates(build_snapshot(repos=args.repos, people=args.people), datetime.now(UTC))
    with data_dir(args.keep) as tmp, GitHubStandIn(snapshot) as github:
        # Storage is measured here, not requests: budgets that never run out, profiles by GraphQL.
        github.limits = dict.fromkeys(("core", "search", "graphql"), (10**9, 3600.0))
        settings = Settings(
            GITHUB_TOKEN="bench-token",
            CMO_DATA_DIR=tmp,
            CMO_CHECKPOINT_URL=args.database,
            GITHUB_API_URL=github.url,
            CMO_GITHUB_MAX_PER_MIN=60_000,
            CMO_BATCH_SIZE=args.batch,
            CMO_MX_CHECK=False,  # made-up addresses; and no DNS beyond loopback
        )
        started = time.perf_counter()
        outcome = start_campaign(settings, "Find active ML engineers", params)
        while outcome.status == "waiting":
            time.sleep(2.1)
            outcome = resume_campaign(settings, outcome.job_id)
        elapsed = time.perf_counter() - started
        assert outcome.status == "done", (outcome.status, outcome.error)
        leads = len(outcome.state["leads"])
        state = outcome.state
        print(f"snapshot: {args.repos} repos, {args.people} people; batch size {args.batch}")
        print(f"leads: {leads}, drafted: {len(state['to_send'])}, follow-ups: {len(state.get('follow_ups', {}))}")
        print(f"GitHub requests: {github.count()}; campaign wall time: {elapsed:.1f} s")
        exported, total = show("finished job", settings, outcome.job_id, args.runs)
        print(f"bytes per lead: storage {total / leads:,.0f}")
        if args.prune:
            env = os.environ | {
                "CMO_DATA_DIR": str(settings.data_dir),
                "CMO_CHECKPOINT_URL": settings.resolved_checkpoint_url(),
            }
            started = time.perf_counter()
            pruned = subprocess.run(
                [CLI, "prune", outcome.job_id, "--json"], env=env, capture_output=True, text=True, check=True
            )
            print(f"`cmo-agent prune`: {time.perf_counter() - started:.2f} s: {pruned.stdout.strip()}")
            if args.database:  # the bench's own database: give the space back, to measure what is left
                with connect_postgres(args.database) as conn:
                    conn.execute("VACUUM FULL checkpoints, checkpoint_blobs, checkpoint_writes")
            after, _ = show("after prune", settings, outcome.job_id, args.runs)
            print(f"export identical after prune: {after == exported}")


if __name__ == "__main__":
    main()
