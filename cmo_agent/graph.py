"""The campaign graph: one node per stage, batch stages looping on themselves until their work is done.

Every node runs guarded: when a stage fails in a run that can be drained (the CLI's), the failure
is written into the RunState (`errors`, with its traceback, and the counters of what the step had
used) and the run stops there, so `resume` runs the failed stage again. Without a run control
(LangGraph Studio, a script's own `invoke`) the exception propagates as usual, and the step runs
with a context and a job record of its own (`studio.runs`).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from langgraph.errors import GraphBubbleUp
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from cmo_agent.adapters.github_limits import WaitInterrupted
from cmo_agent.context import CampaignContext
from cmo_agent.core.errors import STAGE_ITEM, error_record, known_error, resolutions
from cmo_agent.core.state import RunState, add_counters
from cmo_agent.core.state_migrations import stamp
from cmo_agent.core.usage import collecting
from cmo_agent.studio.runs import drives_itself, managed_context, recorded

Pending = Callable[[RunState], list[str]]


class Node(Protocol):
    """A stage: the state and the run's runtime in, a partial update out."""

    def __call__(self, state: RunState, runtime: Runtime[CampaignContext]) -> RunState: ...


def _staged(module: str, name: str) -> Any:
    """`cmo_agent.stages.<module>.<name>`, imported on its first call: a command that only reads a state
    (`status`, `export`, `history`) compiles the graph without loading what the stages use (PyGithub,
    Jinja, dnspython, email-validator), which is a third of its start-up."""
    found: list[Callable[..., Any]] = []

    def call(*args: Any) -> Any:
        if not found:
            found.append(getattr(importlib.import_module(f"cmo_agent.stages.{module}"), name))
        return found[0](*args)

    call.__name__ = name
    return call


# (stage, node, what it still has to do when it loops on itself, or None) in pipeline order.
PIPELINE: tuple[tuple[str, Node, Pending | None], ...] = (
    ("discover", _staged("discover", "discover"), None),
    ("extract_candidates", _staged("candidates", "extract_candidates"), _staged("candidates", "pending_repos")),
    ("enrich", _staged("enrich", "enrich"), _staged("enrich", "pending_candidates")),
    ("hygiene", _staged("hygiene", "hygiene"), None),
    ("score", _staged("score", "score"), None),
    ("personalize", _staged("personalize", "personalize"), _staged("personalize", "pending_drafts")),
    ("approve", _staged("approve", "approve"), None),
    ("deliver", _staged("deliver", "deliver"), _staged("deliver", "pending_deliveries")),
    ("follow_up", _staged("follow_up", "follow_up"), _staged("follow_up", "sequence_unfinished")),
    ("report", _staged("report", "report"), None),
)
STAGES = tuple(stage for stage, _, _ in PIPELINE)


COUNTED = ("repos", "candidates", "leads", "to_send", "follow_ups")


def counts_after(state: RunState, update: RunState) -> dict[str, int]:
    """How many items each collection holds once `update` is applied (what `history` shows)."""
    counts: dict[str, int] = {}
    for key in COUNTED:
        held: Mapping[str, Any] = state.get(key) or {}  # type: ignore[assignment]
        added: Mapping[str, Any] = update.get(key) or {}  # type: ignore[assignment]
        counts[key] = len(held) + sum(1 for item in added if item not in held)
    known = {error.get("id") for error in state.get("errors", [])}
    counts["errors"] = len(known) + len({e.get("id") for e in update.get("errors", [])} - known)
    return counts


def guarded(stage: str, node: Node, pending: Pending | None = None) -> Node:
    """`node`, with its failure recorded in the RunState and the run drained (see the module docstring),
    its time counted (`counters.ms_<stage>`, for the report's time per stage), and the state's schema
    version written when it was older (`core/state_migrations.py`). The failure's
    record holds the stage's input (the run's options, and the items `pending` still had); the
    next step of the stage that succeeds resolves it."""

    def run(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
        if drives_itself(runtime):
            return timed(state, runtime)
        context = managed_context(state, runtime)  # LangGraph Studio, or a script's own invoke
        with recorded(stage, state, context.settings):
            return timed(state, runtime.override(context=context))

    def timed(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
        started = time.monotonic()
        update = _run_guarded(state, runtime)
        elapsed = round((time.monotonic() - started) * 1000)
        progress = {"node": stage, "counts": counts_after(state, update)}
        counters = add_counters(update.get("counters"), {f"ms_{stage}": elapsed})
        return update | {"counters": counters, "progress": progress} | stamp(state)

    def _run_guarded(state: RunState, runtime: Runtime[CampaignContext]) -> RunState:
        context = runtime.context if isinstance(runtime.context, CampaignContext) else None
        with collecting() as used:
            try:
                update = node(state, runtime)
            except GraphBubbleUp:  # interrupts and other control flow of LangGraph's own
                raise
            except WaitInterrupted:  # asked to stop during a long wait: not a failure, the run pauses
                if context is None or context.control is None:
                    raise
                return {"counters": used(), "halted_at": stage}
            except Exception as exc:
                if context is None or context.control is None:
                    raise
                message = f"{type(exc).__name__}: {exc}"
                context.failure = message
                context.control.request_drain(f"{stage} failed: {message}")
                record = error_record(
                    stage,
                    STAGE_ITEM,
                    exc,
                    input=_stage_input(state, pending),
                    previous=known_error(state.get("errors", []), stage, STAGE_ITEM),
                    stage_failed=True,
                )
                return {"errors": [record], "counters": used(), "halted_at": stage}
        if state.get("halted_at") != stage:
            return update
        update = update | {"halted_at": None}
        if repaired := resolutions(state.get("errors", []), stage, [STAGE_ITEM]):
            update["errors"] = [*update.get("errors", []), *repaired]
        return update

    run.__name__ = stage
    return run


def _stage_input(state: RunState, pending: Pending | None, shown: int = 20) -> dict[str, Any]:
    """What a stage had to work on when it failed: the run's options, and the first of its pending items."""
    found: dict[str, Any] = {"params": dict(state.get("params", {}))}
    if pending is not None:
        try:
            todo = pending(state)
        except Exception:  # a state the stage could not read either: the record keeps the options
            return found
        found |= {"pending": todo[:shown], "pending_total": len(todo)}
    return found


def _route(stage: str, pending: Pending | None, then: str) -> Callable[[RunState], str]:
    """After `stage`: itself again when it failed (the run stops first) or still has pending items
    (so each batch ends in its own checkpoint), else the next stage."""

    def route(state: RunState) -> str:
        if state.get("halted_at") == stage or (pending is not None and pending(state)):
            return stage
        return then

    route.__name__ = f"after_{stage}"
    return route


def build_graph() -> StateGraph[RunState, CampaignContext, RunState, RunState]:
    """The uncompiled campaign graph; compile it with or without a checkpointer."""
    builder = StateGraph(RunState, context_schema=CampaignContext)
    for stage, node, pending in PIPELINE:
        builder.add_node(stage, guarded(stage, node, pending))
    builder.add_edge(START, PIPELINE[0][0])
    for index, (stage, _, pending) in enumerate(PIPELINE):
        then = PIPELINE[index + 1][0] if index + 1 < len(PIPELINE) else END
        builder.add_conditional_edges(stage, _route(stage, pending, then), [stage, then])
    return builder
