"""Stage 3, enrich: each candidate's public profile, activity and a contact address with its provenance."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cmo_agent.adapters.github import GithubException, GitHubGateway, ProfileMissing, metered
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import error_record, utc_now
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import github_meter, param, report_progress, run_parallel, settings_of
from cmo_agent.stages.hygiene import is_noreply

EMAIL_SOURCES = ("profile", "commit")


def pending_candidates(state: RunState) -> list[str]:
    """Candidates without a lead yet, most active first (the order a crash-free run would take)."""
    leads = state.get("leads", {})
    todo = [c for login, c in state.get("candidates", {}).items() if login not in leads]
    todo.sort(key=lambda c: (-c["contributions"], c["login"].lower()))
    return [c["login"] for c in todo]


def enrich(state: RunState, runtime: Runtime[CampaignContext]) -> dict[str, Any]:
    """Enrich the next batch of candidates; one checkpoint per batch bounds what a crash can lose."""
    settings = settings_of(runtime)
    pending = pending_candidates(state)
    batch = pending[: settings.batch_size]
    sources = list(param(state, "email_sources", ["profile"]))
    candidates = state.get("candidates", {})
    gateway = GitHubGateway(settings)
    api_url = settings.github_api_url.rstrip("/")
    meter = github_meter(settings, runtime)

    def enrich_one(login: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        candidate = candidates[login]
        base = {"login": login, "repos": candidate["repos"], "contributions": candidate["contributions"]}
        try:
            profile = gateway.profile(login)
            lead = base | {"status": "enriched", "profile": profile, "email": None, "email_source": None}
            if profile["email"] and "profile" in sources:
                lead |= {
                    "email": profile["email"],
                    "email_source": "profile",
                    "provenance": {"source": "profile", "url": f"{api_url}/users/{login}", "fetched_at": utc_now()},
                }
            elif "commit" in sources:
                lead |= commit_address(gateway, login, candidate["repos"])
            return lead, None
        except ProfileMissing as exc:
            return base | {"status": "missing"}, error_record("enrich", login, exc, login=login)
        except GithubException as exc:
            return base | {"status": "error", "error": str(exc)}, error_record("enrich", login, exc, login=login)

    with metered(meter):
        results = run_parallel(enrich_one, batch, settings.github_workers)

    leads = {lead["login"]: lead for lead, _ in results}
    errors = [error for _, error in results if error is not None]
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


def commit_address(gateway: GitHubGateway, login: str, repos: dict[str, int]) -> dict[str, Any]:
    """The newest non-noreply author address on `login`'s commits to the repository they contribute most to."""
    top_repo = max(repos, key=lambda name: (repos[name], name))
    for found in gateway.commit_addresses(top_repo, login):
        if not is_noreply(found["email"]):
            return {
                "email": found["email"],
                "email_source": "commit",
                "provenance": {
                    "source": "commit",
                    "repo": top_repo,
                    "sha": found["sha"],
                    "url": found["url"],
                    "fetched_at": utc_now(),
                },
            }
    return {}
