"""RunState reducers: re-applying an update never duplicates anything."""

from __future__ import annotations

from cmo_agent.core.errors import ServiceError, error_record, marked_for_retry, resolved
from cmo_agent.core.records import ErrorRecord
from cmo_agent.core.state import SEED_KEYS, apply_update, new_run_state
from cmo_agent.reporting import unresolved_errors


def test_fresh_state_has_every_seed_key_and_empty_collections() -> None:
    state = new_run_state("job-1", "Find active ML engineers")
    assert set(SEED_KEYS) <= set(state)
    assert state["repos"] == {} and state["leads"] == {} and state["errors"] == [] and state["counters"] == {}


def test_keyed_update_applied_twice_changes_nothing() -> None:
    state = new_run_state("job-1", "goal")
    update = {
        "repos": {"octo/ml": {"full_name": "octo/ml", "stars": 10}},
        "candidates": {"ada": {"login": "ada", "repos": {"octo/ml": 3}}},
        "leads": {"ada": {"login": "ada", "email": "ada@example.org"}},
        "to_send": {"ada": {"login": "ada", "subject": "Hi"}},
        "reports": {"discovery": {"repos": 1}},
        "errors": [{"id": "e1", "stage": "enrich", "item": "bob"}],
    }
    once = apply_update(state, update)
    twice = apply_update(once, update)
    assert twice == once
    assert len(twice["repos"]) == 1 and len(twice["errors"]) == 1


def test_upsert_merges_fields_of_an_existing_record() -> None:
    state = apply_update(new_run_state("j", "g"), {"leads": {"ada": {"login": "ada", "email": "a@example.org"}}})
    state = apply_update(state, {"leads": {"ada": {"score": 80}, "bob": {"login": "bob"}}})
    assert state["leads"]["ada"] == {"login": "ada", "email": "a@example.org", "score": 80}
    assert set(state["leads"]) == {"ada", "bob"}


def test_counters_add_and_reports_merge() -> None:
    state = apply_update(new_run_state("j", "g"), {"counters": {"github_api_calls": 2}, "reports": {"a": 1}})
    state = apply_update(state, {"counters": {"github_api_calls": 3, "drafted": 1}, "reports": {"b": 2}})
    assert state["counters"] == {"github_api_calls": 5, "drafted": 1}
    assert state["reports"] == {"a": 1, "b": 2}


def test_plain_fields_are_replaced() -> None:
    state = apply_update(new_run_state("j", "g"), {"query": "topic:ml"})
    assert state["query"] == "topic:ml"


def _failed(item: str, message: str, previous: ErrorRecord | None = None) -> ErrorRecord:
    return error_record("enrich", item, ServiceError(message), input={"login": item}, previous=previous)


def test_one_error_record_per_item_its_attempts_counted_and_its_resolution_kept() -> None:
    first = _failed("ada", "500 Server Error")
    other = _failed("bob", "404 Not Found")
    state = apply_update(new_run_state("j", "g"), {"errors": [first, other]})
    marked = marked_for_retry(first)
    again = _failed("ada", "502 Bad Gateway", previous=marked)
    state = apply_update(apply_update(state, {"errors": [marked]}), {"errors": [again]})
    assert [(e["item"], e.get("attempts"), e["message"]) for e in state["errors"]] == [
        ("ada", 2, "502 Bad Gateway"),
        ("bob", 1, "404 Not Found"),
    ], "the latest failure replaced the first, in its place"
    assert unresolved_errors(state) == {"enrich": 2}

    fixed = resolved(again)
    state = apply_update(state, {"errors": [fixed]})
    assert state["errors"][0] == fixed and unresolved_errors(state) == {"enrich": 1}


def test_error_writes_applied_again_in_any_order_change_nothing() -> None:
    first = _failed("ada", "500 Server Error")
    writes: list[ErrorRecord] = [first, marked_for_retry(first)]
    writes += [_failed("ada", "502 Bad Gateway", previous=writes[-1])]
    writes += [resolved(writes[-1])]
    state = new_run_state("j", "g")
    for write in writes:
        state = apply_update(state, {"errors": [write]})
    final = state["errors"]
    assert final == [writes[-1]]
    for write in writes:  # a replayed write, even an older one, never undoes a later one
        state = apply_update(state, {"errors": [write]})
    assert state["errors"] == final


def test_records_from_older_jobs_load_and_count_as_unresolved() -> None:
    old = ErrorRecord(id="e1", stage="extract_candidates", item="o/ml", error="X: y", traceback="", context={}, at="-")
    state = apply_update(new_run_state("j", "g"), {"errors": [old, old]})
    assert state["errors"] == [old] and unresolved_errors(state) == {"extract_candidates": 1}
