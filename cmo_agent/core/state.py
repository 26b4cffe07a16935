"""RunState: the campaign graph's typed state and the reducers that merge node updates into it.

Keyed collections upsert by key (a task that runs twice cannot duplicate anything), counters add,
errors keep one record per error id (the furthest on), reports merge. Large collections use
LangGraph's DeltaChannel so a checkpoint stores each step's additions instead of the whole
collection again.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypedDict, TypeVar, cast

from langgraph.channels import DeltaChannel

from cmo_agent.core.records import Candidate, Draft, ErrorRecord, Lead, Repo, RunParams

R = TypeVar("R", bound=Mapping[str, Any])


def upsert_by_key(current: Mapping[str, R] | None, update: Mapping[str, R] | None) -> dict[str, R]:
    """Merge `update` into `current`: new keys are added, existing records get the update's fields."""
    merged: dict[str, R] = dict(current or {})
    for key, record in (update or {}).items():
        merged[key] = cast(R, {**merged[key], **record} if key in merged else dict(record))
    return merged


def add_counters(current: Mapping[str, int] | None, update: Mapping[str, int] | None) -> dict[str, int]:
    """Add each counter of `update` to `current`."""
    merged = dict(current or {})
    for name, value in (update or {}).items():
        merged[name] = merged.get(name, 0) + value
    return merged


