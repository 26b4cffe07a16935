"""Every trap of a generated 30-repository, 500-person snapshot, met in one campaign (GraphQL
profiles, commit addresses) while the stand-in also throws 5xx answers and a rate-limit window.
Each test below checks one trap against the snapshot's own list of where its traps are."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.world.snapshot import build_snapshot
from cmo_agent.accounts import is_noreply
from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import Fault, GitHubStandIn, shift_dates
from cmo_agent.mail.message import recipient_of
from cmo_agent.runner import start_campaign
from cmo_agent.stages.hygiene import ROLE_LOCAL_PARTS

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"


class Campaign:
    def __init__(self, snapshot: dict[str, Any], state: RunState, github: GitHubStandIn) -> None:
        self.snapshot, self.state, self.github = snapshot, state, github
        self.traps: dict[str, list[Any]] = snapshot["traps"]

    def reached(self, trap: str) -> list[str]:
        """The trap's logins that were among the campaign's candidates or leads (at least one must be)."""
        seen = set(self.state["candidates"]) | set(self.state["leads"])
        found = [login for login in self.traps[trap] if login in seen]
        assert found, f"the campaign met no {trap} trap; the test would prove nothing"
        return found


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    snapshot = shift_dates(build_snapshot(repos=30, people=500, seed=11), datetime.now(UTC))
    assert len(snapshot["repos"]) >= 30 and len(snapshot["users"]) >= 500
    paginated = snapshot["traps"]["paginated_repos"][0]
    with GitHubStandIn(snapshot) as github:
        reset = int(time.time()) + 2
        github.faults += [
            Fault(r"^/graphql$", 502, times=1),
            Fault(rf"^/repos/{paginated}/contributors$", 503, times=1, query={"page": "2"}),
            Fault(
                r"/commits$",
                403,
                times=2,
                headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
                body={"message": "API rate limit exceeded"},
            ),
        ]
        settings = Settings(
            CMO_DATA_DIR=tmp_path_factory.mktemp("traps"),
            GITHUB_API_URL=github.url,
            GITHUB_TOKEN="test-token",
            CMO_GITHUB_MAX_PER_MIN=60_000,
        )
        # Every repository, archived ones and forks included, so that the campaign meets every trap.
        params = {"query": "pushed:>2000-01-01", "max_repos": 40, "email_sources": ["profile", "commit"]}
        outcome = start_campaign(settings, GOAL, params)
    assert outcome.status == "done", outcome.error
    return Campaign(snapshot, outcome.state, github)


def _drafted_addresses(campaign: Campaign) -> list[str]:
    return [recipient_of(campaign.state["leads"][login]) for login in campaign.state["to_send"]]


def test_bots_are_never_candidates_but_lookalikes_are(campaign: Campaign) -> None:
    contributors = {c["login"] for repo in campaign.snapshot["repos"] for c in repo["contributors"]}
    bots = [login for login in campaign.traps["bots"] if login in contributors]
    assert bots and not set(bots) & set(campaign.state["candidates"])
    assert campaign.reached("bot_lookalikes")


def test_noreply_addresses_are_dropped(campaign: Campaign) -> None:
    for login in campaign.reached("noreply"):
        lead = campaign.state["leads"][login]
        assert login not in campaign.state["to_send"]
        assert lead["hygiene"]["reason"] in ("noreply", "no_address"), lead["hygiene"]
    assert not any(is_noreply(address) for address in _drafted_addresses(campaign))


def test_role_addresses_are_dropped(campaign: Campaign) -> None:
    for login in campaign.reached("role"):
        assert campaign.state["leads"][login]["hygiene"]["reason"] == "role_account"
    assert not any(a.partition("@")[0].lower() in ROLE_LOCAL_PARTS for a in _drafted_addresses(campaign))


def test_invalid_addresses_are_dropped(campaign: Campaign) -> None:
    for login in campaign.reached("invalid"):
        assert campaign.state["leads"][login]["hygiene"]["reason"] == "invalid_syntax"
        assert login not in campaign.state["to_send"]


def test_one_address_on_two_logins_is_written_to_once(campaign: Campaign) -> None:
    for pair in campaign.traps["shared_address"]:
        reached = [login for login in pair if login in campaign.state["leads"]]
        if len(reached) < 2:
            continue
        reasons = [campaign.state["leads"][login]["hygiene"]["reason"] for login in reached]
        kept = [login for login, reason in zip(reached, reasons, strict=True) if reason is None]
        assert len(kept) == 1 and all(r is None or r == f"same_person_as:{kept[0]}" for r in reasons)
        assert sum(1 for login in reached if login in campaign.state["to_send"]) <= 1
        break
    else:
        pytest.fail("the campaign met no shared address")
    addresses = [a.lower() for a in _drafted_addresses(campaign)]
    assert len(addresses) == len(set(addresses))


def test_a_missing_profile_is_an_error_and_the_run_goes_on(campaign: Campaign) -> None:
    (gone,) = campaign.reached("missing_profile")
    assert campaign.state["leads"][gone]["status"] == "missing"
    assert [e["item"] for e in campaign.state["errors"] if e["item"] == gone] == [gone]
    assert campaign.state["counters"]["profiles_enriched"] == len(campaign.state["candidates"]) - 1


def test_server_errors_are_retried(campaign: Campaign) -> None:
    assert campaign.state["counters"]["github_waits:server_error"] == 2
    assert not [e for e in campaign.state["errors"] if e["item"] not in campaign.traps["missing_profile"]]


def test_every_contributor_page_is_read(campaign: Campaign) -> None:
    for full_name in campaign.traps["paginated_repos"]:
        if full_name not in campaign.state["repos"]:
            continue
        repo = next(r for r in campaign.snapshot["repos"] if r["full_name"] == full_name)
        humans = {c["login"] for c in repo["contributors"] if c["login"] not in campaign.traps["bots"]}
        assert len(repo["contributors"]) > 100 and humans <= set(campaign.state["candidates"])
        assert campaign.github.count(rf"^/repos/{full_name}/contributors$") >= 2


def test_a_rate_limit_window_is_waited_out(campaign: Campaign) -> None:
    assert campaign.state["counters"]["github_waits:primary"] >= 1
    assert campaign.state["counters"]["github_wait_seconds"] >= 1
    limited = [r for r in campaign.github.requests if r.status == 403]
    assert len(limited) == 2, "nothing was sent into the window but the requests that discovered it"


def test_archived_repositories_and_forks_are_skipped(campaign: Campaign) -> None:
    skipped = set(campaign.traps["archived"]) | set(campaign.traps["forks"])
    assert skipped and not skipped & set(campaign.state["repos"])


def test_the_request_counter_is_the_stand_ins_count(campaign: Campaign) -> None:
    assert campaign.state["counters"]["github_api_calls"] == len(campaign.github.requests)
    assert len(campaign.state["to_send"]) >= 100, "a campaign of this size drafts many emails"
