"""The demo campaign end to end through the command line, and its inspection commands."""

from __future__ import annotations

import json
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
