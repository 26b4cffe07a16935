"""`langgraph dev` loads the graph from langgraph.json and runs a campaign through its HTTP API."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cmo_agent.demo.github_server import GitHubStandIn
from tests.conftest import REPO_ROOT, wait_until

pytestmark = pytest.mark.e2e

LANGGRAPH = REPO_ROOT / ".venv" / "bin" / "langgraph"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dev_server(tmp_path: Path, base_env: dict[str, str], github: GitHubStandIn) -> Iterator[str]:
    binary = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or str(LANGGRAPH)
    port = _free_port()
    env = base_env | {"GITHUB_API_URL": github.url}
    log = (tmp_path / "langgraph-dev.log").open("w")
    proc = subprocess.Popen(
        [binary, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        assert proc.poll() is None, (tmp_path / "langgraph-dev.log").read_text()[-3000:]
        try:
            return httpx.get(f"{url}/ok", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answering, timeout=90, what="langgraph dev answering", every=0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_langgraph_dev_serves_and_runs_the_campaign(dev_server: str, tmp_path: Path, github: GitHubStandIn) -> None:
    with httpx.Client(base_url=dev_server, timeout=120) as client:
        assistants = client.post("/assistants/search", json={"graph_id": "campaign"}).json()
        assert assistants and assistants[0]["graph_id"] == "campaign"
        thread = client.post("/threads", json={}).json()
        thread_id = thread["thread_id"]
        final = client.post(
            f"/threads/{thread_id}/runs/wait",
            json={
                "assistant_id": "campaign",
                "input": {"goal": "Find active ML engineers", "params": {"max_repos": 3}},
            },
        )
        assert final.status_code == 200, final.text
        values = final.json()
        history = client.post(f"/threads/{thread_id}/history", json={"limit": 200}).json()

    assert values["job_id"] == thread_id
    summary = values["reports"]["summary"]
    assert summary["funnel"]["repos"] == 3 and summary["funnel"]["drafted"] > 0
    assert summary["github_api_calls"] == github.count(".*")
    assert len(list((tmp_path / "data" / "outbox" / thread_id).glob("*.eml"))) == summary["funnel"]["delivered"]
    assert len(history) >= 9


# `cmo-agent studio`: the server on the project's own database, every job a thread.

CMO = REPO_ROOT / ".venv" / "bin" / "cmo-agent"


def _cmo(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("cmo-agent", path=str(Path(sys.executable).parent)) or str(CMO)
    return subprocess.run(
        [binary, *args], env=env, cwd=Path(env["CMO_DATA_DIR"]).parent, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(params=["sqlite", "postgres"])
def studio(
    request: pytest.FixtureRequest, tmp_path: Path, base_env: dict[str, str]
) -> Iterator[tuple[str, dict[str, str]]]:
    """A CLI-run demo job, then `cmo-agent studio` serving the same database (SQLite or PostgreSQL)."""
    if request.param == "postgres":
        base_env = base_env | {"CMO_CHECKPOINT_URL": request.getfixturevalue("postgres_url")}
    first = _cmo(base_env, "run", "Find active ML engineers", "--demo", "--job-id", "cli-demo", "--max-repos", "3")
    assert first.returncode == 0, first.stdout + first.stderr
    port = _free_port()
    binary = shutil.which("cmo-agent", path=str(Path(sys.executable).parent)) or str(CMO)
    out = (tmp_path / "studio.out").open("w")
    proc = subprocess.Popen(
        [binary, "studio", "--port", str(port)], env=base_env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
    )

    def printed() -> str:
        return (tmp_path / "studio.out").read_text()

    try:
        wait_until(lambda: "open LangGraph Studio" in printed(), timeout=90, what="cmo-agent studio ready", every=0.2)
        yield f"http://127.0.0.1:{port}", base_env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=30) == 0, printed()
        finally:
            if proc.poll() is None:
                proc.kill()
            out.close()
    assert f"http://127.0.0.1:{port}" in printed() and "smith.langchain.com/studio/?baseUrl=" in printed()


def _thread_of(client: httpx.Client, job_id: str) -> dict[str, Any] | None:
    found = client.post("/threads/search", json={"metadata": {"job_id": job_id}, "limit": 10}).json()
    return found[0] if found else None


def test_studio_serves_cli_jobs_and_runs_jobs_the_cli_sees(studio: tuple[str, dict[str, str]]) -> None:
    url, env = studio
    with httpx.Client(base_url=url, timeout=120) as client:
        thread = _thread_of(client, "cli-demo")
        assert thread is not None and thread["metadata"]["graph_id"] == "campaign"
        state = client.get(f"/threads/{thread['thread_id']}/state").json()
        assert state["values"]["job_id"] == "cli-demo" and state["values"]["completed_at"]
        assert state["values"]["reports"]["summary"]["funnel"]["repos"] == 3
        history = client.post(f"/threads/{thread['thread_id']}/history", json={"limit": 1000}).json()
        written_by = {(h["values"].get("progress") or {}).get("node") for h in history}
        assert {"discover", "extract_candidates", "enrich", "hygiene", "score", "personalize"} <= written_by
        assert {"approve", "deliver", "follow_up", "report"} <= written_by

        # A demo campaign started through the server's API: offline (params.demo), and a job like any other.
        created = client.post("/threads", json={}).json()["thread_id"]
        final = client.post(
            f"/threads/{created}/runs/wait",
            json={"assistant_id": "campaign", "input": {"goal": "Find active ML engineers", "params": {"demo": True}}},
        )
        assert final.status_code == 200, final.text
        assert final.json()["reports"]["summary"]["funnel"]["drafted"] > 0
        status = _cmo(env, "status", created, "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["status"] == "done"
        wait_until(lambda: _thread_of(client, created) is not None, timeout=30, what="the Studio job registered")

        # A job the CLI creates while the server runs becomes a thread too.
        later = _cmo(env, "run", "Find Rust developers", "--demo", "--job-id", "later-demo", "--max-repos", "2")
        assert later.returncode == 0, later.stderr
        wait_until(lambda: _thread_of(client, "later-demo") is not None, timeout=30, what="later-demo registered")
    export = _cmo(env, "export", created, "--out", "-")
    assert json.loads(export.stdout)["params"] == {"demo": True}


def test_studio_refuses_a_taken_port(tmp_path: Path, base_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _cmo(base_env, "studio", "--port", str(port))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and f"--port {port}" in result.stderr


def test_a_run_without_a_runner_keeps_a_job_record_and_respects_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the server does, in process: a run with no run control (Studio's, or a script's own
    `invoke`) builds its settings from the environment and `params.demo`, records its job, and
    never runs a step while another process holds the job."""
    import uuid

    from cmo_agent.core.checkpointer import open_checkpointer
    from cmo_agent.core.config import Settings
    from cmo_agent.core.job_lock import JobBusy, hold_job_lock
    from cmo_agent.core.jobs import open_job_store
    from cmo_agent.graph import build_graph

    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:9")  # never used: the demo brings its stand-in
    url = Settings().resolved_checkpoint_url()
    (tmp_path / "data").mkdir()
    thread_id = str(uuid.uuid4())
    config: Any = {"configurable": {"thread_id": thread_id}, "recursion_limit": 10_000}
    goal: Any = {"goal": "Find active ML engineers", "params": {"demo": True, "max_repos": 2}}
    with open_checkpointer(url) as saver:
        graph = build_graph().compile(checkpointer=saver)
        with hold_job_lock(url, thread_id), pytest.raises(JobBusy):
            graph.invoke(goal, config)
        with open_job_store(url) as jobs:
            assert not jobs.exists(thread_id), "a run that could not take the lock records nothing"
        final = graph.invoke(goal, config)
    assert final["job_id"] == thread_id and final["completed_at"]
    assert final["reports"]["summary"]["funnel"]["repos"] == 2
    with open_job_store(url) as jobs:
        job = jobs.get(thread_id)
    assert (job.status, job.goal, job.params, job.thread_id) == ("done", goal["goal"], goal["params"], thread_id)
