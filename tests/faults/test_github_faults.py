"""GitHub misbehaving in the ways tests/adapters/test_github_limits.py leaves out: limits that name no wait,
hung requests, malformed and incomplete answers, GraphQL errors for some people."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from github import Github

import cmo_agent.adapters.github as github_adapter
import cmo_agent.stages.common as stage_common
from cmo_agent.adapters.github_limits import LimitPolicy
from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import Fault, GitHubStandIn
from cmo_agent.runner import current_state, resume_campaign, start_campaign
from tests.conftest import run_cli
from tests.faults.conftest import (
    GOAL,
    TOKEN,
    WORLD,
    WORLD_ARGS,
    FaultFree,
    assert_no_traceback,
    decisions,
    settings_from,
    world_env,
    world_settings,
)

pytestmark = pytest.mark.e2e

SECONDARY_LIMIT = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
Rewrite = Callable[[Any], Any]


@pytest.fixture
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's one-minute back-off after a limit that names no wait, cut to 0.2 s."""
    monkeypatch.setattr(stage_common, "LimitPolicy", functools.partial(LimitPolicy, secondary_wait=0.2))


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter's 30-second request timeout (not a setting), cut to 1 s: PyGithub takes whole seconds."""

    def client(*args: Any, **kwargs: Any) -> Github:
        return Github(*args, **(kwargs | {"timeout": 1}))

    monkeypatch.setattr(github_adapter, "Github", client)


def without(*keys: str) -> Rewrite:
    """A rewrite dropping `keys` from an object, or from every object of a list."""

    def drop(item: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in item.items() if key not in keys}

    return lambda body: [drop(item) for item in body] if isinstance(body, list) else drop(body)


def search_items_without(*keys: str) -> Rewrite:
    return lambda body: body | {"items": without(*keys)(body["items"])}


def graphql_users_without(*keys: str) -> Rewrite:
    def rewrite(body: dict[str, Any]) -> dict[str, Any]:
        data = {
            alias: without(*keys)(node) if alias != "rateLimit" and node else node
            for alias, node in body["data"].items()
        }
        return body | {"data": data}

    return rewrite


def people_of(snapshot: dict[str, Any], repo: str) -> list[str]:
    return [c["login"] for r in snapshot["repos"] if r["full_name"] == repo for c in r["contributors"]]


@pytest.mark.parametrize(
    ("path", "status", "times", "message"),
    [(r"^/users/", 429, 2, "Too many requests"), (r"/contributors$", 403, 1, SECONDARY_LIMIT)],
    ids=["429-without-retry-after", "403-secondary-limit-message"],
)
def test_a_limit_that_names_no_wait_is_backed_off_and_the_run_finishes(
    tmp_path: Path,
    github: GitHubStandIn,
    fault_free: FaultFree,
    short_backoff: None,
    path: str,
    status: int,
    times: int,
    message: str,
) -> None:
    github.faults.append(Fault(path, status, times=times, body={"message": message}))
    waits: list[str] = []
    outcome = start_campaign(
        world_settings(tmp_path, github),
        GOAL,
        WORLD,
        on_progress=lambda event: waits.append(event["reason"]) if "waiting" in event else None,
    )
    assert outcome.status == "done", outcome.error
    assert waits == ["secondary"] * times, "each refusal was waited out, and the wait was shown"
    counters = outcome.state["counters"]
    assert counters["github_waits:secondary"] == times
    assert counters["github_api_calls"] == len(github.requests) == fault_free()["requests"] + times
    assert decisions(outcome.state) == decisions(fault_free()["state"])


