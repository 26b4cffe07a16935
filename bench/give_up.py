"""How long the product takes to give up on what does not answer: MX checks against a silent DNS
resolver, the query from the goal with the model's endpoint unreachable, and a campaign stopped
(SIGTERM) while it waits for GitHub's core budget to reset in an hour.

The tests check what happens in each case; this prints how long it takes.

    .venv/bin/python bench/give_up.py [--domains 50] [--dns-timeout 0.3] [--llm-timeout 2] [--llm-retries 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

from cmo_agent.adapters.mx import MxChecker
from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.demo.snapshot import load_snapshot
from cmo_agent.targeting.query_llm import translate_goal
from tests.loopback.dns_server import DnsStandIn

GOAL = "Find active ML engineers"


def silent_resolver(domains: int, timeout: float) -> None:
    with DnsStandIn({}) as dns:
        dns.mode = "silent"
        checker = MxChecker(dns.address, timeout=timeout)
        started = time.perf_counter()
        checker.check("example.org")
        first = time.perf_counter() - started
        for index in range(domains - 1):
            checker.check(f"domain-{index}.example")
        total = time.perf_counter() - started
        asked = sorted({name for name, _ in dns.queries})
    each = 1000 * (total - first) / max(1, domains - 1)
    print(f"silent DNS resolver, timeout {timeout} s: the first address {first:.2f} s (probes {', '.join(asked)});")
    print(f"  {domains} addresses on as many domains {total:.2f} s in all, {each:.3f} ms each after the first")


def unreachable_model(timeout: float, retries: int) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            CMO_DATA_DIR=Path(tmp),
            OPENAI_API_KEY="bench-key",
            OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
            CMO_LLM_TIMEOUT=timeout,
            CMO_LLM_MAX_RETRIES=retries,
        )
        started = time.perf_counter()
        choice = translate_goal(GOAL, settings, date(2026, 11, 27))
        seconds = time.perf_counter() - started
    print(f"model endpoint unreachable, {retries} retries: query from the {choice.source} after {seconds:.2f} s")
    print(f"  ({choice.note})")


def stop_during_limit_wait() -> None:
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(load_snapshot()) as github:
        github.limits["core"] = (40, 3600)  # spent mid-enrichment, reset in an hour
        scrubbed = ("GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "CMO_CHECKPOINT_URL", "SMTP_HOST")
        env = {name: value for name, value in os.environ.items() if name not in scrubbed} | {
            "CMO_DATA_DIR": tmp,
            "GITHUB_API_URL": github.url,
            "CMO_GITHUB_MAX_PER_MIN": "60000",
            "CMO_BATCH_SIZE": "10",
            "CMO_GITHUB_WORKERS": "2",
            "CMO_MX_CHECK": "false",
            "LANGSMITH_TRACING": "false",
            "PYTHONUNBUFFERED": "1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "cmo_agent", "run", GOAL, "--job-id", "limited"],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        waiting = threading.Event()
        announced: list[str] = []

        def read() -> None:
            for line in proc.stderr or ():
                if "GitHub: waiting" in line and not waiting.is_set():
                    announced.append(line.strip())
                    waiting.set()

        threading.Thread(target=read, daemon=True).start()
        if not waiting.wait(120):
            proc.kill()
            raise SystemExit("the run never started waiting for GitHub's reset")
        time.sleep(1)  # well inside the wait, not at its start
        stopped = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=600)
        seconds = time.perf_counter() - stopped
    print(f"SIGTERM during a wait for GitHub's reset ({announced[0]}): exit {code} after {seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=50, help="addresses to check against the silent resolver")
    parser.add_argument("--dns-timeout", type=float, default=0.3)
    parser.add_argument("--llm-timeout", type=float, default=2.0)
    parser.add_argument("--llm-retries", type=int, default=1)
    args = parser.parse_args()
    silent_resolver(args.domains, args.dns_timeout)
    unreachable_model(args.llm_timeout, args.llm_retries)
    stop_during_limit_wait()


if __name__ == "__main__":
    main()
