"""RunState reducers, as properties: keyed writes and errors are idempotent, counters honestly add,
any batching of writes gives the same state, and `apply_update` is exactly what LangGraph does."""

from __future__ import annotations

import copy
import functools
import itertools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from langchain_core.runnables import RunnableConfig
from langgraph.channels import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from cmo_agent.core.checkpointer import open_checkpointer
from cmo_agent.core.records import ErrorRecord
from cmo_agent.core.state import (
    RunState,
    add_counters,
    append_errors,
    append_errors_batch,
    apply_update,
    merge_reports,
    new_run_state,
    upsert_batch,
    upsert_by_key,
)
from tests.strategies import json_values, plain_text

# The reducers are generic over the record type; these properties use free-form records.
Record = dict[str, Any]
Keyed = dict[str, Record]

# Few keys, fields and ids, so that writes collide often.
keys = st.sampled_from(["ada", "bob", "cy", "dee"])
records = st.dictionaries(st.sampled_from(["login", "email", "score", "status", "repos"]), json_values, max_size=3)
keyed = st.dictionaries(keys, records, max_size=3)
counters = st.dictionaries(
    st.sampled_from(["github_api_calls", "drafted", "sent"]), st.integers(-50, 10**6), max_size=3
)
reports = st.dictionaries(st.sampled_from(["discovery", "hygiene", "summary"]), json_values, max_size=2)
error_records = st.builds(
    ErrorRecord,
    id=st.sampled_from(["e1", "e2", "e3", "e4"]),
    stage=st.sampled_from(["enrich", "deliver"]),
    item=keys,
    error=plain_text,
    traceback=st.just(""),
    context=st.dictionaries(st.sampled_from(["login", "repo"]), keys, max_size=1),
    at=st.just("2026-11-27T09:30:00+00:00"),
)
errors = st.lists(error_records, max_size=3)
# Error lists as the reducer builds them: at most one record per id.
error_states = errors.map(lambda found: append_errors([], found))
node_updates = st.fixed_dictionaries(
    {},
    optional={
        "repos": keyed,
        "candidates": keyed,
        "leads": keyed,
        "to_send": keyed,
        "follow_ups": keyed,
        "reports": reports,
        "counters": counters,
        "errors": errors,
        "query": plain_text,
        "completed_at": plain_text,
    },
)
run_states = st.builds(new_run_state, plain_text, plain_text, st.dictionaries(plain_text, json_values))
COUNTED = {"counters"}


def _chunks(writes: Sequence[Any], cuts: Sequence[int]) -> list[list[Any]]:
    """`writes` cut at the given positions (any order, repeats allowed): every batching is reachable."""
    bounds = [0, *sorted(min(cut, len(writes)) for cut in cuts), len(writes)]
    return [list(writes[start:end]) for start, end in itertools.pairwise(bounds)]


# (a) Idempotence of keyed writes and of errors; counters add again, and say so.


@given(current=keyed, update=keyed)
def test_an_upsert_applied_twice_is_applied_once(current: Keyed, update: Keyed) -> None:
    once = upsert_by_key(current, update)
    assert upsert_by_key(once, update) == once
    assert upsert_batch(current, [update, update]) == once


@given(current=keyed, update=keyed)
def test_an_upsert_keeps_every_key_and_the_update_wins_field_by_field(current: Keyed, update: Keyed) -> None:
    merged = upsert_by_key(current, update)
    assert set(merged) == set(current) | set(update)
    for key, record in merged.items():
        if key not in update:
            assert record == current[key]
        else:
            assert record == {**current.get(key, {}), **update[key]}


@given(current=error_states, update=errors, between=errors)
def test_an_error_whose_id_is_recorded_is_never_recorded_again(
    current: list[ErrorRecord], update: list[ErrorRecord], between: list[ErrorRecord]
) -> None:
    once = append_errors(current, update)
    assert append_errors(once, update) == once
    assert append_errors_batch(current, [update, update]) == once
    # Even after other errors were recorded in between, a re-run adds nothing.
    later = append_errors(once, between)
    assert append_errors(later, update) == later
    ids = [error["id"] for error in later]
    assert len(ids) == len(set(ids)) and set(ids) == {e["id"] for e in [*current, *update, *between]}


@given(current=reports, update=reports)
def test_a_report_section_written_twice_is_written_once(current: dict[str, Any], update: dict[str, Any]) -> None:
    once = merge_reports(current, update)
    assert merge_reports(once, update) == once
    assert once == current | update


@given(current=counters, update=counters)
def test_a_counter_write_applied_twice_counts_twice(current: dict[str, int], update: dict[str, int]) -> None:
    """Counters are not idempotent on purpose: a re-run's requests were real requests."""
    once = add_counters(current, update)
    twice = add_counters(once, update)
    for name in set(current) | set(update):
        assert twice[name] == current.get(name, 0) + 2 * update.get(name, 0)
    assert (twice == once) == all(value == 0 for value in update.values())


