"""Search past GitHub's 1,000-results cap (star ranges, then creation-date windows), and search's
own budget of requests a minute, against the stand-in."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from cmo_agent.adapters.github import GitHubGateway, RequestMeter, SearchLog, metered
from cmo_agent.adapters.github_limits import LimitPolicy
from cmo_agent.adapters.github_search import take_range, with_range
from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn


def _repo(name: str, stars: int, created: date) -> dict[str, Any]:
    stamp = f"{created.isoformat()}T12:00:00Z"
    return {
        "full_name": f"bulk/{name}",
        "name": name,
        "owner": {"login": "bulk", "type": "Organization"},
        "description": "A vector database client",
        "topics": ["vector-database"],
        "language": "Go",
        "stargazers_count": stars,
        "forks_count": 0,
        "watchers_count": stars,
        "open_issues_count": 0,
        "archived": False,
        "fork": False,
        "created_at": stamp,
        "updated_at": stamp,
        "pushed_at": stamp,
        "default_branch": "main",
        "homepage": None,
        "license": None,
        "contributors": [],
        "commits": [],
    }


@pytest.fixture
def crowded() -> dict[str, Any]:
    """2,700 matching repositories: 1,500 with distinct star counts, 1,200 tied at 3 stars."""
    start = date(2012, 1, 1)
    repos = [_repo(f"ranked-{i}", 10 + i, start + timedelta(days=i)) for i in range(1500)]
    repos += [_repo(f"tied-{i}", 3, start + timedelta(days=2 * i)) for i in range(1200)]
    return {"snapshot_version": 1, "taken_at": "2026-11-27T00:00:00Z", "repos": repos, "users": {}}


def _search(stand_in: GitHubStandIn, query: str, take: int | None = None) -> tuple[list[str], SearchLog, RequestMeter]:
    settings = Settings(GITHUB_API_URL=stand_in.url, CMO_DATA_DIR="unused", CMO_GITHUB_MAX_PER_MIN=60_000)
    log, meter = SearchLog(), RequestMeter(LimitPolicy(max_per_minute=60_000))
    names: list[str] = []
    with metered(meter):
        for repo in GitHubGateway(settings).search_repositories(query, log):
            names.append(repo["full_name"])
            if take is not None and len(names) >= take:
                break
    return names, log, meter


@pytest.mark.e2e
def test_more_than_a_thousand_results_are_reached_by_splitting(crowded: dict[str, Any]) -> None:
    with GitHubStandIn(crowded) as stand_in:
        stand_in.limits["search"] = (10_000, 60)
        names, log, meter = _search(stand_in, "topic:vector-database archived:false")
    assert len(names) == len(set(names)) == 2700
    assert not log.truncated
    assert any("stars:" in q for q in log.queries) and any("created:" in q for q in log.queries)
    assert meter.total == stand_in.count("^/search/") == len(log.queries)
    assert all(r.status == 200 for r in stand_in.requests)
    # 27 pages of results at best; splitting costs a few overlapping or counting pages on top.
    assert meter.total <= 27 + 12


@pytest.mark.e2e
def test_search_stops_when_the_caller_has_enough(crowded: dict[str, Any]) -> None:
    with GitHubStandIn(crowded) as stand_in:
        names, log, _ = _search(stand_in, "topic:vector-database", take=150)
    assert len(names) == 150 and stand_in.count("^/search/") == 2 == len(log.queries)
    assert names[0] == "bulk/ranked-1499", "most starred first"


@pytest.mark.e2e
def test_a_user_star_range_is_kept_while_splitting(crowded: dict[str, Any]) -> None:
    with GitHubStandIn(crowded) as stand_in:
        stand_in.limits["search"] = (10_000, 60)
        names, log, _ = _search(stand_in, "topic:vector-database stars:>=500")
    assert len(names) == 1500 - 490
    assert all(q.count("stars:") == 1 for q in log.queries)


@pytest.mark.e2e
def test_a_spent_search_budget_is_waited_for_not_hit(crowded: dict[str, Any]) -> None:
    with GitHubStandIn(crowded) as stand_in:
        stand_in.limits["search"] = (3, 2)
        names, _, meter = _search(stand_in, "topic:vector-database", take=500)
    assert len(names) == 500
    assert [r.status for r in stand_in.requests] == [200] * 5, "no request was sent into a spent budget"
    assert meter.waits["primary"] >= 1 and meter.wait_seconds >= 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic:x stars:>10", ("topic:x", 11, None)),
        ("stars:10..20 topic:x", ("topic:x", 10, 20)),
        ("topic:x stars:<=5", ("topic:x", None, 5)),
        ("topic:x stars:*..5", ("topic:x", None, 5)),
        ("topic:x stars:7", ("topic:x", 7, 7)),
        ("topic:x", ("topic:x", None, None)),
        ("topic:x stars:many", None),
        ("stars:1 stars:2", None),
    ],
)
def test_star_ranges_are_read(query: str, expected: tuple[str, int | None, int | None] | None) -> None:
    assert take_range(query, "stars", int) == expected


def test_date_ranges_round_trip() -> None:
    parsed = take_range("q created:>2020-01-31", "created", date.fromisoformat)
    assert parsed == ("q", date(2020, 2, 1), None)
    assert with_range("q", "created", date(2020, 2, 1), None) == "q created:2020-02-01..*"
