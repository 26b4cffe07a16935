"""Stage 3, enrich: each candidate's public profile, activity and a contact address with its provenance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from langgraph.runtime import Runtime

from cmo_agent.accounts import is_noreply
from cmo_agent.adapters.github import GithubException, GitHubGateway, ProfileMissing, metered
from cmo_agent.adapters.github_cache import open_github_cache
from cmo_agent.adapters.github_graphql import GRAPHQL_BATCH, GraphQLError, HistoryCommit, HistoryLookup
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import error_record, known_error, resolutions, resolved, retry_requested, utc_now
from cmo_agent.core.records import CommitVia, ErrorRecord, Lead, Profile, Provenance, Repo, UtcOffset
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
        ahead = fetched_ahead(gateway, batch, pending)
        profiles = fetch_batch_profiles(gateway, batch, settings.github_workers, errors, ahead=ahead)
        histories: dict[str, HistoryLookupResult] = {}
        zones = settings.send_window is not None  # send windows apply in each person's time zone
        if gateway.has_token and ("commit" in sources or zones):
            wanted = [
                lookup
                for login in [*batch, *ahead]
                if login in profiles
                and (
                    lookup := history_lookup(
                        login, profiles[login], candidates[login]["repos"], repos, sources, zones=zones
                    )
                )
            ]
            histories = fetch_batch_histories(gateway, wanted, errors)
        early = set(ahead)
        early_lookups = sum(1 for login in ahead if login in profiles) + sum(1 for login in histories if login in early)

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
            history = histories.get(login)
            if history is not None and (zone := utc_offset_of(*history)):
                lead["utc_offset"] = zone
            if (email := profile.get("email")) and "profile" in sources:
                return lead | {
                    "email": email,
                    "email_source": "profile",
                    "provenance": {"source": "profile", "url": f"{api_url}/users/{login}", "fetched_at": utc_now()},
                }
            if history is not None and "commit" in sources and not on_commit_page(login, candidate["repos"], repos):
                return lead | address_from_history(*history)
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
            "github_fetched_ahead": early_lookups,
            "profiles_enriched": sum(1 for lead in leads.values() if lead["status"] == "enriched"),
            "addresses_found": sum(1 for lead in leads.values() if lead.get("email")),
            "profiles_missing": sum(1 for lead in leads.values() if lead["status"] == "missing"),
        },
    }


def fetched_ahead(gateway: GitHubGateway, batch: list[str], pending: list[str]) -> list[str]:
    """The people next in line (after `batch`) whose answers are fetched with the batch's, to fill its
    GraphQL queries up to 50 lookups: a step's batch (`CMO_BATCH_SIZE`, 20 by default) is the
    checkpoint's unit, a GraphQL query of 50 the request's. Only when the batch needs a profile
    query anyway, and only with the cache to keep the answers for their own step, which then makes
    no request; their lookups are not recorded until that step."""
    if not gateway.has_token or not gateway.caches:
        return []
    missing = sum(1 for login in batch if not gateway.is_cached("profile", login))
    if missing == 0:
        return []
    ahead: list[str] = []
    for login in pending[len(batch) : len(batch) + 2 * GRAPHQL_BATCH]:
        if missing + len(ahead) >= GRAPHQL_BATCH:
            break
        if not gateway.is_cached("profile", login):
            ahead.append(login)
    return ahead


def fetch_batch_profiles(
    gateway: GitHubGateway,
    logins: list[str],
    workers: int,
    errors: list[ErrorRecord],
    ahead: list[str] | None = None,
) -> dict[str, Profile | BaseException | None]:
    """Profiles of `logins` (and, with a token, of `ahead` in the same queries): one GraphQL query per
    50 with a token, else REST requests in parallel.

    A failed GraphQL query falls back to REST for its people (recorded, and resolved at once: REST
    took over); a failed REST request is that person's error (returned), and the batch goes on.
    """
    if gateway.has_token:
        try:
            return dict(gateway.profiles([*logins, *(ahead or [])]))
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


HistoryLookupResult = tuple[str, list[HistoryCommit]]
"""The repository a person was looked up on, and their newest commits there."""


def history_lookup(
    login: str,
    profile: Profile | BaseException | None,
    contributed: dict[str, int],
    repos: Mapping[str, Repo],
    sources: list[str],
    zones: bool = False,
) -> HistoryLookup | None:
    """The GraphQL history lookup `login` needs for a commit address, or None: not when the profile
    gave one, nor when a commit page already read did, nor for an account GraphQL cannot name. With
    `zones` (a send window is set), everyone GraphQL can name is looked up, for the UTC offsets of
    their commits (one query per 50 people more; REST dates carry no offset).

    Commit pages or lookups: extract_candidates reads each repository's newest page, where one
    request yields everyone who committed lately. A further page would yield only the people on it
    still missing — in a big repository's long tail, about none — while one GraphQL query yields up
    to 50 lookups; so past the first page, lookups win as soon as more than about one person a page
    is missing, which is every campaign worth batching, and more pages are never read.
    """
    if not isinstance(profile, dict) or not profile.get("node_id") or not contributed:
        return None
    needs_address = "commit" in sources and not (profile.get("email") and "profile" in sources)
    if not zones and (not needs_address or on_commit_page(login, contributed, repos)):
        return None
    top_repo = min(contributed, key=lambda name: (-contributed[name], name))
    return HistoryLookup(login=login, node_id=str(profile["node_id"]), repo=top_repo)


def on_commit_page(login: str, contributed: Mapping[str, int], repos: Mapping[str, Repo]) -> bool:
    """Whether a commit page extract_candidates read names `login` (its address is there)."""
    return any(login in repos.get(name, Repo()).get("commit_authors", {}) for name in contributed)


def fetch_batch_histories(
    gateway: GitHubGateway, lookups: list[HistoryLookup], errors: list[ErrorRecord]
) -> dict[str, HistoryLookupResult]:
    """Commit histories by login, in GraphQL batches; empty when a query fails (recorded and
    resolved at once, like a profile batch's failure: the REST `?author=` lookups take over)."""
    if not lookups:
        return {}
    try:
        found = gateway.commit_histories(lookups)
    except (GraphQLError, httpx.HTTPError) as exc:
        logins = [lookup.login for lookup in lookups]
        record = error_record(
            "enrich", "history:" + ",".join(logins[:3]), exc, input={"logins": logins}, fallback="rest"
        )
        errors.append(resolved(record))
        return {}
    return {lookup.login: (lookup.repo, found[lookup.login]) for lookup in lookups if lookup.login in found}


def address_from_history(repo: str, commits: list[HistoryCommit]) -> Lead:
    """The newest usable commit address among a history lookup's commits, and the time zone their
    author dates point to (either may be absent)."""
    lead = Lead()
    if offset := utc_offset_of(repo, commits):
        lead["utc_offset"] = offset
    for commit in commits:
        if commit["email"] and not is_noreply(commit["email"]):
            return lead | commit_lead(commit["email"], repo, commit["sha"], commit["url"], "graphql_history")
    return lead


def utc_offset_of(repo: str, commits: list[HistoryCommit]) -> UtcOffset | None:
    """The most frequent UTC offset among the commits' author dates (on a tie, the newest commit's),
    with up to five of its commits as evidence; None when no date carries an offset."""
    dated: list[tuple[int, HistoryCommit]] = []
    for commit in commits:
        try:
            offset = datetime.fromisoformat(commit["date"]).utcoffset()
        except ValueError:
            continue
        if offset is not None:
            dated.append((int(offset.total_seconds()) // 60, commit))
    if not dated:
        return None
    minutes, seen = Counter(m for m, _ in dated).most_common(1)[0]
    evidence = [f"{repo}@{c['sha'][:7]} {c['date']}" for m, c in dated if m == minutes][:5]
    return UtcOffset(minutes=minutes, seen=seen, of=len(dated), evidence=evidence)


def commit_address(gateway: GitHubGateway, login: str, contributed: dict[str, int], repos: dict[str, Repo]) -> Lead:
    """A commit author address for `login`: from the repositories' commit pages already read (one
    page covers many people), else from `?author=` on the repository they contribute most to."""
    ranked = sorted(contributed, key=lambda name: (-contributed[name], name))
    for name in ranked:
        if found := repos.get(name, Repo()).get("commit_authors", {}).get(login):
            return commit_lead(found["email"], name, found["sha"], found["url"], "commit_page", found.get("fetched_at"))
    top_repo = ranked[0]
    for hit in gateway.commit_addresses(top_repo, login):
        if not is_noreply(hit["email"]):
            return commit_lead(hit["email"], top_repo, hit["sha"], hit["url"], "author_filter")
    return Lead()


def commit_lead(email: str, repo: str, sha: str, url: str, via: CommitVia, fetched_at: str | None = None) -> Lead:
    """A lead's commit address with its provenance (`fetched_at` when the answer came, now if not given)."""
    provenance = Provenance(source="commit", repo=repo, sha=sha, url=url, via=via, fetched_at=fetched_at or utc_now())
    return Lead(email=email, email_source="commit", provenance=provenance)