def merge_reports(current: Mapping[str, Any] | None, update: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge report sections: a section in `update` replaces the section of the same name."""
    return {**(current or {}), **(update or {})}


def _progress_of(error: Mapping[str, Any]) -> tuple[int, int]:
    """How far an error record has come: its attempts, then failed < retry requested < resolved."""
    step = 2 if error.get("resolved_at") else 1 if error.get("retry_requested_at") else 0
    return int(error.get("attempts") or 1), step


def append_errors(current: Sequence[ErrorRecord] | None, update: Sequence[ErrorRecord] | None) -> list[ErrorRecord]:
    """Merge error records, one per `id` (stage and item), each kept in the place it first took.

    A record replaces the one of its id only when it has come further (one more failed attempt; a
    retry requested; resolved), so a write applied again, even after later ones, changes nothing.
    """
    merged = list(current or [])
    where = {error.get("id"): index for index, error in enumerate(merged)}
    for error in update or []:
        index = where.get(error.get("id"))
        if index is None:
            where[error.get("id")] = len(merged)
            merged.append(ErrorRecord(**error))
        elif _progress_of(error) > _progress_of(merged[index]):
            merged[index] = ErrorRecord(**error)
    return merged


def _batched(pairwise: Callable[[Any, Any], Any]) -> Callable[[Any, Sequence[Any]], Any]:
    """Turn a pairwise reducer into DeltaChannel's `(state, writes) -> state` form."""

    def fold(state: Any, writes: Sequence[Any]) -> Any:
        for write in writes:
            state = pairwise(state, write)
        return state

    fold.__name__ = f"{pairwise.__name__}_batch"
    return fold


def upsert_batch(current: Mapping[str, R] | None, updates: Sequence[Mapping[str, R] | None]) -> dict[str, R]:
    """`upsert_by_key` folded over `updates`, copying `current` once (a replay folds every write
    since the last snapshot: a copy per write would cost writes × keys)."""
    merged: dict[str, R] = dict(current or {})
    for update in updates:
        for key, record in (update or {}).items():
            merged[key] = cast(R, {**merged[key], **record} if key in merged else dict(record))
    return merged


append_errors_batch = _batched(append_errors)

SNAPSHOT_EVERY = 5000
"""Writes to a collection between two full copies of it in the checkpoints (LangGraph's default is
100, and it copies every channel after 5,000 super-steps anyway). A copy holds the whole
collection, so at 10,000 leads the default's copies were three quarters of the checkpoint storage;
reading a state replays every write since the last copy, which costs about what reading the copy
would (see docs/performance.md, "Checkpoint storage at 10,000 leads")."""


def _collection(reducer: Callable[[Any, Sequence[Any]], Any]) -> DeltaChannel[Any]:
    """The channel of a large collection: each step's writes are stored, and replayed on read."""
    return DeltaChannel(reducer, snapshot_frequency=SNAPSHOT_EVERY)


STATE_VERSION = 1
"""The RunState schema version this code writes: 0 is every state written before versioned schemas
(0.1.0 to 0.9.0), 1 the first versioned one. `core/state_migrations.py` brings older states up."""


class RunState(TypedDict, total=False):
    """The graph state of one campaign (one LangGraph thread)."""

    schema_version: int
    """The RunState schema version of the code that last wrote the state (`STATE_VERSION`); states
    written before versioned schemas lack it and count as version 0."""
    job_id: str
    goal: str
    params: RunParams
    """Run options (max_repos, min_score, email_sources, deliver, demo, ...), fixed at start."""
    query: str
    """The GitHub search query actually used."""
    repos: Annotated[dict[str, Repo], _collection(upsert_batch)]
    """Repositories by full name."""
    candidates: Annotated[dict[str, Candidate], _collection(upsert_batch)]
    """People found in repositories, by login."""
    leads: Annotated[dict[str, Lead], _collection(upsert_batch)]
    """Enriched candidates by login: profile, address and provenance, hygiene, score."""
    to_send: Annotated[dict[str, Draft], _collection(upsert_batch)]
    """Drafted messages by lead login, with their delivery status."""
    follow_ups: Annotated[dict[str, Draft], _collection(upsert_batch)]
    """Follow-up messages keyed `login/step`, threaded under the lead's first message (`to_send`)."""
    reports: Annotated[dict[str, Any], merge_reports]
    counters: Annotated[dict[str, int], add_counters]
    errors: Annotated[list[ErrorRecord], _collection(append_errors_batch)]
    completed_at: str
    """When the final stage (report) finished: the only thing that makes a job done."""
    progress: dict[str, Any]
    """Written by every stage step: `node` (the stage) and `counts` (the collections' sizes after
    it), so `history` lists checkpoints without rebuilding each one's state."""
    forked_from: dict[str, Any]
    """Set on a job made by `replay`: the job and checkpoint it was forked from (`job_id`,
    `checkpoint_id`, `node`, and the original's `counters` there: the fork's own `counters` count
    only what it did); such a job never mails an address any other job mailed (the ledger)."""
    halted_at: str | None
    """The stage that stopped the run, by failing (its error is in `errors`) or by being asked to stop
    during a long wait for GitHub's limits; it runs again on resume."""


SEED_KEYS = ("job_id", "goal", "repos", "candidates", "leads", "to_send", "reports", "counters", "errors")


def new_run_state(job_id: str, goal: str, params: RunParams | None = None) -> RunState:
    """A fresh state with every collection empty."""
    return RunState(
        schema_version=STATE_VERSION,
        job_id=job_id,
        goal=goal,
        params=RunParams(**(params or {})),
        query="",
        repos={},
        candidates={},
        leads={},
        to_send={},
        follow_ups={},
        reports={},
        counters={},
        errors=[],
    )


def _single_write(fold: Callable[[Any, Sequence[Any]], Any]) -> Callable[[Any, Any], Any]:
    return lambda current, update: fold(current, [update])


def _reducers() -> dict[str, Callable[[Any, Any], Any]]:
    """The pairwise reducer of every annotated RunState field, as the graph applies it."""
    reducers: dict[str, Callable[[Any, Any], Any]] = {}
    for name, hint in typing.get_type_hints(RunState, include_extras=True).items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, DeltaChannel):
                reducers[name] = _single_write(meta.reducer)
            elif callable(meta):
                reducers[name] = meta
    return reducers


def apply_update(state: RunState, update: Mapping[str, Any]) -> RunState:
    """Return `state` with a node-style partial update applied through RunState's reducers.

    The graph does this itself; the function exists for scripts, tests and the README example.
    """
    reducers = _reducers()
    merged: dict[str, Any] = dict(state)
    for name, value in update.items():
        reducer = reducers.get(name)
        merged[name] = reducer(merged.get(name), value) if reducer else value
    return typing.cast(RunState, merged)
