"""Hygiene's outside checks in whole campaigns: the do-not-contact list (managed from the CLI) and
the domain's mail records through a real resolver on loopback, broken or not."""

from __future__ import annotations

import email
import json
from pathlib import Path
from typing import Any

import pytest

from cmo_agent.core.config import Settings
from cmo_agent.core.state import RunState
from cmo_agent.demo.github_server import GitHubStandIn
from cmo_agent.mail.message import recipient_of
from cmo_agent.runner import start_campaign
from tests.conftest import run_cli
from tests.loopback.dns_server import DnsStandIn

pytestmark = pytest.mark.e2e

GOAL = "Find active ML engineers"


def _campaign(settings: Settings, job_id: str, **params: Any) -> RunState:
    outcome = start_campaign(settings, GOAL, params, job_id=job_id)
    assert outcome.status == "done", outcome.error
    return outcome.state


def _drafted(state: RunState) -> dict[str, str]:
    """login → address of every lead with a draft."""
    return {login: recipient_of(state["leads"][login]) for login in state["to_send"]}


def _settings(tmp_path: Path, github: GitHubStandIn, **extra: Any) -> Settings:
    return Settings(CMO_DATA_DIR=tmp_path / "data", GITHUB_API_URL=github.url, **extra)


def test_suppressed_addresses_and_domains_are_never_drafted(
    tmp_path: Path, github: GitHubStandIn, base_env: dict[str, str]
) -> None:
    settings = _settings(tmp_path, github)
    before = _drafted(_campaign(settings, "before", max_repos=3))
    (login_a, address_a), (login_b, address_b) = sorted(before.items())[:2]
    domain_b = address_b.rpartition("@")[2]
    others_at_b = {login for login, address in before.items() if address.endswith("@" + domain_b)}
    listing = tmp_path / "dnc.csv"
    listing.write_text(f"email,name\n{address_a.upper()},someone\n")
    env = base_env | {"CMO_DATA_DIR": str(tmp_path / "data")}

    assert run_cli(["suppress", "import", str(listing)], env, tmp_path).returncode == 0
    assert run_cli(["suppress", "add", f"@{domain_b.upper()}"], env, tmp_path).returncode == 0
    listed = run_cli(["suppress", "list", "--json"], env, tmp_path)
    assert sorted(e["entry"] for e in json.loads(listed.stdout)) == sorted([address_a.lower(), f"@{domain_b.lower()}"])

    after = _campaign(settings, "after", max_repos=3)
    assert login_a not in after["to_send"] and not others_at_b & set(after["to_send"])
    assert after["leads"][login_a]["hygiene"]["reason"] == f"suppressed:{address_a.lower()}"
    assert after["leads"][login_b]["hygiene"]["reason"] == f"suppressed:@{domain_b.lower()}"
    assert set(after["to_send"]) == set(before) - {login_a} - others_at_b
    outbox = tmp_path / "data" / "outbox" / "after"
    recipients = {email.message_from_bytes(p.read_bytes())["To"] for p in outbox.glob("*.eml")}
    assert not any(address_a.lower() in r.lower() or domain_b.lower() in r.lower() for r in recipients)

    removed = run_cli(["suppress", "remove", address_a], env, tmp_path)
    assert removed.returncode == 0 and "removed 1" in removed.stdout


def test_bad_suppression_input_is_refused_whole(tmp_path: Path, base_env: dict[str, str]) -> None:
    env = base_env | {"CMO_DATA_DIR": str(tmp_path / "data")}
    bad = run_cli(["suppress", "add", "ok@example.org", "not-an-address"], env, tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: not an email address")
    listing = tmp_path / "list.txt"
    listing.write_text("a@example.org\nb@@example.org\n")
    imported = run_cli(["suppress", "import", str(listing)], env, tmp_path)
    assert imported.returncode == 2 and "line 2" in imported.stderr
    assert run_cli(["suppress", "list", "--json"], env, tmp_path).stdout.strip() == "[]"


def _zones(snapshot: dict[str, Any], missing: str, null_mx: str) -> dict[str, dict[str, list[str]]]:
    domains = {u["email"].rpartition("@")[2].lower() for u in snapshot["users"].values() if u.get("email")}
    zones: dict[str, dict[str, list[str]]] = {d: {"MX": [f"10 mx.{d}."]} for d in domains | {"gmail.com"}}
    zones[null_mx] = {"MX": ["0 ."]}
    del zones[missing]
    return zones


def test_domains_that_cannot_receive_mail_are_dropped(
    tmp_path: Path, github: GitHubStandIn, demo_snapshot: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMO_MX_CHECK", "true")
    with DnsStandIn(_zones(demo_snapshot, missing="proton.me", null_mx="outlook.com")) as dns:
        state = _campaign(_settings(tmp_path, github, CMO_DNS_SERVER=dns.address), "mx")
        queries = list(dns.queries)
    hygiene = {login: lead["hygiene"] for login, lead in state["leads"].items()}
    emails = {login: (lead.get("email") or "").lower() for login, lead in state["leads"].items()}
    at_proton = [login for login, e in emails.items() if e.endswith("@proton.me") and "mx" in hygiene[login]]
    at_outlook = [login for login, e in emails.items() if e.endswith("@outlook.com") and "mx" in hygiene[login]]
    assert at_proton and at_outlook, "the snapshot has people at both domains"
    assert all(hygiene[login]["reason"] == "no_mail_domain:no_domain" for login in at_proton)
    assert all(hygiene[login]["reason"] == "no_mail_domain:no_mail" for login in at_outlook)
    assert not set(at_proton + at_outlook) & set(state["to_send"])
    passed = [h for h in hygiene.values() if h["ok"]]
    assert passed and all(h["mx"] == "ok" for h in passed)
    mx_queries = [name for name, kind in queries if kind == "MX"]
    assert len(mx_queries) == len(set(mx_queries)), "each domain is looked up once"
    assert state["counters"]["dns_queries"] == len(queries)


def test_a_broken_resolver_leaves_addresses_unverified_not_rejected(
    tmp_path: Path, github: GitHubStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _drafted(_campaign(_settings(tmp_path, github), "reference", max_repos=3))
    monkeypatch.setenv("CMO_MX_CHECK", "true")
    with DnsStandIn({}) as dns:
        dns.mode = "nxdomain_all"
        state = _campaign(_settings(tmp_path, github, CMO_DNS_SERVER=dns.address), "broken", max_repos=3)
        asked = {name for name, _ in dns.queries}
    assert asked == {"gmail.com", "outlook.com"}, "only the well-known domains were probed"
    assert _drafted(state) == reference
    assert all(lead["hygiene"].get("mx") == "unverified" for lead in state["leads"].values() if lead["hygiene"]["ok"])
    assert state["reports"]["hygiene"]["mx_unverified"] == len(
        [1 for lead in state["leads"].values() if lead["hygiene"]["ok"]]
    )
