"""SMTP pacing: the rate messages actually leave at, and whether a restart keeps the pace, against
the loopback SMTP server.

Runs one campaign with `--deliver smtp --yes` at CMO_SEND_RATE_PER_MIN, stops it (drain) halfway,
resumes it in a new run, and prints the gaps between messages as the server received them.

    .venv/bin/python bench/smtp_pacing.py [--rate 120] [--messages 20]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cmo_agent.core.config import Settings
from cmo_agent.core.jobs import open_job_store
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.demo.snapshot import load_snapshot
from cmo_agent.runner import resume_campaign, start_campaign
from tests.loopback.smtp_server import SmtpStandIn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=120, help="CMO_SEND_RATE_PER_MIN")
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(load_snapshot()) as github, SmtpStandIn() as smtp:
        settings = Settings(
            CMO_DATA_DIR=Path(tmp),
            GITHUB_API_URL=github.url,
            CMO_GITHUB_MAX_PER_MIN=60_000,
            CMO_MX_CHECK=False,
            SMTP_HOST=smtp.host,
            SMTP_PORT=smtp.port,
            SMTP_SECURITY="none",
            CMO_SENDER_EMAIL="dana@example.com",
            CMO_SENDER_NAME="Dana Reyes",
            CMO_POSTAL_ADDRESS="500 Demo Street, Springfield",
            CMO_SEND_RATE_PER_MIN=args.rate,
        )
        half = args.messages // 2

        def pause_halfway() -> None:
            while smtp.count() < half:
                time.sleep(0.01)
            with open_job_store(settings.resolved_checkpoint_url()) as jobs:
                jobs.request_pause("pacing")

        threading.Thread(target=pause_halfway, daemon=True).start()
        params = {"deliver": "smtp", "max_leads": args.messages, "max_repos": 3}
        first = start_campaign(settings, "Find active ML engineers", params, job_id="pacing")
        stopped_at = time.monotonic()
        second = resume_campaign(settings, "pacing")
        times = [message.at for message in smtp.messages]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    spacing = 60 / args.rate
    before = sum(1 for t in times if t <= stopped_at)
    across = times[before] - times[before - 1]
    print(f"rate {args.rate}/min (spacing {spacing:.2f} s); {len(times)} messages")
    print(f"first run {first.status} ({first.reason}) after {before} messages; resumed run {second.status}")
    print(f"gap between messages: min {min(gaps):.3f} s, median {statistics.median(gaps):.3f} s, max {max(gaps):.3f} s")
    print(f"effective rate: {60 * len(gaps) / (times[-1] - times[0]):.1f}/min")
    print(f"gap across the stop and the restart: {across:.3f} s (pace kept: {across >= spacing * 0.99})")


if __name__ == "__main__":
    main()
