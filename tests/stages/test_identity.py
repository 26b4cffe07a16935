"""Each person once: logins sharing an address or a GitHub account id are one lead (hygiene), the
suppression list also names accounts, a person another job wrote to over SMTP is not written to
again within `recontact_days`, and `max_per_org` caps people per repository owner (score)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest
from langgraph.runtime import Runtime

from cmo_agent.context import CampaignContext
from cmo_agent.core.config import Settings
from cmo_agent.core.database import open_database
from cmo_agent.core.ledger import open_ledger
from cmo_agent.core.records import Candidate, Lead, Profile, RunParams
from cmo_agent.core.state import RunState, new_run_state, upsert_by_key
from cmo_agent.core.suppression import open_suppressions
from cmo_agent.stages.hygiene import hygiene, person_address_key
from cmo_agent.stages.score import cap_per_org, main_org

SENDER = "dana@example.com"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("CMO_CHECKPOINT_URL", "CMO_RECONTACT_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return Settings(CMO_DATA_DIR=tmp_path / "data", CMO_MX_CHECK=False)


def _runtime(settings: Settings) -> Runtime[CampaignContext]:
    return Runtime(context=CampaignContext(settings=settings), stream_writer=lambda _: None)


def _person(login: str, email: str | None, contributions: int, account: int | None, repo: str = "acme/lib") -> Lead:
    return Lead(
        login=login,
        repos={repo: contributions},
        contributions=contributions,
        status="enriched",
        email=email,
        email_source="profile",
        profile=Profile(login=login, type="User", id=account, email=email),
    )


def _state(job_id: str, *leads: Lead, **params: Any) -> RunState:
    return new_run_state(job_id, "Find ML engineers", cast(RunParams, params)) | RunState(
        leads={lead["login"]: lead for lead in leads},
        candidates={
            lead["login"]: Candidate(login=lead["login"], repos=lead["repos"], contributions=lead["contributions"])
            for lead in leads
        },
        to_send={},
    )


def _hygiene(settings: Settings, state: RunState) -> dict[str, Lead]:
    """The leads after hygiene, merged into the state's as the graph's reducer does."""
    update = hygiene(state, _runtime(settings))
    return upsert_by_key(state["leads"], update["leads"])


def _reasons(leads: dict[str, Lead]) -> dict[str, str | None]:
    return {login: lead["hygiene"].get("reason") for login, lead in leads.items()}


def _sent(settings: Settings, job_id: str, login: str, address: str, account: int | None, state: str = "sent") -> None:
    """A message of `job_id` to `login` in the ledger, as SMTP delivery leaves it."""
    with open_ledger(settings) as ledger:
        ledger.plan(job_id, login, f"<{job_id}.{login}@x>", address, SENDER, account_id=account)
        if state != "planned":
            assert ledger.begin_send(job_id, login)
            ledger.finish(job_id, login, state)  # type: ignore[arg-type]


def test_two_logins_sharing_an_address_are_one_lead_the_most_active_kept(settings: Settings) -> None:
    state = _state("job", _person("ada", "Ada@Example.org", 3, 1), _person("ada-work", "ada@example.org", 9, 2, "b/x"))
    leads = _hygiene(settings, state)
    assert _reasons(leads) == {"ada-work": None, "ada": "same_person_as:ada-work"}
    kept = leads["ada-work"]
    assert kept["aliases"] == ["ada"] and leads["ada"]["address"] is None
    assert kept["repos"] == {"b/x": 9, "acme/lib": 3} and kept["contributions"] == 12
    again = _hygiene(settings, state | RunState(leads=leads))  # run again (resume --retry-errors): not summed twice
    assert again["ada-work"]["contributions"] == 12 and again["ada-work"]["repos"] == kept["repos"]


def test_two_logins_sharing_an_account_id_are_one_lead(settings: Settings) -> None:
    leads = _hygiene(
        settings, _state("job", _person("bob", "bob@old.example", 5, 42), _person("bobby", "b@new.example", 2, 42))
    )
    assert _reasons(leads) == {"bob": None, "bobby": "same_person_as:bob"}
    assert leads["bob"]["aliases"] == ["bobby"] and leads["bob"]["address"] == "bob@old.example"


def test_keys_chain_into_one_person(settings: Settings) -> None:
    """A and B share an address, B and C an account id: all three are one person."""
    a, b, c = _person("a", "x@example.org", 1, 10), _person("b", "X@example.org", 2, 20), _person("c", "c@e.org", 7, 20)
    other = _person("d", "d@example.org", 4, 30)
    leads = _hygiene(settings, _state("job", a, b, c, other))
    assert _reasons(leads) == {"c": None, "d": None, "b": "same_person_as:c", "a": "same_person_as:c"}
    assert sorted(leads["c"]["aliases"]) == ["a", "b"] and "aliases" not in leads["d"]
    assert leads["c"]["contributions"] == 10


def test_a_person_without_a_usable_address_still_links_by_account(settings: Settings) -> None:
    leads = _hygiene(settings, _state("job", _person("e", None, 50, 7), _person("e2", "e@example.org", 1, 7)))
    assert _reasons(leads) == {"e": "no_address", "e2": None}
    assert leads["e2"]["aliases"] == ["e"] and leads["e2"]["contributions"] == 51


def test_gmail_addresses_fold_dots_and_tags_other_domains_do_not() -> None:
    assert person_address_key("Ada.Lovelace+github@googlemail.com") == "adalovelace@gmail.com"
    assert person_address_key("a.b+x@example.org") == "a.b+x@example.org"


def test_a_changed_address_is_still_suppressed_by_login_and_by_account(settings: Settings) -> None:
    """An unsubscribe recorded for login L with address a: later L (or L's account, renamed) with address b."""
    with open_suppressions(settings) as suppressions:
        suppressions.add_person("a@example.org", "Lin", 77, reason="unsubscribe request", source="sync:old")
        assert [e.entry for e in suppressions.entries()] == ["a@example.org", "github-id:77", "github:lin"]
    leads = _hygiene(
        settings,
        _state("job", _person("lin", "b@example.org", 5, None), _person("lin-renamed", "c@example.org", 5, 77)),
    )
    assert _reasons(leads) == {"lin": "suppressed:github:lin", "lin-renamed": "suppressed:github-id:77"}
    assert leads["lin"]["address"] is None


def test_one_suppressed_login_suppresses_the_whole_person(settings: Settings) -> None:
    with open_suppressions(settings) as suppressions:
        suppressions.add(["github:mo"], source="test")
    leads = _hygiene(
        settings, _state("job", _person("mo", "m@example.org", 1, 5), _person("mo2", "m@example.org", 9, 6))
    )
    assert _reasons(leads) == {"mo2": "suppressed:github:mo", "mo": "suppressed:github:mo"}


def test_a_person_another_job_sent_to_is_skipped_by_address_login_or_account(settings: Settings) -> None:
    _sent(settings, "first", "ann", "ann@example.org", 100)
    _sent(settings, "first", "ben", "ben@example.org", None, state="unknown")  # may have gone: counts
    _sent(settings, "first", "cy", "cy@example.org", 300, state="planned")  # never sent: does not count
    _sent(settings, "first", "dee", "dee@example.org", 400, state="bounced")  # suppressed elsewhere, not contact
    people = (
        _person("ann-new", "ann@EXAMPLE.org", 1, None),  # same address
        _person("Ben", "ben@new.example", 1, None),  # same login, new address
        _person("ann2", "a2@example.org", 1, 100),  # same account
        _person("cy", "cy@example.org", 1, 300),
        _person("dee", "dee@example.org", 1, 400),
    )
    leads = _hygiene(settings, _state("second", *people))
    assert _reasons(leads) == {
        "ann-new": "recontact:first",
        "Ben": "recontact:first",
        "ann2": "recontact:first",
        "cy": None,
        "dee": None,
    }
    assert _reasons(_hygiene(settings, _state("second", *people, recontact_days=0))) == dict.fromkeys(
        ["ann-new", "Ben", "ann2", "cy", "dee"]
    )


def test_a_job_never_skips_its_own_leads_and_old_contact_expires(settings: Settings) -> None:
    _sent(settings, "first", "ann", "ann@example.org", 100)
    assert _reasons(_hygiene(settings, _state("first", _person("ann", "ann@example.org", 1, 100)))) == {"ann": None}
    with open_database(settings.resolved_checkpoint_url()) as db:
        db.execute("UPDATE cmo_ledger SET sent_at = ?", [time.time() - 31 * 86_400])
    state = _state("second", _person("ann", "ann@example.org", 1, 100))
    assert _reasons(_hygiene(settings, state | RunState(params=RunParams(recontact_days=30)))) == {"ann": None}
    assert _reasons(_hygiene(settings, state)) == {"ann": "recontact:first"}  # CMO_RECONTACT_DAYS: 90


def test_at_most_n_people_per_repository_owner_the_best_kept() -> None:
    people = [
        _person("p1", "1@e.org", 5, 1, "bigco/a") | Lead(repos={"bigco/a": 5, "small/z": 1}),
        _person("p2", "2@e.org", 5, 2, "BigCo/b"),
        _person("p3", "3@e.org", 5, 3, "bigco/a"),
        _person("q1", "4@e.org", 5, 4, "small/z"),
    ]
    state = _state("job", *people, max_per_org=2)
    scored = {
        "p1": Lead(score=90, qualified=True),
        "p2": Lead(score=50, qualified=True),
        "p3": Lead(score=70, qualified=True),
        "q1": Lead(score=10, qualified=False),
    }
    assert main_org({"bigco/a": 5, "small/z": 1}) == "bigco"
    assert cap_per_org(state, scored, 2) == {"bigco": 1}
    assert scored["p2"] == Lead(score=50, qualified=False, cap="org_cap:bigco")
    assert scored["p1"]["qualified"] and scored["p3"]["qualified"] and "cap" not in scored["q1"]
