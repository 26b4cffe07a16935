"""Text from GitHub or the user is data: printed as text (never as Rich markup), stripped of control
characters, and kept out of emails when it carries a link, an address or markup."""

from __future__ import annotations

import copy
import email
import email.policy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.demo.github_server import GitHubStandIn
from tests.conftest import run_cli
from tests.loopback.smtp_server import SmtpStandIn, delivery_env

pytestmark = pytest.mark.e2e

PLANTED_LINK = "https://evil.example/claim-your-prize"
HOSTILE_DESCRIPTIONS = [
    "Tensor kernels [/x] and [bold]speed[/bold] for all",  # harmless: used, as the text it is
    f"Fast tensors, claim credits at {PLANTED_LINK} today. Really",
    "Tensor kernels [/x] for everyone [link=https://evil.example]docs[/link]",
    "GPU inference \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 and \x1b[2J cleared screens",
    "Contact maintainers at owner@evil.example for access",
    "Kernels <a href='https://evil.example'>here</a> and more",
    "Bcc: victim@example.org",
    "{{ sender_name }} templates [first name] here",
]
GOAL_WITH_ESCAPES = "Find ML engineers \x1b[31mred\x1b[0m \x1b]0;title\x07 [bold]loud[/bold] [/x]"


def _hostile(snapshot: dict[str, Any], descriptions: list[str] = HOSTILE_DESCRIPTIONS) -> dict[str, Any]:
    """The demo world with every repository's description replaced by hostile text."""
    world = copy.deepcopy(snapshot)
    for index, repo in enumerate(world["repos"]):
        repo["description"] = descriptions[index % len(descriptions)]
    return world


def _smtp_env(base_env: dict[str, str], github: GitHubStandIn, smtp: SmtpStandIn) -> dict[str, str]:
    return base_env | {"GITHUB_API_URL": github.url, **delivery_env(smtp)}


def test_markup_in_drafts_is_text_on_the_approval_screen(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    markup = "Tensor kernels [/x] and [bold]speed[/bold] for all"
    with GitHubStandIn(_hostile(demo_snapshot, [markup])) as github, SmtpStandIn() as smtp:
        env = _smtp_env(base_env, github, smtp)
        gated = run_cli(["run", "Find ML engineers", "--deliver", "smtp", "--max-repos", "2"], env, tmp_path)
    assert gated.returncode == 3, gated.stdout + gated.stderr
    assert "Traceback" not in gated.stderr and "waiting for approval" in gated.stdout
    assert "(tensor kernels [/x] and [bold]speed[/bold] for all)" in gated.stdout.replace("\n", " ")
    assert not smtp.messages


def test_hostile_descriptions_and_goal_are_text_on_screen_and_out_of_every_email(
    tmp_path: Path, base_env: dict[str, str], demo_snapshot: dict[str, Any]
) -> None:
    with GitHubStandIn(_hostile(demo_snapshot)) as github, SmtpStandIn() as smtp:
        env = _smtp_env(base_env, github, smtp)
        args = ["run", GOAL_WITH_ESCAPES, "--deliver", "smtp", "--job-id", "hostile", "--max-repos", "7"]
        gated = run_cli(args, env, tmp_path)
        # The approval screen shows sample drafts; markup in them is text, not a crash.
        assert gated.returncode == 3, gated.stdout + gated.stderr
        assert "Traceback" not in gated.stderr and "waiting for approval" in gated.stdout
        query = run_cli(
            ["run", "Find x", "--demo", "--query", "topic:ml [/x] [link=https://evil.example]"], env, tmp_path
        )
        assert query.returncode == 0, query.stderr
        assert "search query: topic:ml [/x] [link=https://evil.example]" in query.stdout
        status = run_cli(["status", "hostile"], env, tmp_path)
        table = run_cli(["status"], env, tmp_path)
        for shown in (gated.stdout, gated.stderr, status.stdout, table.stdout):
            assert "\x1b" not in shown and "\x07" not in shown, "no escape sequence reaches the terminal"
        assert "[bold]loud[/bold] [/x]" in status.stdout

        approved = run_cli(["approve", "hostile", "--json"], env, tmp_path)
        assert approved.returncode == 0, approved.stderr
        summary = json.loads(approved.stdout)
        assert summary["funnel"]["drafted"] == summary["funnel"]["delivered"] > 20
        state = json.loads(run_cli(["export", "hostile", "--out", "-"], env, tmp_path).stdout)

    described = 0
    for received in smtp.messages:
        raw = received.data.decode()
        message = email.message_from_string(raw, policy=email.policy.default)
        body = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert "evil.example" not in raw, "a planted link or address reached an email"
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", raw), "a control character reached an email"
        assert "<a href" not in body and "{{" not in body and "[first name]" not in body
        assert "Bcc" not in raw and message["Bcc"] is None and message["Cc"] is None
        described += "(tensor kernels [/x] and [bold]speed[/bold] for all)" in " ".join(body.split())
    omitted = [draft["omitted_facts"] for draft in state["to_send"].values() if draft.get("omitted_facts")]
    assert omitted, "facts that fail the checks are recorded as left out"
    reasons = {reason for facts in omitted for reason in facts.values()}
    assert any(why in reason for reason in reasons for why in ("links to a page", "has markup", "email address"))
    assert 0 < described < len(smtp.messages), "a description that passes the checks is still used"
