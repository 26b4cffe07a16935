"""Stage 2, extract candidates: the human contributors of each repository, one record per person."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from cmo_agent.accounts import is_bot, is_noreply
from cmo_agent.adapters.github import GithubException, GitHubGateway, metered
from cmo_agent.adapters.github_cache import open_github_cache
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import error_record, known_error, resolutions, retry_requested, utc_now
from cmo_agent.core.records import Candidate, CommitAuthor, ErrorRecord, Repo
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import github_meter, param, report_progress, run_parallel, settings_of


def pending_repos(state: RunState) -> list[str]:
    """Repositories whose contributors are not listed yet, and those `resume --retry-errors` put back."""
    again = retry_requested(state.get("errors", []), "extract_candidates")
    repos = state.get("repos", {})
    return sorted(name for name, repo in repos.items() if not repo.get("contributors_fetched") or name in again)


def commit_authors(gateway: GitHubGateway, full_name: str) -> dict[str, CommitAuthor]:
    """Each person's newest usable commit address on the repository's latest commit page: one
    request covers everyone who committed recently (noreply addresses are skipped)."""
    authors: dict[str, CommitAuthor] = {}
    for found in gateway.recent_commit_authors(full_name):
        if found["login"] not in authors and not is_noreply(found["email"]):
            authors[found["login"]] = CommitAuthor(
                email=found["email"], sha=found["sha"], url=found["url"], fetched_at=utc_now()
            )
    return authors


def extract_candidates(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """List contributors of the next batch of repositories (all pages) and merge them per person."""
    settings = settings_of(runtime)
    batch = pending_repos(state)[: settings.github_workers]
    meter = github_meter(settings, runtime)

    with_commits = "commit" in param(state, "email_sources", ["profile"])

    def fetch(full_name: str) -> tuple[list[dict[str, Any]], dict[str, CommitAuthor]] | BaseException:
        try:
            people = gateway.contributors(full_name)
            return people, commit_authors(gateway, full_name) if with_commits else {}
        except GithubException as exc:
            return exc

    with metered(meter), open_github_cache(settings) as cache:
        gateway = GitHubGateway(settings, cache)
        results = run_parallel(fetch, batch, settings.github_workers)

    candidates: dict[str, Candidate] = {}
    repos: dict[str, Repo] = {}
    errors: list[ErrorRecord] = []
    bots = 0
    known = state.get("candidates", {})
    known_errors = state.get("errors", [])
    listed = state.get("repos", {})
    for full_name, result in zip(batch, results, strict=True):
        if isinstance(result, BaseException):
            previous = known_error(known_errors, "extract_candidates", full_name)
            found = listed.get(full_name, Repo())
            errors.append(error_record("extract_candidates", full_name, result, input=found, previous=previous))
            repos[full_name] = {"contributors_fetched": True, "contributors_error": str(result)}
            continue
        contributors, authors = result
        humans = [c for c in contributors if not is_bot(c["login"], c["type"])]
        bots += len(contributors) - len(humans)
        for person in humans:
            login = person["login"]
            record = candidates.get(login) or known.get(login) or Candidate(login=login, repos={})
            contributed = {**record.get("repos", {}), full_name: person["contributions"]}
            candidates[login] = {"login": login, "repos": contributed, "contributions": sum(contributed.values())}
        repos[full_name] = {
            "contributors_fetched": True,
            "contributors": len(humans),
            "bots_dropped": len(contributors) - len(humans),
            "commit_authors": authors,
        }
        if listed.get(full_name, Repo()).get("contributors_error"):
            repos[full_name]["contributors_error"] = ""  # a retry: the earlier failure's reason no longer holds
    failing = {error["item"] for error in errors}
    errors += resolutions(known_errors, "extract_candidates", [name for name in batch if name not in failing])

    done = len(state.get("repos", {})) - len(pending_repos(state)) + len(batch)
    report_progress(runtime, "extract_candidates", done, len(state.get("repos", {})))
    new_people = sum(1 for login in candidates if login not in known)
    return {
        "candidates": candidates,
        "repos": repos,
        "errors": errors,
        "counters": meter.counters() | {"candidates": new_people, "bots_dropped": bots},
    }
