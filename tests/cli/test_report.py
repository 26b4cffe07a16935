"""`report` of a job, in-process: the funnel to replies, outcomes with their rates, usage and errors;
for a job with nothing sent over SMTP it shows the funnel so far and says where outcomes come from."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cmo_agent.cli import app
from cmo_agent.core.config import Settings
from cmo_agent.core.records import Draft, Lead
from cmo_agent.core.state import RunState, apply_update
from cmo_agent.reporting import job_report
from tests.cli.conftest import FINISHED, finished_state


def test_report_json_has_the_funnel_and_outcomes_of_the_contract(with_finished_job: Path) -> None:
    result = CliRunner().invoke(app, ["report", FINISHED, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["funnel"]["drafted"] == 1 and shown["funnel"]["replied"] == 0
    assert shown["outcomes"] == {
        "sent": 0,
        "bounced": 0,
        "replied": 0,
        "unsubscribed": 0,
        "auto_replied": 0,
        "soft_bounced": 0,
    }
    assert shown["rates"]["replied"] is None, "no rate without a message sent"
    assert shown["github"]["api_calls"] == 7 and shown["errors"] == {} and shown["replies"] == []


def test_report_for_people_says_where_outcomes_come_from(with_finished_job: Path) -> None:
    result = CliRunner().invoke(app, ["report", FINISHED], catch_exceptions=False)
    assert result.exit_code == 0
    assert "outcomes come from `cmo-agent sync`" in result.stdout and "funnel" in result.stdout


def test_report_of_an_unknown_job_is_one_line_and_exit_2(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["report", "nope"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_each_lead_counts_once_in_its_strongest_outcome() -> None:
    state = finished_state("r")
    sent = {login: Draft(status="sent") for login in ("ada", "bob")}
    leads = {
        "ada": Lead(outcome="unsubscribed", outcome_detail="remove me"),
        "bob": Lead(outcome="replied", outcome_at="2026-11-27T10:00:00+00:00", outcome_detail="Sure!"),
    }
    after = apply_update(state, RunState(to_send=sent, leads=leads))
    shown = job_report(after, Settings(_env_file=None))
    assert shown["outcomes"]["sent"] == 2 and shown["outcomes"]["unsubscribed"] == 1
    assert shown["outcomes"]["replied"] == 1 and shown["rates"]["replied"] == 0.5
    assert shown["replies"] == [{"login": "bob", "at": "2026-11-27T10:00:00+00:00", "text": "Sure!"}]