@given(state=run_states, update=node_updates)
def test_a_node_update_applied_twice_changes_only_the_counters_again(state: RunState, update: dict[str, Any]) -> None:
    once = apply_update(state, update)
    twice = apply_update(once, update)
    assert {k: v for k, v in twice.items() if k not in COUNTED} == {k: v for k, v in once.items() if k not in COUNTED}
    assert twice["counters"] == add_counters(once["counters"], update.get("counters"))


_REDUCERS = [
    (upsert_by_key, keyed, keyed),
    (add_counters, counters, counters),
    (merge_reports, reports, reports),
    (append_errors, error_states, errors),
]


@pytest.mark.parametrize(("reducer", "states", "writes"), _REDUCERS, ids=["upsert", "counters", "reports", "errors"])
@given(data=st.data())
def test_reducers_never_change_their_arguments(
    reducer: Callable[[Any, Any], Any],
    states: st.SearchStrategy[Any],
    writes: st.SearchStrategy[Any],
    data: st.DataObject,
) -> None:
    """LangGraph copies channel values shallowly: a reducer that mutated its input would rewrite history."""
    current, update = data.draw(states, label="current"), data.draw(writes, label="update")
    before = copy.deepcopy((current, update))
    merged = reducer(current, update)
    assert (current, update) == before
    merged_copy = copy.deepcopy(merged)
    reducer(merged, update)
    assert merged == merged_copy


@pytest.mark.parametrize(
    ("batch", "states", "writes"),
    [(upsert_batch, keyed, keyed), (append_errors_batch, error_states, errors)],
    ids=["upsert", "errors"],
)
@given(data=st.data())
def test_batch_folds_never_change_their_arguments(
    batch: Callable[[Any, Sequence[Any]], Any],
    states: st.SearchStrategy[Any],
    writes: st.SearchStrategy[Any],
    data: st.DataObject,
) -> None:
    """The folds DeltaChannel replays with copy the state once and build new records, never edit the old."""
    current = data.draw(states, label="current")
    sequence = data.draw(st.lists(writes, max_size=4), label="writes")
    before = copy.deepcopy((current, sequence))
    merged = batch(current, sequence)
    assert (current, sequence) == before
    merged_copy = copy.deepcopy(merged)
    batch(merged, sequence)
    assert merged == merged_copy


# (b) Re-batching: DeltaChannel replays writes in whatever batches it likes.

_BATCHED = [(upsert_by_key, upsert_batch, keyed, keyed), (append_errors, append_errors_batch, error_states, errors)]


@pytest.mark.parametrize(("pairwise", "batch", "states", "writes"), _BATCHED, ids=["upsert", "errors"])
@given(data=st.data())
def test_folding_writes_in_any_batches_gives_the_same_state(
    pairwise: Callable[[Any, Any], Any],
    batch: Callable[[Any, Sequence[Any]], Any],
    states: st.SearchStrategy[Any],
    writes: st.SearchStrategy[Any],
    data: st.DataObject,
) -> None:
    current = data.draw(states, label="current")
    sequence = data.draw(st.lists(writes, max_size=6), label="writes")
    cuts = data.draw(st.lists(st.integers(0, len(sequence)), max_size=4), label="cuts")
    one_at_a_time = functools.reduce(pairwise, sequence, current)
    chunked = functools.reduce(batch, _chunks(sequence, cuts), current)
    assert chunked == one_at_a_time == batch(current, sequence)


