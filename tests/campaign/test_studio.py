"""`langgraph dev` loads the graph from langgraph.json and runs a campaign through its HTTP API."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

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
    import shutil
    import sys

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
