"""Whether an address's domain can receive mail, from its MX (or implicit A/AAAA) records.

A resolver that cannot find a well-known domain is broken or offline: checks then say "unverified", never "reject".
"""

from __future__ import annotations

import threading
from collections import Counter
from enum import StrEnum

import dns.exception
import dns.name
import dns.resolver
import dns.rrset

from cmo_agent.core.config import Settings


class MxVerdict(StrEnum):
    OK = "ok"  # MX records, or an A/AAAA record as the implicit MX (RFC 5321 5.1)
    NO_DOMAIN = "no_domain"  # NXDOMAIN
    NO_MAIL = "no_mail"  # neither MX nor A/AAAA, or a null MX (RFC 7505)
    UNVERIFIED = "unverified"  # DNS unusable or the lookup failed: never a reason to reject


class MxChecker:
    """MX verdicts per domain, cached for the checker's life; safe to share between threads."""

    def __init__(
        self, nameserver: str | None, timeout: float, probe_domains: tuple[str, ...] = ("gmail.com", "outlook.com")
    ) -> None:
        self._probe_domains = probe_domains
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._usable: bool | None = None
        self._verdicts: dict[str, MxVerdict] = {}
        self._counts: Counter[str] = Counter()
        try:
            self._resolver: dns.resolver.Resolver | None = dns.resolver.Resolver(configure=nameserver is None)
        except dns.resolver.NoResolverConfiguration:  # no /etc/resolv.conf, or no nameserver in it
            self._resolver = None
            return
        if nameserver is not None:
            host, _, port = nameserver.rpartition(":") if nameserver.count(":") == 1 else (nameserver, "", "")
            self._resolver.port = int(port or 53)
            self._resolver.nameservers = [host]
        self._resolver.lifetime = timeout

    def usable(self) -> bool:
        """Whether DNS works: at least one probe domain has an MX. Probed once, on first use."""
        with self._probe_lock:
            if self._usable is None:
                self._usable = any(self._has_mx(domain) for domain in self._probe_domains)
            return self._usable

    def check(self, domain: str) -> MxVerdict:
        """The verdict for `domain` (the part after the @), UNVERIFIED at once when DNS is unusable."""
        domain = domain.strip().rstrip(".").lower()
        if not self.usable():
            verdict = MxVerdict.UNVERIFIED
        else:
            with self._lock:
                cached = self._verdicts.get(domain)
            verdict = cached or self._lookup(domain)
        with self._lock:
            self._verdicts[domain] = verdict
            self._counts[f"mx:{verdict}"] += 1
        return verdict

    def counters(self) -> dict[str, int]:
        """`dns_queries` (resolver calls, probes included) and checks answered per verdict (`mx:ok`, ...)."""
        with self._lock:
            return {"dns_queries": self._counts["dns_queries"]} | {
                f"mx:{verdict}": self._counts[f"mx:{verdict}"] for verdict in MxVerdict
            }

    def _has_mx(self, domain: str) -> bool:
        try:
            mx = self._resolve(domain, "MX")
        except dns.exception.DNSException:
            return False
        if mx is not None and any(record.exchange != dns.name.root for record in mx):
            with self._lock:
                self._verdicts[domain] = MxVerdict.OK  # the probe's answer serves that domain's addresses too
            return True
        return False

    def _lookup(self, domain: str) -> MxVerdict:
        try:
            mx = self._resolve(domain, "MX")
            if mx is not None:
                return MxVerdict.NO_MAIL if all(record.exchange == dns.name.root for record in mx) else MxVerdict.OK
            has_address = any(self._resolve(domain, rdtype) is not None for rdtype in ("A", "AAAA"))
            return MxVerdict.OK if has_address else MxVerdict.NO_MAIL
        except dns.resolver.NXDOMAIN:
            return MxVerdict.NO_DOMAIN
        except dns.exception.DNSException:  # NoNameservers (SERVFAIL, REFUSED, socket errors), LifetimeTimeout, ...
            return MxVerdict.UNVERIFIED

    def _resolve(self, domain: str, rdtype: str) -> dns.rrset.RRset | None:
        """The records, or None when the name exists without records of that type."""
        if self._resolver is None:
            raise dns.resolver.NoResolverConfiguration
        with self._lock:
            self._counts["dns_queries"] += 1
        return self._resolver.resolve(domain, rdtype, search=False, raise_on_no_answer=False).rrset


def mx_checker_from(settings: Settings) -> MxChecker | None:
    """The checker the settings ask for, or None when MX checks are off."""
    if not settings.mx_check:
        return None
    return MxChecker(settings.dns_server, settings.dns_timeout)
