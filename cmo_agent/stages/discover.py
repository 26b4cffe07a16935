"""Stage 1, discover: the goal becomes a GitHub search query, and the query a set of repositories."""

from __future__ import annotations

from collections import Counter

from langgraph.config import get_config
from langgraph.runtime import Runtime

from cmo_agent.adapters.github import GitHubGateway, SearchLog, metered
from cmo_agent.adapters.llm_prices import with_cost
from cmo_agent.context import CampaignContext
from cmo_agent.core.records import Repo
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import github_meter, param, report_progress, settings_of
from cmo_agent.targeting.query_llm import QueryChoice, translate_goal

DEFAULT_MAX_REPOS = 10


def discover(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Search GitHub and keep up to `max_repos` repositories, skipping archived ones and forks."""
    settings = settings_of(runtime)
    given = param(state, "query", None)
    choice = QueryChoice(given, "given", None, {}) if given else translate_goal(state["goal"], settings)
    query = choice.query
    max_repos = int(param(state, "max_repos", DEFAULT_MAX_REPOS))
    meter = github_meter(settings, runtime)
    repos: dict[str, Repo] = {}
    skipped: Counter[str] = Counter()
    log = SearchLog()
    with metered(meter):
        for repo in GitHubGateway(settings).search_repositories(query, log):
            if repo["archived"] or repo["fork"]:
                skipped["archived" if repo["archived"] else "fork"] += 1
                continue
            repos[repo["full_name"]] = repo | {"contributors_fetched": False}
            report_progress(runtime, "discover", len(repos), max_repos)
            if len(repos) >= max_repos:
                break
    report_progress(runtime, "discover", len(repos), len(repos))
    return {
        # A run started from LangGraph Studio may give only a goal: the thread names the job then.
        "job_id": state.get("job_id") or str(get_config()["configurable"]["thread_id"]),
        "query": query,
        "repos": repos,
        "reports": {
            "discovery": {
                "query": query,
                "query_source": choice.source,
                "query_note": choice.note,
                "repos": len(repos),
                "skipped": dict(skipped),
                "search_requests": len(log.queries),
                "search_windows": sorted(set(log.queries)),
                "incomplete_pages": log.incomplete_pages,
                "truncated_windows": log.truncated,
            }
        },
        "counters": meter.counters()
        | with_cost(choice.counters, settings.llm_model, settings.llm_prices)
        | {"repos_discovered": len(repos)},
    }