@pytest.mark.parametrize(("reducer", "values"), [(add_counters, counters), (merge_reports, reports)])
@given(data=st.data())
def test_pre_merging_writes_in_any_grouping_gives_the_same_state(
    reducer: Callable[[Any, Any], Any], values: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """Counters and reports are associative: the totals do not depend on how writes were grouped."""
    current = data.draw(values, label="current")
    sequence = data.draw(st.lists(values, max_size=6), label="writes")
    cuts = data.draw(st.lists(st.integers(0, len(sequence)), max_size=4), label="cuts")
    one_at_a_time = functools.reduce(reducer, sequence, current)
    grouped: list[Any] = [functools.reduce(reducer, chunk, {}) for chunk in _chunks(sequence, cuts)]
    assert functools.reduce(reducer, grouped, current) == one_at_a_time


# (c) apply_update is what LangGraph does, in the run and after a reload from the checkpoint.


class SnapshottingState(TypedDict, total=False):
    """RunState's reducers, with DeltaChannels that snapshot every other write (replay and snapshot mixed)."""

    schema_version: int
    job_id: str
    goal: str
    params: dict[str, Any]
    query: str
    repos: Annotated[Keyed, DeltaChannel(upsert_batch, snapshot_frequency=2)]
    candidates: Annotated[Keyed, DeltaChannel(upsert_batch, snapshot_frequency=2)]
    leads: Annotated[Keyed, DeltaChannel(upsert_batch, snapshot_frequency=2)]
    to_send: Annotated[Keyed, DeltaChannel(upsert_batch, snapshot_frequency=2)]
    follow_ups: Annotated[Keyed, DeltaChannel(upsert_batch, snapshot_frequency=2)]
    reports: Annotated[dict[str, Any], merge_reports]
    counters: Annotated[dict[str, int], add_counters]
    errors: Annotated[list[Record], DeltaChannel(append_errors_batch, snapshot_frequency=2)]
    completed_at: str


def _chain(schema: type[Any], updates: Sequence[dict[str, Any]]) -> StateGraph[Any]:
    """START -> n0 -> n1 -> ... -> END, node i returning `updates[i]`."""
    builder = StateGraph(schema)
    previous = START
    for index, update in enumerate(updates):
        name = f"n{index}"
        builder.add_node(name, lambda _state, update=update: copy.deepcopy(update))
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder


def _expected_by_step(initial: RunState, updates: Sequence[dict[str, Any]]) -> list[RunState]:
    """The state after step 0 (the input), 1, 2, ... as `apply_update` computes it."""
    states = [apply_update(RunState(), initial)]
    for update in updates:
        states.append(apply_update(states[-1], update))
    return states


def _run_and_check(
    schema: type[Any], saver: BaseCheckpointSaver[Any], initial: RunState, updates: list[dict[str, Any]]
) -> RunnableConfig:
    expected = _expected_by_step(initial, updates)
    config: RunnableConfig = {"configurable": {"thread_id": "property"}}
    graph = _chain(schema, updates).compile(checkpointer=saver)
    assert graph.invoke(copy.deepcopy(initial), config) == expected[-1]
    assert graph.get_state(config).values == expected[-1]
    # A graph compiled afresh over the same saver rebuilds the state from checkpoints and writes alone.
    reloaded = _chain(schema, updates).compile(checkpointer=saver)
    assert reloaded.get_state(config).values == expected[-1]
    checked = []
    for snapshot in reloaded.get_state_history(config):
        step = snapshot.metadata["step"] if snapshot.metadata else -1
        if step >= 0:
            assert snapshot.values == expected[step], f"checkpoint of step {step}"
            checked.append(step)
    assert sorted(checked) == list(range(len(updates) + 1))
    return config


@pytest.mark.parametrize("schema", [RunState, SnapshottingState])
@settings(max_examples=40, deadline=None)
@given(initial=run_states, updates=st.lists(node_updates, min_size=1, max_size=4))
def test_apply_update_is_what_the_graph_does_with_an_in_memory_checkpointer(
    schema: type[Any], initial: RunState, updates: list[dict[str, Any]]
) -> None:
    _run_and_check(schema, InMemorySaver(), initial, updates)


@settings(max_examples=15, deadline=None)
@given(initial=run_states, updates=st.lists(node_updates, min_size=1, max_size=3))
def test_apply_update_is_what_the_graph_does_across_a_sqlite_reopen(
    initial: RunState, updates: list[dict[str, Any]]
) -> None:
    """The product's own SQLite checkpointer, closed and opened again: the reloaded state is the same."""
    expected = _expected_by_step(initial, updates)[-1]
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'checkpoints.db'}"
        with open_checkpointer(url) as saver:
            config = _run_and_check(RunState, saver, initial, updates)
        with open_checkpointer(url, create=False) as saver:
            assert _chain(RunState, updates).compile(checkpointer=saver).get_state(config).values == expected


@settings(max_examples=40, deadline=None)
@given(initial=run_states, first=node_updates, second=node_updates)
def test_two_writes_in_one_super_step_reduce_like_two_updates_in_a_row(
    initial: RunState, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Parallel nodes hand DeltaChannel both writes in one batch (ordered by node name, here a then b)."""
    builder = StateGraph(RunState)
    builder.add_node("a", lambda _state: copy.deepcopy(first))
    builder.add_node("b", lambda _state: copy.deepcopy(second))
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_edge(["a", "b"], END)
    # Two values for one plain field in one super-step is an InvalidUpdateError, not a reduction.
    assume(not {"query", "completed_at"} & set(first) & set(second))
    config: RunnableConfig = {"configurable": {"thread_id": "parallel"}}
    graph = builder.compile(checkpointer=InMemorySaver())
    expected = apply_update(apply_update(apply_update(RunState(), initial), first), second)
    assert graph.invoke(copy.deepcopy(initial), config) == expected
    assert graph.get_state(config).values == expected
