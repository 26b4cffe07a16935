"""One exception tree: every exception the product defines descends from CmoError and is in the tree
that `core/errors.py`'s docstring draws. Error records hold what a person needs to act: the type,
message, a real traceback, the input that failed (secrets masked) and the attempts."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import cmo_agent
from cmo_agent.core import errors
from cmo_agent.core.errors import (
    ServiceError,
    error_id,
    error_record,
    known_error,
    marked_for_retry,
    resolutions,
    retry_requested,
)
from cmo_agent.core.records import ErrorRecord
from cmo_agent.core.state import append_errors


def _product_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(cmo_agent.__path__, prefix="cmo_agent."):
        if module_info.name.endswith("__main__"):
            continue  # running it is running the CLI
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_exception_the_product_defines_is_a_cmo_error() -> None:
    found = _product_exceptions()
    assert len(found) > 20, "the walk found the product's exceptions"
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, errors.CmoError))
    assert strays == []


def test_the_docstring_draws_every_exception() -> None:
    tree = errors.__doc__ or ""
    missing = sorted(name for name, cls in _product_exceptions().items() if cls.__name__ not in tree)
    assert missing == []


def _fetch_profile(login: str, token: str) -> None:
    raise ServiceError(f"GitHub answered 500 for {login} (https://bot:{token}@ghe.example/users/{login})")


def _failure(item: str, previous: ErrorRecord | None = None, token: str = "hunter2") -> ErrorRecord:
    try:
        _fetch_profile(item, token)
    except ServiceError as exc:
        candidate = {"login": item, "repos": {"octo/ml": 3}, "contributions": 3, "api_token": token}
        return error_record("enrich", item, exc, input=candidate, previous=previous, lookup="profile")
    raise AssertionError("unreachable")


def test_an_error_record_holds_type_message_traceback_input_and_attempts() -> None:
    record = _failure("ada")
    assert record["id"] == error_id("enrich", "ada") and (record["stage"], record["item"]) == ("enrich", "ada")
    assert record["type"] == "ServiceError" and record["message"].startswith("GitHub answered 500 for ada")
    assert record["error"] == f"ServiceError: {record['message']}"
    assert record["traceback"].startswith("Traceback (most recent call last):")
    assert 'File "' in record["traceback"] and "_fetch_profile" in record["traceback"], "the frames that raised"
    assert record["input"] == {"login": "ada", "repos": {"octo/ml": 3}, "contributions": 3, "api_token": "***"}
    assert record["context"] == {"lookup": "profile"} and record["attempts"] == 1 and "resolved_at" not in record


def test_no_secret_of_the_input_message_or_traceback_is_kept() -> None:
    record = _failure("ada", token="s3cr3t-value")
    assert "s3cr3t-value" not in repr(record)
    assert "https://bot:***@ghe.example/users/ada" in record["message"]


def test_a_repeated_failure_keeps_the_id_and_counts_one_more_attempt() -> None:
    first = _failure("ada")
    again = _failure("ada", previous=first)
    assert again["id"] == first["id"] and again["attempts"] == 2


def test_an_exception_never_raised_gets_the_stack_that_recorded_it() -> None:
    record = error_record("enrich", "gone", ServiceError("GitHub user 'gone' not found"))
    assert "test_an_exception_never_raised_gets_the_stack_that_recorded_it" in record["traceback"]
    assert record["traceback"].rstrip().endswith("ServiceError: GitHub user 'gone' not found")


def test_records_from_older_jobs_are_found_and_resolved_by_stage_and_item() -> None:
    old = ErrorRecord(id="0ld1d", stage="enrich", item="ada", error="X: y", traceback="", context={}, at="")
    assert known_error([old], "enrich", "ada") == old and known_error([old], "enrich", "bob") is None
    (repaired,) = resolutions([old], "enrich", ["ada", "bob"])
    assert repaired["id"] == "0ld1d" and repaired["resolved_at"]


def test_an_item_is_retried_until_an_attempt_fails_or_resolves_it_even_with_records_of_older_jobs() -> None:
    old = ErrorRecord(id="0ld1d", stage="enrich", item="ada", error="X: y", traceback="", context={}, at="")
    marked = [marked_for_retry(old), marked_for_retry(_failure("bob"))]
    assert retry_requested(marked, "enrich") == {"ada", "bob"} and retry_requested(marked, "score") == set()
    failed_again = [*marked, _failure("ada", previous=old)]  # a new-style record beside the old one
    assert retry_requested(failed_again, "enrich") == {"bob"}
    bob_repaired = append_errors(marked, resolutions(marked, "enrich", ["bob"]))
    assert retry_requested(bob_repaired, "enrich") == {"ada"}
