"""Stage 3, enrich: each candidate's public profile, activity and a contact address with its provenance."""

from __future__ import annotations

from typing import Any

import httpx
from langgraph.runtime import Runtime

from cmo_agent.accounts import is_noreply
from cmo_agent.adapters.github import GithubException, GitHubGateway, ProfileMissing, metered
from cmo_agent.adapters.github_cache import open_github_cache
from cmo_agent.adapters.github_graphql import GraphQLError
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import error_record, known_error, resolutions, resolved, retry_requested, utc_now
from cmo_agent.core.records import ErrorRecord, Lead, Profile, Provenance, Repo
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import github_meter, param, report_progress, run_parallel, settings_of

EMAIL_SOURCES = ("profile", "commit")


def pending_candidates(state: RunState) -> list[str]:
    """Candidates without a lead yet, and those `resume --retry-errors` put back, most active first
    (the order a crash-free run would take)."""
    leads = state.get("leads", {})
    again = retry_requested(state.get("errors", []), "enrich")
    todo = [c for login, c in state.get("candidates", {}).items() if login not in leads or login in again]
    todo.sort(key=lambda c: (-c["contributions"], c["login"].lower()))
    return [c["login"] for c in todo]


def enrich(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Enrich the next batch of candidates; one checkpoint per batch bounds what a crash can lose.

    A person whose lookup fails gets an error record with their candidate record as its input; one
    whose earlier failure is retried and now succeeds has that record resolved."""
    settings = settings_of(runtime)
    pending = pending_candidates(state)
    batch = pending[: settings.batch_size]
    sources = list(param(state, "email_sources", ["profile"]))
    candidates = state.get("candidates", {})
    repos = state.get("repos", {})
    api_url = settings.github_api_url.rstrip("/")
    meter = github_meter(settings, runtime)
    errors: list[ErrorRecord] = []
    known = state.get("errors", [])
    earlier = state.get("leads", {})

    def failed(login: str, exc: BaseException, **context: Any) -> None:
        previous = known_error(known, "enrich", login)
        errors.append(error_record("enrich", login, exc, input=candidates[login], previous=previous, **context))

    with metered(meter), open_github_cache(settings) as cache:
        gateway = GitHubGateway(settings, cache)
        profiles = fetch_batch_profiles(gateway, batch, settings.github_workers, errors)

        def lead_for(login: str) -> Lead:
            candidate = candidates[login]
            lead = Lead(login=login, repos=candidate["repos"], contributions=candidate["contributions"])
            if earlier.get(login, Lead()).get("error"):
                lead["error"] = ""  # a retry: the earlier failure's reason no longer holds
            profile = profiles[login]
            if isinstance(profile, BaseException):
                return lead | {"status": "error", "error": str(profile)}
            if profile is None:
                return lead | {"status": "missing"}
            lead |= {"status": "enriched", "profile": profile, "email": None, "email_source": None}
            if (email := profile.get("email")) and "profile" in sources:
                return lead | {
                    "email": email,
                    "email_source": "profile",
                    "provenance": {"source": "profile", "url": f"{api_url}/users/{login}", "fetched_at": utc_now()},
                }
            if "commit" in sources:
                try:
                    return lead | commit_address(gateway, login, candidate["repos"], repos)
                except GithubException as exc:
                    failed(login, exc, lookup="commits")
            return lead

        leads = {lead["login"]: lead for lead in run_parallel(lead_for, batch, settings.github_workers)}

    for login, lead in leads.items():
        if isinstance(found := profiles[login], BaseException):
            failed(login, found, lookup="profile")
        elif lead["status"] == "missing":
            failed(login, ProfileMissing(f"GitHub user {login!r} not found"), lookup="profile")
    failing = {error["item"] for error in errors}
    errors += resolutions(known, "enrich", [login for login in batch if login not in failing])
    total = len(candidates)
    report_progress(runtime, "enrich", total - len(pending) + len(batch), total)
    return {
        "leads": leads,
        "errors": errors,
        "counters": meter.counters()
        | {
            "profiles_enriched": sum(1 for lead in leads.values() if lead["status"] == "enriched"),
            "addresses_found": sum(1 for lead in leads.values() if lead.get("email")),
            "profiles_missing": sum(1 for lead in leads.values() if lead["status"] == "missing"),
        },
    }


def fetch_batch_profiles(
    gateway: GitHubGateway, logins: list[str], workers: int, errors: list[ErrorRecord]
) -> dict[str, Profile | BaseException | None]:
    """Profiles of `logins`: one GraphQL query per 50 with a token, else REST requests in parallel.

    A failed GraphQL query falls back to REST for its people (recorded, and resolved at once: REST
    took over); a failed REST request is that person's error (returned), and the batch goes on.
    """
    if gateway.has_token:
        try:
            return dict(gateway.profiles(logins))
        except (GraphQLError, httpx.HTTPError) as exc:
            item = ",".join(logins[:3])
            record = error_record("enrich", item, exc, input={"logins": logins}, fallback="rest")
            errors.append(resolved(record))

    def one(login: str) -> Profile | BaseException | None:
        try:
            return gateway.profiles([login], rest=True)[login]
        except GithubException as exc:
            return exc

    return dict(zip(logins, run_parallel(one, logins, workers), strict=True))


def commit_address(gateway: GitHubGateway, login: str, contributed: dict[str, int], repos: dict[str, Repo]) -> Lead:
    """A commit author address for `login`: from the repositories' commit pages already read (one
    page covers many people), else from `?author=` on the repository they contribute most to."""
    ranked = sorted(contributed, key=lambda name: (-contributed[name], name))
    for name in ranked:
        if found := repos.get(name, Repo()).get("commit_authors", {}).get(login):
            return Lead(
                email=found["email"],
                email_source="commit",
                provenance=Provenance(
                    source="commit",
                    repo=name,
                    sha=found["sha"],
                    url=found["url"],
                    via="commit_page",
                    fetched_at=found.get("fetched_at", utc_now()),
                ),
            )
    top_repo = ranked[0]
    for hit in gateway.commit_addresses(top_repo, login):
        if not is_noreply(hit["email"]):
            return Lead(
                email=hit["email"],
                email_source="commit",
                provenance=Provenance(
                    source="commit",
                    repo=top_repo,
                    sha=hit["sha"],
                    url=hit["url"],
                    via="author_filter",
                    fetched_at=utc_now(),
                ),
            )
    return Lead()
