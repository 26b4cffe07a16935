"""The demo campaign end to end through the command line, and its inspection commands."""

from __future__ import annotations

import json
import time
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from cmo_agent.core.state import SEED_KEYS
from cmo_agent.graph import STAGES
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def test_demo_runs_end_to_end_and_can_be_inspected(tmp_path: Path, base_env: dict[str, str]) -> None:
    result = run_cli(["run", "Find active ML engineers", "--demo", "--job-id", "demo-1"], base_env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "job demo-1"
    assert "outbox:" in result.stdout  # its wall time and memory: bench/demo_campaign.py

    outbox = tmp_path / "data" / "outbox" / "demo-1"
    emails = sorted(outbox.glob("*.eml"))
    assert len(emails) >= 10
    for path in emails:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["To"] and message["From"] and message["Message-ID"] and message["List-Unsubscribe"]
        body = message.get_content()
        assert "{{" not in body and "Where we found your address" in body and "unsubscribe" in body
        assert "noreply" not in message["To"]

    history = run_cli(["history", "demo-1", "--json"], base_env, tmp_path)
    assert history.returncode == 0, history.stderr
    rows = json.loads(history.stdout)
    nodes = {row["node"] for row in rows}
    assert set(STAGES) <= nodes
    steps = [row["step"] for row in rows]
    assert steps == sorted(steps, reverse=True)

    export = run_cli(["export", "demo-1"], base_env, tmp_path)
    assert export.returncode == 0, export.stderr
    exported = tmp_path / "data" / "runstate_demo-1.json"
    assert export.stdout.strip() == str(exported)
    state = json.loads(exported.read_text())
    assert set(SEED_KEYS) <= set(state)
    assert len(state["to_send"]) == len(emails)
    assert state["counters"]["github_api_calls"] > 0
    dropped = {lead["hygiene"]["reason"] for lead in state["leads"].values() if lead.get("hygiene")}
    assert {"noreply", "no_address"} <= {reason.split(":")[0] for reason in dropped if reason}
    assert not any(login.endswith("[bot]") for login in state["candidates"])

    status = run_cli(["status", "demo-1", "--json"], base_env, tmp_path)
    assert json.loads(status.stdout)["status"] == "done"
    again = run_cli(["resume", "demo-1"], base_env, tmp_path)
    assert again.returncode == 0 and len(list(outbox.glob("*.eml"))) == len(emails)


def test_help_answers_without_loading_the_pipeline(tmp_path: Path, base_env: dict[str, str]) -> None:
    result = run_cli(["--help"], base_env, tmp_path)
    assert result.returncode == 0 and "run" in result.stdout and "history" in result.stdout
    # The whole entry point, as the console script runs it (main() ends by shutting stage pools down).
    probe = run_cli_python(
        "import contextlib, io, sys; sys.argv = ['cmo-agent', '--help']; from cmo_agent import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    cli.main()\n"
        "print('langgraph' in sys.modules, 'github' in sys.modules)",
        base_env,
        tmp_path,
    )
    assert probe == "False False"


def run_cli_python(code: str, env: dict[str, str], cwd: Path) -> str:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_bad_input_exits_2_with_one_line(tmp_path: Path, base_env: dict[str, str]) -> None:
    cases = [
        ["run", "ML people", "--demo", "--email-sources", "events"],
        ["run", "ML people", "--demo", "--job-id", "bad id!"],
        ["run", "ML people", "--deliver", "pigeon"],
        ["run", "   ", "--demo"],
        ["resume", "no-such-job"],
        ["history", "no-such-job"],
        ["export", "no-such-job"],
    ]
    for args in cases:
        result = run_cli(args, base_env, tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "data" / "outbox").exists()


def test_duplicate_job_id_is_refused(tmp_path: Path, base_env: dict[str, str]) -> None:
    first = run_cli(
        ["run", "Find active ML engineers", "--demo", "--job-id", "twice", "--max-repos", "2"], base_env, tmp_path
    )
    assert first.returncode == 0, first.stderr
    second = run_cli(["run", "Find active ML engineers", "--demo", "--job-id", "twice"], base_env, tmp_path)
    assert second.returncode == 2 and "already exists" in second.stderr


def test_demo_with_follow_ups_waits_then_threads_each_step(tmp_path: Path, base_env: dict[str, str]) -> None:
    args = ["run", "Find active ML engineers", "--demo", "--job-id", "seq", "--max-repos", "2"]
    started = run_cli([*args, "--follow-ups", "1", "--follow-up-after", "15s"], base_env, tmp_path)
    assert started.returncode == 3, started.stderr
    assert "waiting: follow-up 1 of 1 due " in started.stdout and "cmo-agent resume seq" in started.stdout
    status = json.loads(run_cli(["status", "seq", "--json"], base_env, tmp_path).stdout)
    assert status["status"] == "waiting" and status["due_at"] and status["error"].startswith("follow-up 1 of 1 due")

    outbox = tmp_path / "data" / "outbox" / "seq"
    first = sorted(outbox.glob("*.eml"))
    early = run_cli(["resume", "seq", "--json"], base_env, tmp_path)
    assert time.time() < datetime.fromisoformat(status["due_at"]).timestamp(), "too slow to resume early"
    assert early.returncode == 3 and json.loads(early.stdout)["status"] == "waiting"
    assert sorted(outbox.glob("*.eml")) == first

    time.sleep(max(0.0, datetime.fromisoformat(status["due_at"]).timestamp() - time.time()) + 1.0)
    done = run_cli(["resume", "seq"], base_env, tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    follow_ups = sorted(outbox.glob("*.follow-up-1.eml"))
    assert len(follow_ups) == len(first)
    for path in follow_ups:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        parent_path = outbox / path.name.replace(".follow-up-1", "")
        parent = message_from_bytes(parent_path.read_bytes(), policy=policy.default)
        assert message["In-Reply-To"] == message["References"] == parent["Message-ID"]
        assert message["Subject"] == "Re: " + parent["Subject"] and message["To"] == parent["To"]
    report = json.loads(run_cli(["report", "seq", "--json"], base_env, tmp_path).stdout)
    assert [(row["name"], row["delivered"]) for row in report["steps"]] == [
        ("first message", len(first)),
        ("follow-up 1", len(first)),
    ]
    assert report["stage_seconds"]["follow_up"] >= 0 and report["stage_seconds"]["enrich"] > 0
