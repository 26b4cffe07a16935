"""`replay` of a job that delivered over SMTP: a fork never mails an address another job sent (or may
have sent) to, since the ledger decides, not the state the fork copied; whoever nobody mailed still
gets their one message. Loopback GitHub and SMTP (no IMAP); the CLI runs in-process (CliRunner)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.ledger import open_ledger
from cmo_agent.demo.github_server import GitHubStandIn
from tests.cli_calls import cli, cli_json
from tests.loopback.smtp_server import SmtpStandIn, delivery_env
from tests.sync.conftest import settings_for

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"
ORIGINAL = "mailed"
SMALL = ("--max-repos", "1", "--max-leads", "6")
_UNSET = ("CMO_CHECKPOINT_URL", "GITHUB_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "IMAP_HOST", "CMO_PITCH")


@pytest.fixture(params=["sqlite", "postgres"])
def env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    github: GitHubStandIn,
    smtp: SmtpStandIn,
) -> dict[str, str]:
    """The process environment of an in-process CLI call that delivers to `smtp`, on SQLite and on
    PostgreSQL (the ledger too); returned for `settings_for`. Unlike the sync tests', no IMAP."""
    for name in _UNSET:
        monkeypatch.delenv(name, raising=False)
    values = {"CMO_DATA_DIR": str(tmp_path / "data"), "GITHUB_API_URL": github.url, **delivery_env(smtp)}
    if request.param == "postgres":
        values["CMO_CHECKPOINT_URL"] = request.getfixturevalue("postgres_url")
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return values


def _ledger(env: dict[str, str], job_id: str) -> dict[str, str]:
    """The ledger's state of each of `job_id`'s first messages, by login."""
    with open_ledger(settings_for(env)) as ledger:
        return {entry.login: entry.state for entry in ledger.entries(job_id)}


def _received(smtp: SmtpStandIn) -> Counter[str]:
    return Counter(rcpt.lower() for message in smtp.messages for rcpt in message.rcpt_tos)


def _newest(node: str) -> str:
    rows: list[dict[str, Any]] = cli_json("history", ORIGINAL, "--node", node, "--json")
    assert rows, f"{ORIGINAL} has no {node} checkpoint"
    return str(rows[0]["checkpoint_id"])


def _mailed_original(env: dict[str, str], smtp: SmtpStandIn) -> dict[str, Any]:
    """Run the original job over SMTP without the gate, to the end; its final state."""
    summary = cli_json("run", GOAL, "--job-id", ORIGINAL, *SMALL, "--deliver", "smtp", "--yes", "--json")
    assert summary["status"] == "done", summary
    state: dict[str, Any] = cli_json("export", ORIGINAL, "--out", "-")
    assert state["to_send"] and smtp.count() == len(state["to_send"])
    assert _ledger(env, ORIGINAL) == dict.fromkeys(state["to_send"], "sent")
    return state


def test_a_fork_before_delivery_mails_nobody_the_original_mailed(env: dict[str, str], smtp: SmtpStandIn) -> None:
    original = _mailed_original(env, smtp)
    sent = smtp.count()

    for node in ("personalize", "approve"):
        checkpoint = _newest(node)
        at = cli_json("export", ORIGINAL, "--checkpoint", checkpoint, "--out", "-")
        assert {draft["status"] for draft in at["to_send"].values()} == {"drafted"}, "a checkpoint before delivery"
        fork_id = f"fork-{node}"

        summary = cli_json("replay", ORIGINAL, checkpoint, "--job-id", fork_id, "--deliver", "smtp", "--yes", "--json")

        assert summary["status"] == "done", summary
        assert smtp.count() == sent, f"the fork at {node} mailed someone the original had mailed"
        fork = cli_json("export", fork_id, "--out", "-")
        assert fork["forked_from"]["job_id"] == ORIGINAL and fork["forked_from"]["checkpoint_id"] == checkpoint
        assert set(fork["to_send"]) == set(original["to_send"])
        for login, draft in fork["to_send"].items():
            assert draft["status"] == "suppressed", (login, draft)
            assert draft["suppressed_by"] == f"already mailed by job {ORIGINAL}", (login, draft)
        assert _ledger(env, fork_id) == dict.fromkeys(fork["to_send"], "suppressed"), "no `sent` row for the fork"
    assert _ledger(env, ORIGINAL) == dict.fromkeys(original["to_send"], "sent")
    assert all(n == 1 for n in _received(smtp).values())


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_a_fork_mails_whom_no_job_mailed_and_nobody_else(env: dict[str, str], smtp: SmtpStandIn) -> None:
    gated = cli("run", GOAL, "--job-id", ORIGINAL, *SMALL, "--deliver", "smtp", code=3)
    assert "waiting for approval" in gated.stdout
    drafts = cli_json("export", ORIGINAL, "--out", "-")["to_send"]
    rejected = sorted(drafts)[0]
    address = drafts[rejected]["to"].lower()
    cli("approve", ORIGINAL, "--reject", rejected)
    assert smtp.count() == len(drafts) - 1 and address not in _received(smtp)

    summary = cli_json(
        "replay", ORIGINAL, _newest("personalize"), "--job-id", "fork", "--deliver", "smtp", "--yes", "--json"
    )

    assert summary["status"] == "done", summary
    assert smtp.count() == len(drafts) and smtp.messages[-1].rcpt_tos == [drafts[rejected]["to"]]
    assert all(n == 1 for n in _received(smtp).values()), "nobody got two messages"
    fork = cli_json("export", "fork", "--out", "-")["to_send"]
    assert fork[rejected]["status"] == "sent"
    assert {login: draft["status"] for login, draft in fork.items() if login != rejected} == dict.fromkeys(
        set(drafts) - {rejected}, "suppressed"
    )
    assert _ledger(env, "fork") == dict.fromkeys(drafts, "suppressed") | {rejected: "sent"}


@pytest.mark.parametrize("env", ["sqlite"], indirect=True)
def test_a_fork_at_the_input_checkpoint_mails_nobody_the_original_mailed(
    env: dict[str, str], smtp: SmtpStandIn
) -> None:
    original = _mailed_original(env, smtp)
    sent = smtp.count()
    history: list[dict[str, Any]] = cli_json("history", ORIGINAL, "--json")
    first = min(history, key=lambda row: row["step"])
    assert first["node"] == "(input)"

    summary = cli_json(
        "replay", ORIGINAL, first["checkpoint_id"], "--job-id", "fork-0", "--deliver", "smtp", "--yes", "--json"
    )

    assert summary["status"] == "done", summary
    assert all(n == 1 for n in _received(smtp).values()), "nobody got two messages"
    fork = cli_json("export", "fork-0", "--out", "-")
    assert fork["forked_from"]["job_id"] == ORIGINAL
    # hygiene runs again in the fork: whom the original mailed are skipped there (CMO_RECONTACT_DAYS),
    # so the fork drafts (and mails) only people nobody mailed
    assert not set(fork["to_send"]) & set(original["to_send"])
    assert {fork["leads"][login]["hygiene"]["reason"] for login in original["to_send"]} == {f"recontact:{ORIGINAL}"}
    assert smtp.count() == sent + len(fork["to_send"])
