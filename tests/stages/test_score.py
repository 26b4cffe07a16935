"""ICP scoring: a profile from the goal or a TOML file, weighted signals, reasons for every point."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cmo_agent.core.errors import ConfigError
from cmo_agent.core.records import Lead, Profile, Repo
from cmo_agent.stages.score import score_lead
from cmo_agent.targeting.icp import IcpProfile, load_icp_file, profile_for
from tests.conftest import run_cli

NOW = datetime(2026, 11, 27, tzinfo=UTC)
REPOS = {
    "a/ml": Repo(topics=["machine-learning"], language="Python", pushed_at=(NOW - timedelta(days=3)).isoformat()),
    "a/old": Repo(topics=["web"], language="Ruby", pushed_at=(NOW - timedelta(days=900)).isoformat()),
}


def _lead(repos: list[str], contributions: int = 40, **profile: str) -> Lead:
    """A lead with `contributions` commits to each of `repos` (contributions by repository, as enrich writes them)."""
    return Lead(
        login="ada",
        repos=dict.fromkeys(repos, contributions),
        contributions=contributions * len(repos),
        profile=Profile(followers=250, **profile),  # type: ignore[typeddict-item]  # any profile text field
    )


def test_a_lead_matching_every_signal_scores_100_with_a_reason_each() -> None:
    icp = IcpProfile(topics=["machine-learning"], languages=["python"], locations=["berlin"], companies=["kestrel"])
    value, reasons = score_lead(_lead(["a/ml"], location="Berlin, DE", company="@kestrel-ai"), REPOS, icp, NOW)
    assert value == 100
    assert any("works on machine-learning" in r for r in reasons) and any("based in berlin" in r for r in reasons)
    assert len(reasons) == 7, "topics, languages, contributions, followers, activity, location, company"


def test_missing_signals_cost_their_weight_and_say_so() -> None:
    icp = IcpProfile(topics=["machine-learning"], locations=["berlin"])
    matching, _ = score_lead(_lead(["a/ml"], location="Berlin"), REPOS, icp, NOW)
    elsewhere, reasons = score_lead(_lead(["a/old"], location="Lima"), REPOS, icp, NOW)
    assert matching == 100 and 0 < elsewhere < 60
    assert {"+0 no topic", "+0 no location match", "+0 not active in the last 90 days"} <= set(reasons)


def test_weights_are_relative_and_zero_drops_a_signal() -> None:
    only_location = IcpProfile(
        locations=["berlin"],
        weights={"topics": 0, "languages": 0, "contributions": 0, "followers": 0, "activity": 0, "location": 1},
    )
    assert score_lead(_lead(["a/old"], location="berlin"), REPOS, only_location, NOW) == (100, ["+100 based in berlin"])
    assert score_lead(_lead(["a/old"], location="Paris"), REPOS, only_location, NOW)[0] == 0


def test_a_file_overrides_only_what_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "icp.toml"
    path.write_text('[icp]\nlocations = ["Berlin"]\n[icp.weights]\nlocation = 50\n')
    profile = profile_for("topic:machine-learning language:python", "Find active ML engineers", load_icp_file(path))
    assert profile.topics == ["machine-learning"] and profile.languages == ["python"], "derived from the goal"
    assert profile.locations == ["Berlin"] and profile.weights.location == 50 and profile.weights.topics == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("locations = [", "not valid TOML"),
        ("regions = ['EU']", "regions: Extra inputs are not permitted"),
        ("[weights]\nlocation = -1", "weights.location: Input should be greater than or equal to 0"),
    ],
)
def test_a_bad_profile_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "icp.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_icp_file(path)


@pytest.mark.e2e
def test_the_cli_scores_with_the_file_and_refuses_a_bad_one(tmp_path: Path, base_env: dict[str, str]) -> None:
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text('locations = ["Berlin", "Montreal"]\n[weights]\nlocation = 60\n')
    bad.write_text("min_followers = 10\n")
    refused = run_cli(["run", "Find active ML engineers", "--demo", "--icp", str(bad)], base_env, tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip() == (
        "error: --icp: min_followers: Extra inputs are not permitted"
    )
    assert not (tmp_path / "data").exists(), "nothing was started"

    done = run_cli(["run", "Find active ML engineers", "--demo", "--json", "--icp", str(good)], base_env, tmp_path)
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)["job_id"]
    assert run_cli(["export", job], base_env, tmp_path).returncode == 0
    state = json.loads((tmp_path / "data" / f"runstate_{job}.json").read_text())
    assert state["reports"]["scoring"]["profile"]["locations"] == ["Berlin", "Montreal"]
    located = [
        lead
        for lead in state["leads"].values()
        if "score" in lead and any(city in (lead["profile"].get("location") or "") for city in ("Berlin", "Montreal"))
    ]
    assert located, "the snapshot has people in Berlin and Montreal"
    assert all(any(r.startswith("+") and "based in" in r for r in lead["score_reasons"]) for lead in located)
    assert min(lead["score"] for lead in located) >= 60
