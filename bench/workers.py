"""Jobs per minute through the PostgreSQL work queue with 1, 2 and 4 `cmo-agent worker` processes.

    .venv/bin/python bench/workers.py [--jobs 12] [--workers 1,2,4] [--max-repos 2]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

For each worker count: a fresh database, `--jobs` demo campaigns queued with `run --demo --enqueue`
(the loopback GitHub stand-in, outbox delivery), then that many workers started at once; prints the
seconds from the first worker's start to the last job done, and jobs per minute.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from cmo_agent.core.jobs import open_job_store

CMO = str(Path(sys.executable).parent / "cmo-agent")


def measure(admin_url: str, jobs: int, workers: int, max_repos: int) -> float:
    name = f"cmo_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    data = Path(tempfile.mkdtemp(prefix="workers-bench-"))
    env = dict(os.environ) | {"CMO_CHECKPOINT_URL": url, "CMO_DATA_DIR": str(data), "LANGSMITH_TRACING": "false"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(jobs):
            options = ["--demo", "--max-repos", str(max_repos), "--job-id", f"b{n}", "--enqueue"]
            subprocess.run(
                [CMO, "run", "Find active ML engineers", *options],
                env=env,
                check=True,
                capture_output=True,
            )
        started = time.monotonic()
        procs = [
            subprocess.Popen([CMO, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        while True:
            with open_job_store(url) as store:
                statuses = [job.status for job in store.list()]
            if any(status == "failed" for status in statuses):
                raise SystemExit(f"a job failed: {statuses}")
            if statuses.count("done") == jobs:
                return time.monotonic() - started
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--max-repos", type=int, default=2)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for workers in [int(n) for n in args.workers.split(",")]:
        seconds = measure(args.admin_url, args.jobs, workers, args.max_repos)
        print(f"{workers} workers: {args.jobs} jobs in {seconds:.1f} s = {args.jobs / seconds * 60:.1f} jobs/min")


if __name__ == "__main__":
    main()
