"""How fast `cmo-agent studio` is ready, and what its API answers for a CLI-run demo job.

    .venv/bin/python bench/studio_ready.py [--runs 3] [--screenshot docs/studio-api.png]

Runs the demo campaign into a fresh data directory, starts `cmo-agent studio` `--runs` times and
prints the seconds from start to the ready line (and to the job's thread being found through the
API). With `--screenshot`, writes the server's answers for the job (the thread found by its
`job_id` metadata, and an outline of its state and history) to an HTML page and has headless
Chromium take a picture of it.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

CMO = str(Path(sys.executable).parent / "cmo-agent")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_once(env: dict[str, str], workdir: Path) -> tuple[float, float, subprocess.Popen[bytes], str, Path]:
    port = free_port()
    out = workdir / f"studio-{port}.out"
    started = time.monotonic()
    with out.open("w") as sink:
        proc = subprocess.Popen([CMO, "studio", "--port", str(port)], env=env, cwd=workdir, stdout=sink, stderr=sink)
    while "open LangGraph Studio" not in out.read_text():
        if proc.poll() is not None:
            raise SystemExit(f"cmo-agent studio exited: {out.read_text()[-2000:]}")
        time.sleep(0.05)
    ready = time.monotonic() - started
    base = f"http://127.0.0.1:{port}"
    while not httpx.post(f"{base}/threads/search", json={"metadata": {"job_id": "ml-demo"}}).json():
        time.sleep(0.05)
    found = time.monotonic() - started
    return ready, found, proc, base, out


def api_page(base: str) -> str:
    thread = httpx.post(f"{base}/threads/search", json={"metadata": {"job_id": "ml-demo"}}).json()[0]
    state = httpx.get(f"{base}/threads/{thread['thread_id']}/state").json()
    history = httpx.post(f"{base}/threads/{thread['thread_id']}/history", json={"limit": 1000}).json()
    values: dict[str, Any] = state["values"]
    outline = {
        key: (f"{len(value)} items" if isinstance(value, dict | list) and key not in ("params", "progress") else value)
        for key, value in values.items()
        if key not in ("reports",)
    }
    outline["reports.summary.funnel"] = values["reports"]["summary"]["funnel"]
    steps = [
        f"step {h['metadata'].get('step'):>3}  {(h['values'].get('progress') or {}).get('node', '(input)'):<20}"
        f" next={h['next']}"
        for h in history[:12]
    ]
    sections = [
        ("POST /threads/search {&quot;metadata&quot;: {&quot;job_id&quot;: &quot;ml-demo&quot;}}", thread),
        (f"GET /threads/{thread['thread_id']}/state  (values, collections counted)", outline),
    ]
    body = "".join(
        f"<h2>{title}</h2><pre>{html.escape(json.dumps(answer, indent=2))}</pre>" for title, answer in sections
    )
    body += f"<h2>POST /threads/{thread['thread_id']}/history ({len(history)} checkpoints, newest 12)</h2>"
    body += f"<pre>{html.escape(chr(10).join(steps))}</pre>"
    style = (
        "body{font:14px monospace;margin:24px;background:#fff}"
        "h2{font-size:15px;color:#234}pre{background:#f4f6f8;padding:10px}"
    )
    return f"<!doctype html><meta charset=utf-8><title>cmo-agent studio</title><style>{style}</style>{body}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="studio-bench-"))
    env = dict(os.environ) | {"CMO_DATA_DIR": str(workdir / "data"), "LANGSMITH_TRACING": "false"}
    subprocess.run(
        [CMO, "run", "Find active ML engineers", "--demo", "--job-id", "ml-demo"],
        env=env,
        check=True,
        capture_output=True,
    )
    for run in range(1, args.runs + 1):
        ready, found, proc, base, _ = start_once(env, workdir)
        print(f"run {run}: ready line after {ready:.2f} s, job's thread found through the API after {found:.2f} s")
        if run == args.runs and args.screenshot is not None:
            page = workdir / "studio-api.html"
            page.write_text(api_page(base), encoding="utf-8")
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            if chromium is None:
                raise SystemExit("chromium is not installed")
            subprocess.run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--hide-scrollbars",
                    f"--screenshot={args.screenshot.resolve()}",
                    "--window-size=1100,1500",
                    page.as_uri(),
                ],
                check=True,
                capture_output=True,
            )
            print(f"screenshot: {args.screenshot}")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
