"""Stage 5, score: each lead against an ideal customer profile, 0–100, with the reasons for the score."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.runtime import Runtime

from cmo_agent.context import CampaignContext
from cmo_agent.core.state import RunState
from cmo_agent.query import ACTIVE_WINDOW_DAYS
from cmo_agent.stages.common import param, report_progress

DEFAULT_MIN_SCORE = 30


@dataclass(frozen=True)
class IdealCustomer:
    """What a good lead looks like; weights are the points each signal can give."""

    topics: frozenset[str] = field(default_factory=frozenset)
    languages: frozenset[str] = field(default_factory=frozenset)
    keywords: frozenset[str] = field(default_factory=frozenset)
    topic_weight: int = 30
    language_weight: int = 15
    contribution_weight: int = 25
    follower_weight: int = 15
    activity_weight: int = 10
    keyword_weight: int = 5

    @classmethod
    def from_query(cls, query: str, goal: str) -> IdealCustomer:
        topics = frozenset(re.findall(r"topic:(\S+)", query.lower()))
        languages = frozenset(re.findall(r"language:(\S+)", query.lower()))
        keywords = frozenset(t.replace("-", " ") for t in topics) | frozenset(
            w for w in re.findall(r"[a-z]{3,}", goal.lower()) if w not in {"find", "active", "with", "that", "who"}
        )
        return cls(topics=topics, languages=languages, keywords=keywords)


def score_lead(
    lead: dict[str, Any], repos: dict[str, dict[str, Any]], icp: IdealCustomer, now: datetime
) -> tuple[int, list[str]]:
    """The lead's score and one reason per signal that contributed."""
    reasons: list[str] = []
    points = 0.0
    their_repos = [repos[name] for name in lead["repos"] if name in repos]
    topics = {t.lower() for repo in their_repos for t in repo.get("topics", [])}
    if icp.topics and topics & icp.topics:
        points += icp.topic_weight
        reasons.append(f"+{icp.topic_weight} works on {', '.join(sorted(topics & icp.topics))}")
    languages = {(repo.get("language") or "").lower() for repo in their_repos}
    if icp.languages and languages & icp.languages:
        points += icp.language_weight
        reasons.append(f"+{icp.language_weight} writes {', '.join(sorted(languages & icp.languages))}")
    elif not icp.languages:
        points += icp.language_weight / 2
        reasons.append(f"+{icp.language_weight / 2:g} no language required")
    contribution_points = min(icp.contribution_weight, 5 * math.log2(1 + lead["contributions"]))
    points += contribution_points
    reasons.append(f"+{contribution_points:.0f} {lead['contributions']} contributions in {len(lead['repos'])} repos")
    followers = lead.get("profile", {}).get("followers") or 0
    follower_points = min(icp.follower_weight, 2 * math.log2(1 + followers))
    points += follower_points
    reasons.append(f"+{follower_points:.0f} {followers} followers")
    recent = now - timedelta(days=ACTIVE_WINDOW_DAYS)
    pushed = [datetime.fromisoformat(repo["pushed_at"]) for repo in their_repos if repo.get("pushed_at")]
    if any(p.astimezone(UTC) >= recent for p in pushed):
        points += icp.activity_weight
        reasons.append(f"+{icp.activity_weight} active in the last {ACTIVE_WINDOW_DAYS} days")
    bio = " ".join(str(lead.get("profile", {}).get(k) or "") for k in ("bio", "company")).lower()
    matched = sorted(k for k in icp.keywords if k in bio)
    if matched:
        points += icp.keyword_weight
        reasons.append(f"+{icp.keyword_weight} profile mentions {', '.join(matched)}")
    return max(0, min(100, round(points))), reasons


def score(state: RunState, runtime: Runtime[CampaignContext]) -> dict[str, Any]:
    """Score every lead whose address passed hygiene; `min_score` decides who qualifies."""
    icp = IdealCustomer.from_query(state.get("query", ""), state["goal"])
    min_score = int(param(state, "min_score", DEFAULT_MIN_SCORE))
    repos = state.get("repos", {})
    now = datetime.now(UTC)
    scored: dict[str, dict[str, Any]] = {}
    for login, lead in state.get("leads", {}).items():
        if not lead.get("hygiene", {}).get("ok"):
            continue
        value, reasons = score_lead(lead, repos, icp, now)
        scored[login] = {"score": value, "score_reasons": reasons, "qualified": value >= min_score}
    report_progress(runtime, "score", len(scored), len(scored))
    qualified = sum(1 for s in scored.values() if s["qualified"])
    return {
        "leads": scored,
        "reports": {"scoring": {"min_score": min_score, "scored": len(scored), "qualified": qualified}},
        "counters": {"leads_qualified": qualified},
    }
