"""The campaign graph: one node per stage, batch stages looping on themselves until their work is done."""

from __future__ import annotations

from collections.abc import Callable

from langgraph.graph import END, START, StateGraph

from cmo_agent.context import CampaignContext
from cmo_agent.core.state import RunState
from cmo_agent.stages.approve import approve
from cmo_agent.stages.candidates import extract_candidates, pending_repos
from cmo_agent.stages.deliver import deliver
from cmo_agent.stages.deliver_smtp import pending_deliveries
from cmo_agent.stages.discover import discover
from cmo_agent.stages.enrich import enrich, pending_candidates
from cmo_agent.stages.hygiene import hygiene
from cmo_agent.stages.personalize import pending_drafts, personalize
from cmo_agent.stages.report import report
from cmo_agent.stages.score import score

STAGES = (
    "discover",
    "extract_candidates",
    "enrich",
    "hygiene",
    "score",
    "personalize",
    "approve",
    "deliver",
    "report",
)


def _loop_until_done(stage: str, pending: Callable[[RunState], list[str]], then: str) -> Callable[[RunState], str]:
    """Route back to `stage` while it has pending items, so each batch ends in its own checkpoint."""

    def route(state: RunState) -> str:
        return stage if pending(state) else then

    route.__name__ = f"after_{stage}"
    return route


def build_graph() -> StateGraph[RunState, CampaignContext, RunState, RunState]:
    """The uncompiled campaign graph; compile it with or without a checkpointer."""
    builder = StateGraph(RunState, context_schema=CampaignContext)
    builder.add_node("discover", discover)
    builder.add_node("extract_candidates", extract_candidates)
    builder.add_node("enrich", enrich)
    builder.add_node("hygiene", hygiene)
    builder.add_node("score", score)
    builder.add_node("personalize", personalize)
    builder.add_node("approve", approve)
    builder.add_node("deliver", deliver)
    builder.add_node("report", report)

    builder.add_edge(START, "discover")
    builder.add_edge("discover", "extract_candidates")
    builder.add_conditional_edges(
        "extract_candidates",
        _loop_until_done("extract_candidates", pending_repos, "enrich"),
        ["extract_candidates", "enrich"],
    )
    builder.add_conditional_edges(
        "enrich", _loop_until_done("enrich", pending_candidates, "hygiene"), ["enrich", "hygiene"]
    )
    builder.add_edge("hygiene", "score")
    builder.add_edge("score", "personalize")
    builder.add_conditional_edges(
        "personalize", _loop_until_done("personalize", pending_drafts, "approve"), ["personalize", "approve"]
    )
    builder.add_edge("approve", "deliver")
    builder.add_conditional_edges(
        "deliver", _loop_until_done("deliver", pending_deliveries, "report"), ["deliver", "report"]
    )
    builder.add_edge("report", END)
    return builder
