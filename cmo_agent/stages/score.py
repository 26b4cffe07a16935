"""Stage 5, score: each lead against the ideal customer profile, 0–100, with the reasons for the score."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from langgraph.runtime import Runtime

from cmo_agent.context import CampaignContext
from cmo_agent.core.records import Lead, Profile, Repo
from cmo_agent.core.state import RunState
from cmo_agent.stages.common import param, report_progress
from cmo_agent.targeting.icp import IcpProfile, profile_for

DEFAULT_MIN_SCORE = 30


def _mentions(text: str | None, words: list[str]) -> list[str]:
    lowered = (text or "").lower()
    return sorted({w for w in words if w.lower() in lowered})


def signals(lead: Lead, repos: Mapping[str, Repo], icp: IcpProfile, now: datetime) -> list[tuple[str, float, str]]:
    """(signal, fraction of its weight earned, why) for every signal the profile scores."""
    profile = lead.get("profile", Profile())
    their_repos = [repos[name] for name in lead["repos"] if name in repos]
    found: list[tuple[str, float, str]] = []
    if icp.topics:
        topics = {t.lower() for repo in their_repos for t in repo.get("topics", [])} & {t.lower() for t in icp.topics}
        found.append(("topics", float(bool(topics)), f"works on {', '.join(sorted(topics))}" if topics else "no topic"))
    if icp.languages:
        languages = {(repo.get("language") or "").lower() for repo in their_repos} & {x.lower() for x in icp.languages}
        why = f"writes {', '.join(sorted(languages))}" if languages else "other language"
        found.append(("languages", float(bool(languages)), why))
    contributions = lead["contributions"]
    earned = min(1.0, math.log2(1 + contributions) / math.log2(1 + icp.contributions_for_full_marks))
    found.append(("contributions", earned, f"{contributions} contributions in {len(lead['repos'])} repos"))
    followers = profile.get("followers") or 0
    earned = min(1.0, math.log2(1 + followers) / math.log2(1 + icp.followers_for_full_marks))
    found.append(("followers", earned, f"{followers} followers"))
    recent = now - timedelta(days=icp.active_within_days)
    pushed = [datetime.fromisoformat(at) for repo in their_repos if (at := repo.get("pushed_at"))]
    active = any(p.astimezone(UTC) >= recent for p in pushed)
    why = f"{'' if active else 'not '}active in the last {icp.active_within_days} days"
    found.append(("activity", float(active), why))
    for name, words, text, label in (
        ("keywords", icp.keywords, " ".join(str(profile.get(k) or "") for k in ("bio", "company")), "profile mentions"),
        ("location", icp.locations, profile.get("location"), "based in"),
        ("company", icp.companies, profile.get("company"), "works at"),
    ):
        if words:
            matched = _mentions(text, words)
            why = f"{label} {', '.join(matched)}" if matched else f"no {name} match"
            found.append((name, float(bool(matched)), why))
    return found


def score_lead(lead: Lead, repos: Mapping[str, Repo], icp: IcpProfile, now: datetime) -> tuple[int, list[str]]:
    """The lead's score (the weighted share of signals earned, 0–100) and one reason per signal."""
    weights = icp.weights.model_dump()
    scored = [(name, earned, why) for name, earned, why in signals(lead, repos, icp, now) if weights[name] > 0]
    total = sum(weights[name] for name, _, _ in scored)
    if total == 0:
        return 0, ["the profile gives every signal a weight of 0"]
    reasons = [f"+{100 * weights[name] * earned / total:.0f} {why}" for name, earned, why in scored]
    return round(100 * sum(weights[name] * earned for name, earned, _ in scored) / total), reasons


def score(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
    """Score every lead whose address passed hygiene; `min_score` decides who qualifies."""
    icp = profile_for(state.get("query", ""), state["goal"], param(state, "icp", None))
    min_score = int(param(state, "min_score", DEFAULT_MIN_SCORE))
    repos = state.get("repos", {})
    now = datetime.now(UTC)
    scored: dict[str, Lead] = {}
    for login, lead in state.get("leads", {}).items():
        if not lead.get("hygiene", {}).get("ok"):
            continue
        value, reasons = score_lead(lead, repos, icp, now)
        scored[login] = Lead(score=value, score_reasons=reasons, qualified=value >= min_score, cap=None)
    max_per_org = param(state, "max_per_org", None)
    capped = cap_per_org(state, scored, int(max_per_org)) if max_per_org is not None else {}
    report_progress(runtime, "score", len(scored), len(scored))
    qualified = sum(1 for s in scored.values() if s.get("qualified"))
    report: dict[str, object] = {
        "min_score": min_score,
        "scored": len(scored),
        "qualified": qualified,
        "profile": icp.model_dump(),
    }
    if max_per_org is not None:
        report |= {"max_per_org": int(max_per_org), "org_capped": dict(sorted(capped.items()))}
    return {"leads": scored, "reports": {"scoring": report}, "counters": {"leads_qualified": qualified}}


def main_org(repos: Mapping[str, int]) -> str | None:
    """The owner (`owner` of `owner/name`) of the repository the person contributed to most (ties: by name)."""
    if not repos:
        return None
    top = min(repos.items(), key=lambda item: (-item[1], item[0].lower()))[0]
    return top.partition("/")[0].lower()


def cap_per_org(state: RunState, scored: dict[str, Lead], cap: int) -> dict[str, int]:
    """Keep at most `cap` qualified people per repository owner (their `main_org`): the best by score,
    then contributions, then login; leads already drafted (a stage run again) count first and stay.
    The others lose `qualified` and get `cap` `org_cap:<owner>`. Returns how many were capped per owner."""
    leads, drafted = state.get("leads", {}), state.get("to_send", {})
    ranked = sorted(
        (login for login, update in scored.items() if update.get("qualified")),
        key=lambda login: (
            login not in drafted,
            -scored[login]["score"],
            -leads[login].get("contributions", 0),
            login.lower(),
        ),
    )
    taken: dict[str, int] = {}
    capped: dict[str, int] = {}
    for login in ranked:
        org = main_org(leads[login].get("repos", {}))
        if org is None:
            continue
        if taken.get(org, 0) >= cap and login not in drafted:
            scored[login] |= {"qualified": False, "cap": f"org_cap:{org}"}
            capped[org] = capped.get(org, 0) + 1
        else:
            taken[org] = taken.get(org, 0) + 1
    return capped
