"""Once across campaigns, over a real SMTP server on loopback: a second job skips everyone the first
one sent to (`recontact:<job>`), the outbox does not count as contact, and `--recontact-days 0`
lets the operator write to them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import current_state
from tests.conftest import run_cli
from tests.loopback.smtp_server import SmtpStandIn, delivery_env

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"


def test_a_person_another_job_sent_to_is_not_written_to_again(
    tmp_path: Path, base_env: dict[str, str], github: GitHubStandIn, smtp: SmtpStandIn
) -> None:
    env = base_env | {"GITHUB_API_URL": github.url, **delivery_env(smtp)}
    settings = Settings(CMO_DATA_DIR=env["CMO_DATA_DIR"])
    common = ["--max-repos", "2", "--max-leads", "3"]

    outbox = run_cli(["run", GOAL, "--job-id", "drafts", *common], env, tmp_path)
    assert outbox.returncode == 0, outbox.stderr
    sent = run_cli(["run", GOAL, "--job-id", "first", "--deliver", "smtp", "--yes", *common], env, tmp_path)
    assert sent.returncode == 0, sent.stderr
    first = current_state(settings, "first")[1]
    reached = {login for login, draft in first["to_send"].items() if draft["status"] == "sent"}
    drafted_before = set(current_state(settings, "drafts")[1]["to_send"])
    assert reached and reached == drafted_before, "the outbox job's drafts did not stop the SMTP job"

    again = run_cli(["run", GOAL, "--job-id", "second", *common], env, tmp_path)
    assert again.returncode == 0, again.stderr
    second = current_state(settings, "second")[1]
    assert not reached & set(second["to_send"])
    assert {second["leads"][login]["hygiene"]["reason"] for login in reached} == {"recontact:first"}
    assert second["reports"]["hygiene"]["recontact"] == len(reached)

    override = run_cli(["run", GOAL, "--job-id", "override", "--recontact-days", "0", *common], env, tmp_path)
    assert override.returncode == 0, override.stderr
    assert set(current_state(settings, "override")[1]["to_send"]) == reached
    assert len(smtp.messages) == len(reached)