def test_a_429_with_retry_after_is_waited_out_as_told_and_shown(
    tmp_path: Path, base_env: dict[str, str], github: GitHubStandIn, fault_free: FaultFree
) -> None:
    github.faults.append(Fault(r"^/users/", 429, times=2, headers={"retry-after": "1"}, body={"message": "slow down"}))
    env = world_env(base_env, github)
    done = run_cli(["run", GOAL, "--job-id", "told", *WORLD_ARGS], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert_no_traceback(done)
    assert done.stderr.count("GitHub: waiting 1.0 s (secondary)") == 2
    _, state = current_state(settings_from(env), "told")
    assert state["counters"]["github_api_calls"] == len(github.requests) == fault_free()["requests"] + 2
    assert decisions(state) == decisions(fault_free()["state"])


def test_a_request_that_hangs_times_out_and_is_retried(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree, short_timeout: None
) -> None:
    github.faults.append(Fault(r"^/users/cheny$", 200, delay=1.5))
    outcome = start_campaign(world_settings(tmp_path, github), GOAL, WORLD)
    assert outcome.status == "done", outcome.error
    counters = outcome.state["counters"]
    assert counters["github_waits:transport_error"] == 1 and github.count(r"^/users/cheny$") == 2
    assert counters["github_api_calls"] == len(github.requests) == fault_free()["requests"] + 1
    assert decisions(outcome.state) == decisions(fault_free()["state"])


def test_a_search_that_keeps_hanging_fails_the_run_and_resume_finishes(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree, short_timeout: None
) -> None:
    hang = Fault(r"^/search/", 200, times=10, delay=1.5)
    github.faults.append(hang)
    settings = world_settings(tmp_path, github, CMO_GITHUB_MAX_RETRIES=0)
    failed = start_campaign(settings, GOAL, WORLD, job_id="hung")
    assert failed.status == "failed" and failed.error is not None and "timed out" in failed.error
    assert github.count(r"^/search/") == 1, "no retry was allowed"
    hang.times = 0
    resumed = resume_campaign(settings, "hung")
    assert resumed.status == "done", resumed.error
    assert decisions(resumed.state) == decisions(fault_free()["state"])


BROKEN_ANSWERS = {
    "search-answers-html": (Fault(r"^/search/", 200, raw=b"<html><body>502 Bad Gateway</body></html>"), False),
    "contributors-cut-off": (Fault(r"/contributors$", 200, raw=b'[{"login": "che'), False),
    "profile-cut-off": (Fault(r"^/users/", 200, raw=b'{"login": "cheny", "ty'), False),
    "search-item-without-full_name": (Fault(r"^/search/", 200, rewrite=search_items_without("full_name")), False),
    "contributor-without-contributions": (
        Fault(r"/contributors$", 200, rewrite=without("type", "contributions")),
        False,
    ),
}
BROKEN_GRAPHQL = {
    "graphql-cut-off": Fault(r"^/graphql$", 200, raw=b'{"data": {"u0": {"login"'),
    "graphql-user-without-login": Fault(r"^/graphql$", 200, rewrite=graphql_users_without("login")),
    "graphql-html": Fault(r"^/graphql$", 200, raw=b"<html><body>502 Bad Gateway</body></html>"),
}


@pytest.mark.parametrize("case", list(BROKEN_ANSWERS))
def test_a_malformed_or_incomplete_answer_fails_the_run_and_resume_finishes(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree, case: str
) -> None:
    fault, token = BROKEN_ANSWERS[case]  # token: whether the case needs GraphQL
    planted = dataclasses.replace(fault)  # the table's faults stay unused
    github.faults.append(planted)
    # Without the cross-job cache: what it does with broken answers has tests of its own below.
    extra: dict[str, Any] = {"CMO_GITHUB_CACHE_TTL": 0} | ({"GITHUB_TOKEN": TOKEN} if token else {})
    settings = world_settings(tmp_path, github, **extra)
    failed = start_campaign(settings, GOAL, WORLD, job_id="broken")
    assert failed.status == "failed" and failed.error, "stopped, with the reason"
    assert planted.times == 0, "the broken answer was served"
    job, _ = current_state(settings, "broken")
    assert job.status == "failed" and job.error == failed.error

    resumed = resume_campaign(settings, "broken")
    assert resumed.status == "done", resumed.error
    assert decisions(resumed.state) == decisions(fault_free(token)["state"])


@pytest.mark.parametrize("case", list(BROKEN_GRAPHQL))
def test_a_malformed_graphql_answer_falls_back_to_rest_like_a_failed_query(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree, case: str
) -> None:
    planted = dataclasses.replace(BROKEN_GRAPHQL[case])
    github.faults.append(planted)
    outcome = start_campaign(world_settings(tmp_path, github, GITHUB_TOKEN=TOKEN), GOAL, WORLD)
    assert outcome.status == "done", outcome.error
    assert planted.times == 0, "the broken answer was served"
    state = outcome.state
    assert [e["context"].get("fallback") for e in state["errors"]] == ["rest"]
    assert "GraphQLError" in state["errors"][0]["error"]
    assert decisions(state) == decisions(fault_free(token=True)["state"])
    assert state["counters"]["github_api_calls"] == len(github.requests)


def test_a_malformed_answer_stops_the_cli_with_exit_1_and_the_way_on(
    tmp_path: Path, base_env: dict[str, str], github: GitHubStandIn, fault_free: FaultFree
) -> None:
    github.faults.append(Fault(r"^/search/", 200, raw=b"<html><body>502 Bad Gateway</body></html>"))
    env = world_env(base_env, github)
    failed = run_cli(["run", GOAL, "--job-id", "broken", *WORLD_ARGS], env, tmp_path)
    assert failed.returncode == 1, failed.stderr
    assert_no_traceback(failed)
    assert [line for line in failed.stdout.splitlines() if line.startswith("failed: ")]
    assert "fix the cause, then: cmo-agent resume broken" in failed.stdout
    resumed = run_cli(["resume", "broken"], env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    _, state = current_state(settings_from(env), "broken")
    assert decisions(state) == decisions(fault_free()["state"])


def test_a_profile_without_login_or_type_still_makes_the_same_lead(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree
) -> None:
    github.faults.append(Fault(r"^/users/cheny$", 200, rewrite=without("login", "type")))
    outcome = start_campaign(world_settings(tmp_path, github), GOAL, WORLD)
    assert outcome.status == "done", outcome.error
    assert outcome.state["leads"]["cheny"]["status"] == "enriched"
    assert decisions(outcome.state) == decisions(fault_free()["state"])
    assert outcome.state["counters"]["github_api_calls"] == len(github.requests)


def test_contributors_without_logins_are_looked_up_by_id(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree, demo_snapshot: dict[str, Any]
) -> None:
    github.faults.append(Fault(r"^/repos/cheny/evalkit/contributors$", 200, rewrite=without("login", "url")))
    outcome = start_campaign(world_settings(tmp_path, github), GOAL, WORLD)
    assert outcome.status == "done", outcome.error
    assert github.count(r"^/user/\d+$") == len(people_of(demo_snapshot, "cheny/evalkit"))
    assert decisions(outcome.state) == decisions(fault_free()["state"])
    assert outcome.state["counters"]["github_api_calls"] == len(github.requests)


def test_contributors_without_any_identity_skip_that_repository_with_the_error_recorded(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree
) -> None:
    github.faults.append(Fault(r"^/repos/cheny/evalkit/contributors$", 200, rewrite=without("login", "url", "id")))
    outcome = start_campaign(world_settings(tmp_path, github), GOAL, WORLD)
    assert outcome.status == "done", outcome.error
    state = outcome.state
    assert [(e["stage"], e["item"]) for e in state["errors"]] == [("extract_candidates", "cheny/evalkit")]
    assert state["errors"][0]["traceback"] and "contributors_error" in state["repos"]["cheny/evalkit"]
    everyone = fault_free()["state"]["candidates"]
    assert set(state["candidates"]) == {login for login, c in everyone.items() if set(c["repos"]) != {"cheny/evalkit"}}
    only_other = {login for login, c in everyone.items() if "cheny/evalkit" not in c["repos"]}
    kept = decisions(state)
    assert {login: d for login, d in decisions(fault_free()["state"]).items() if login in only_other} == {
        login: kept[login] for login in only_other
    }
    assert state["counters"]["github_api_calls"] == len(github.requests)


def test_graphql_errors_for_some_people_fall_back_to_rest_for_their_batch(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree, demo_snapshot: dict[str, Any]
) -> None:
    refused = people_of(demo_snapshot, "orbital-data/tabular-bench")[:2]
    github.graphql_failures.update({refused[0]: "FORBIDDEN", refused[1]: "SERVICE_UNAVAILABLE"})
    outcome = start_campaign(world_settings(tmp_path, github, GITHUB_TOKEN=TOKEN), GOAL, WORLD)
    assert outcome.status == "done", outcome.error
    state = outcome.state
    assert state["errors"] and all(e["context"].get("fallback") == "rest" for e in state["errors"])
    assert all("GraphQLError" in e["error"] for e in state["errors"])
    assert all(github.count(rf"^/users/{login}$") == 1 for login in refused)
    assert decisions(state) == decisions(fault_free(token=True)["state"])
    assert state["counters"]["github_api_calls"] == len(github.requests)


def _failed_search(tmp_path: Path, github: GitHubStandIn) -> tuple[Fault, Settings]:
    """A run stopped by a search outage (no retries allowed), and its settings."""
    outage = Fault(r"^/search/", 503, times=10)
    github.faults.append(outage)
    settings = world_settings(tmp_path, github, CMO_GITHUB_MAX_RETRIES=0)
    failed = start_campaign(settings, GOAL, WORLD, job_id="outage")
    assert failed.status == "failed" and failed.error is not None and "503" in failed.error
    return outage, settings


def test_a_failure_that_stops_the_run_is_recorded_in_run_state_errors(tmp_path: Path, github: GitHubStandIn) -> None:
    _, settings = _failed_search(tmp_path, github)
    _, state = current_state(settings, "outage")
    recorded = [e for e in state.get("errors", []) if e["stage"] == "discover"]
    assert recorded and "503" in recorded[0]["error"] and recorded[0]["traceback"]


def test_requests_sent_by_a_failed_step_are_counted(tmp_path: Path, github: GitHubStandIn) -> None:
    outage, settings = _failed_search(tmp_path, github)
    outage.times = 0
    resumed = resume_campaign(settings, "outage")
    assert resumed.status == "done", resumed.error
    assert resumed.state["counters"]["github_api_calls"] == len(github.requests)


def test_a_malformed_answer_is_not_served_again_from_the_cache_on_resume(
    tmp_path: Path, github: GitHubStandIn, fault_free: FaultFree
) -> None:
    github.faults.append(Fault(r"^/repos/cheny/evalkit/contributors$", 200, rewrite=without("contributions")))
    settings = world_settings(tmp_path, github)
    failed = start_campaign(settings, GOAL, WORLD, job_id="cached")
    assert failed.status == "failed", "a contributor list without counts stops the run"
    assert not github.faults[0].times, "the fault is gone: GitHub answers correctly from now on"
    resumed = resume_campaign(settings, "cached")
    assert resumed.status == "done", resumed.error
    assert decisions(resumed.state) == decisions(fault_free()["state"])


def test_a_cut_off_profile_never_crashes_the_process(
    tmp_path: Path, base_env: dict[str, str], github: GitHubStandIn
) -> None:
    # The crash is a race (about one run in two here, with ten workers in flight), so try a few times.
    env = world_env(base_env, github, CMO_BATCH_SIZE="20", CMO_GITHUB_WORKERS="10")
    for attempt in range(6):
        github.faults[:] = [Fault(r"^/users/", 200, raw=b'{"login": "cheny", "ty')]
        job_env = env | {"CMO_DATA_DIR": str(tmp_path / f"data-{attempt}")}
        failed = run_cli(["run", GOAL, "--job-id", "cut", *WORLD_ARGS], job_env, tmp_path)
        assert failed.returncode == 1, f"attempt {attempt + 1}: exit code {failed.returncode}"
        assert_no_traceback(failed)
