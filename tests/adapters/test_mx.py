"""MX checks against a real DNS server on 127.0.0.1: verdicts, broken resolvers, and the cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cmo_agent.adapters.mx import MxChecker, MxVerdict, mx_checker_from
from cmo_agent.core.config import Settings
from tests.loopback.dns_server import DnsStandIn

pytestmark = pytest.mark.e2e

ZONES = {
    "gmail.com": {"MX": ["5 gmail-smtp-in.l.google.com."]},
    "outlook.com": {"MX": ["10 outlook-com.olc.protection.outlook.com."]},
    "example.org": {"MX": ["10 mx.example.org."], "A": ["192.0.2.1"]},
    "a-only.example": {"A": ["192.0.2.2"]},
    "null-mx.example": {"MX": ["0 ."], "A": ["192.0.2.3"]},
    "parked.example": {"TXT": ['"v=spf1 -all"']},
}


@pytest.fixture
def dns_server() -> Iterator[DnsStandIn]:
    with DnsStandIn(ZONES) as server:
        yield server


def test_verdicts_follow_the_records(dns_server: DnsStandIn) -> None:
    checker = MxChecker(dns_server.address, timeout=2.0)
    assert checker.check("example.org") is MxVerdict.OK
    assert checker.check("a-only.example") is MxVerdict.OK  # RFC 5321 implicit MX
    assert checker.check("missing.example") is MxVerdict.NO_DOMAIN
    assert checker.check("null-mx.example") is MxVerdict.NO_MAIL  # RFC 7505, despite the A record
    assert checker.check("parked.example") is MxVerdict.NO_MAIL
    assert checker.counters() == {
        "dns_queries": dns_server.count(),
        "mx:ok": 2,
        "mx:no_domain": 1,
        "mx:no_mail": 2,
        "mx:unverified": 0,
    }


def test_resolver_that_denies_everything_leaves_addresses_unverified(dns_server: DnsStandIn) -> None:
    dns_server.mode = "nxdomain_all"
    checker = MxChecker(dns_server.address, timeout=2.0)
    verdicts = {checker.check(domain) for domain in ("example.org", "missing.example", "null-mx.example")}
    assert verdicts == {MxVerdict.UNVERIFIED}
    assert dns_server.queries == [("gmail.com", "MX"), ("outlook.com", "MX")]
    assert checker.counters()["dns_queries"] == 2
    assert checker.counters()["mx:unverified"] == 3


def test_a_silent_resolver_leaves_addresses_unverified_after_probing_once(dns_server: DnsStandIn) -> None:
    dns_server.mode = "silent"
    checker = MxChecker(dns_server.address, timeout=0.3)
    assert checker.check("example.org") is MxVerdict.UNVERIFIED
    assert checker.check("a-only.example") is MxVerdict.UNVERIFIED
    # One timeout per probe domain, none per address (how long that takes: bench/give_up.py).
    assert {name for name, _ in dns_server.queries} == {"gmail.com", "outlook.com"}


def test_servfail_after_a_good_probe_is_unverified(dns_server: DnsStandIn) -> None:
    checker = MxChecker(dns_server.address, timeout=2.0)
    assert checker.usable()
    dns_server.mode = "servfail"
    assert checker.check("example.org") is MxVerdict.UNVERIFIED


def test_a_domain_is_looked_up_once(dns_server: DnsStandIn) -> None:
    checker = MxChecker(dns_server.address, timeout=2.0)
    assert checker.check("a-only.example") is MxVerdict.OK
    assert checker.check("A-Only.Example.") is MxVerdict.OK
    assert dns_server.queries == [("gmail.com", "MX"), ("a-only.example", "MX"), ("a-only.example", "A")]
    assert checker.counters()["dns_queries"] == dns_server.count() == 3
    assert checker.counters()["mx:ok"] == 2


def test_settings_choose_the_checker(dns_server: DnsStandIn, tmp_path: Path) -> None:
    assert mx_checker_from(Settings(CMO_MX_CHECK=False, CMO_DATA_DIR=tmp_path)) is None
    checker = mx_checker_from(Settings(CMO_MX_CHECK=True, CMO_DNS_SERVER=dns_server.address, CMO_DATA_DIR=tmp_path))
    assert checker is not None and checker.check("example.org") is MxVerdict.OK
