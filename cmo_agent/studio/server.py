"""`cmo-agent studio`: LangGraph's dev server on the project's own checkpoint database, with every
job registered as a thread (metadata `job_id`, `graph_id`), also the jobs created while it runs.

The server (`langgraph dev`, from the `studio` extra) runs as a child process with a generated
`langgraph.json` naming the packaged graph and checkpointer factory (`studio.entry`), in
`$CMO_DATA_DIR/studio/` (its log and its own small thread index live there).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ConfigError
from cmo_agent.core.jobs import Job, open_job_store
from cmo_agent.studio import entry

GRAPH_ID = "campaign"
STUDIO_URL = "https://smith.langchain.com/studio/?baseUrl={base}"
READY_TIMEOUT = 90.0


def langgraph_binary() -> str:
    """The `langgraph` command of this Python's environment; ConfigError when the extra is missing."""
    beside = Path(sys.executable).parent / "langgraph"
    binary = str(beside) if beside.is_file() else shutil.which("langgraph")
    if binary is None or importlib.util.find_spec("langgraph_api") is None:
        raise ConfigError("LangGraph's dev server is not installed: pip install 'cmo-agent[studio]'")
    return binary


def check_port_free(host: str, port: int) -> None:
    """ConfigError when `port` is taken (LangGraph's CLI would quietly pick another one)."""
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"--port {port}: {host}:{port} is in use ({exc.strerror or exc})") from None


def write_config(directory: Path) -> Path:
    """The server's `langgraph.json`: the packaged graph and checkpointer factory, by absolute path."""
    source = Path(entry.__file__).resolve()
    config = {
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
        "dependencies": ["."],
        "graphs": {GRAPH_ID: f"{source}:graph"},
        "checkpointer": {"path": f"{source}:checkpointer"},
    }
    path = directory / "langgraph.json"
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def server_environment(settings: Settings) -> dict[str, str]:
    """The child's environment: ours, with `.env`'s settings (the child runs elsewhere), the data
    directory and database made absolute, and LangGraph's telemetry off (it runs offline)."""
    from dotenv import dotenv_values

    dotenv = {key: value for key, value in dotenv_values(".env").items() if value is not None}
    env = dotenv | dict(os.environ)
    env |= {
        "CMO_DATA_DIR": str(settings.data_dir.resolve()),
        "CMO_CHECKPOINT_URL": settings.resolved_checkpoint_url(),
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
    }
    return env


def register_jobs(client: httpx.Client, jobs: list[Job], known: set[str]) -> int:
    """Make each job not yet in `known` a thread of the server, with `job_id` and `graph_id` in its
    metadata (a thread Studio created itself keeps its values and gains the metadata); how many."""
    added = 0
    for job in jobs:
        if job.job_id in known:
            continue
        metadata = {"job_id": job.job_id, "graph_id": GRAPH_ID, "goal": job.goal}
        created = client.post(
            "/threads", json={"thread_id": job.thread_id, "metadata": metadata, "if_exists": "do_nothing"}
        )
        created.raise_for_status()
        client.patch(f"/threads/{job.thread_id}", json={"metadata": metadata}).raise_for_status()
        known.add(job.job_id)
        added += 1
    return added


def list_jobs(settings: Settings) -> list[Job]:
    with open_job_store(settings.resolved_checkpoint_url()) as jobs:
        return jobs.list()


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve(
    settings: Settings,
    port: int,
    host: str = "127.0.0.1",
    on_ready: Callable[[dict[str, Any]], None] | None = None,
    every: float = 1.0,
) -> int:
    """Run the dev server until Ctrl-C or SIGTERM (or until it exits: its exit code then), keeping
    every job registered as a thread."""
    binary = langgraph_binary()
    check_port_free(host, port)
    with open_job_store(settings.resolved_checkpoint_url()):
        pass  # creates the database (and says so clearly when it cannot) before the server starts
    directory = settings.data_dir.resolve() / "studio"
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory)
    log_path = directory / "server.log"
    base = f"http://{host}:{port}"
    started = time.monotonic()
    command = [
        binary,
        "dev",
        "--no-browser",
        "--no-reload",
        "--host",
        host,
        "--port",
        str(port),
        "--config",
        str(config),
    ]
    with log_path.open("w", encoding="utf-8") as log, _stop_on_sigterm():
        proc = subprocess.Popen(
            command, cwd=directory, env=server_environment(settings), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                _wait_ready(client, proc, log_path)
                known: set[str] = set()
                registered = register_jobs(client, list_jobs(settings), known)
                if on_ready is not None:
                    on_ready(
                        {
                            "api": base,
                            "studio": STUDIO_URL.format(base=base),
                            "jobs": registered,
                            "ready_s": round(time.monotonic() - started, 2),
                            "log": str(log_path),
                        }
                    )
                while proc.poll() is None:
                    time.sleep(every)
                    register_jobs(client, list_jobs(settings), known)
                return proc.returncode or 0
        except KeyboardInterrupt:
            return 0
        finally:
            _stop(proc)


def _wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            lines = [line for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines() if line]
            last = lines[-1].strip() if lines else "no output"
            raise ConfigError(f"LangGraph's dev server exited ({proc.returncode}): {last[:300]} (log: {log_path})")
        try:
            if client.get("/ok", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise ConfigError(f"LangGraph's dev server did not answer within {READY_TIMEOUT:.0f} s (log: {log_path})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
