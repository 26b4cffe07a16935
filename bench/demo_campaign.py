"""The demo campaign as a user runs it: wall time of `cmo-agent run --demo` from process start to exit
(a fresh CMO_DATA_DIR each run), its peak memory, and the time of `--help`, `status` and `export`.

    .venv/bin/python bench/demo_campaign.py [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = "Find active ML engineers"
SCRUBBED = ("GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CMO_CHECKPOINT_URL", "GITHUB_API_URL", "SMTP_HOST")


def timed(args: list[str], env: dict[str, str], cwd: str) -> tuple[float, str]:
    """Seconds from process start to exit, and what it printed."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cmo_agent", *args], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    base = {name: value for name, value in os.environ.items() if name not in SCRUBBED}
    walls: list[float] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            env = base | {"CMO_DATA_DIR": str(Path(tmp) / "data"), "LANGSMITH_TRACING": "false"}
            wall, out = timed(["run", GOAL, "--demo", "--json", "--job-id", "demo"], env, tmp)
            walls.append(wall)
            funnel = json.loads(out)["funnel"]
            if run == 0:
                helped, _ = timed(["--help"], env, tmp)
                shown, _ = timed(["status", "demo", "--json"], env, tmp)
                exported, _ = timed(["export", "demo"], env, tmp)
                database = (Path(tmp) / "data" / "cmo_agent.db").stat().st_size
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"run --demo: {min(walls):.2f} s wall, process start to exit ({', '.join(f'{w:.2f}' for w in walls)})")
    print(f"peak memory of the runs: {peak:.0f} MB")
    print(f"repositories / people / drafted: {funnel['repos']} / {funnel['candidates']} / {funnel['drafted']}")
    print(f"SQLite database after the run: {database / 1e6:.2f} MB")
    print(f"--help {helped:.2f} s, status --json {shown:.2f} s, export {exported:.2f} s")


if __name__ == "__main__":
    main()
