"""RunState reducers: re-applying an update never duplicates anything."""

from __future__ import annotations

from cmo_agent.core.state import SEED_KEYS, apply_update, new_run_state


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
