"""The approval stage pauses at a LangGraph interrupt; the answer's rejections are never delivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.runner import current_state, resume_campaign, start_campaign

pytestmark = pytest.mark.e2e


def test_gate_waits_then_delivers_all_but_the_rejected(tmp_path: Path, github: GitHubStandIn) -> None:
    settings = Settings(CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000)
    waiting = start_campaign(
        settings, "Find active ML engineers", {"max_repos": 2, "require_approval": True}, job_id="gated"
    )
    assert waiting.status == "awaiting_approval"
    assert waiting.interrupt["drafts"] == len(waiting.state["to_send"]) > 1
    assert waiting.interrupt["samples"] and "subject" in waiting.interrupt["samples"][0]
    outbox = tmp_path / "data" / "outbox" / "gated"
    assert not outbox.exists(), "nothing is delivered before approval"
    job, _ = current_state(settings, "gated")
    assert job.status == "awaiting_approval"

    rejected = sorted(waiting.state["to_send"])[0]
    done = resume_campaign(settings, "gated", answer={"reject": [rejected, "not-a-lead"]})
    assert done.status == "done"
    assert done.state["to_send"][rejected]["status"] == "rejected"
    delivered = {path.stem for path in outbox.glob("*.eml")}
    assert delivered == set(done.state["to_send"]) - {rejected}
    assert done.state["reports"]["approval"]["rejected"] == [rejected]


def test_gate_shows_each_follow_up_before_anything_goes(tmp_path: Path, github: GitHubStandIn) -> None:
    settings = Settings(CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, CMO_GITHUB_MAX_PER_MIN=60_000)
    params = {"max_repos": 2, "require_approval": True, "follow_ups": 2, "follow_up_after": "2d"}
    waiting = start_campaign(settings, "Find active ML engineers", params, job_id="gated")
    assert waiting.status == "awaiting_approval"
    previews = waiting.interrupt["follow_ups"]
    first = waiting.state["to_send"][previews[0]["login"]]
    assert [(p["step"], p["after"], p["subject"]) for p in previews] == [
        (1, "2d", "Re: " + first["subject"]),
        (2, "2d", "Re: " + first["subject"]),
    ]
    assert all(p["body"].strip() and p["written_by"] == "template" for p in previews)
    assert previews[0]["body"] != previews[1]["body"]
    assert "follow_ups" not in waiting.state.get("reports", {}), "no step is scheduled before approval"
