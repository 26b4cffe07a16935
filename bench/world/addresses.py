"""Profile and commit e-mail addresses, with the planted address traps: noreply, role and invalid
profile addresses, commit addresses that differ from the profile, one address on two logins."""

from __future__ import annotations

import random

from bench.world.person import Person


def freemail_address(p: Person, r: random.Random) -> str:
    f, l_ = p.first, p.last
    local = r.choice(
        (
            f"{f}.{l_}",
            f"{f}{l_}",
            f"{f[0]}{l_}",
            f"{f}_{l_}",
            f"{f}.{l_}{r.randint(1, 99)}",
            f"{f}{l_}{r.randint(80, 99)}",
            p.login.lower().replace("-", "."),
        )
    )
    return f"{local}@{r.choice(p.culture.freemail)}"


def personal_address(p: Person, r: random.Random) -> str:
    local = r.choice((p.first, p.first, "me", f"{p.first}.{p.last}", "mail", p.first[0]))
    return f"{local}@{p.personal_domain}"


def work_address(p: Person, r: random.Random) -> str | None:
    if p.company is None or p.company.domain is None:
        return None
    local = r.choice((f"{p.first}.{p.last}", f"{p.first}", f"{p.first[0]}{p.last}", f"{p.first}.{p.last}"))
    return f"{local}@{p.company.domain}"


class Mailboxes:
    """Hands out addresses so that no two people end up with the same one by accident."""

    def __init__(self, r: random.Random) -> None:
        self.r = r
        self.owner: dict[str, int] = {}

    def claim(self, address: str, p: Person) -> str:
        local, _, domain = address.partition("@")
        candidate = address
        while self.owner.get(candidate.lower(), p.uid) != p.uid:
            candidate = f"{local}{self.r.randint(2, 99)}@{domain}"
        self.owner[candidate.lower()] = p.uid
        return candidate

    def role(self, p: Person) -> str:
        domains = [p.company.domain] if p.company is not None and p.company.domain else []
        domains.append(p.personal_domain)
        for domain in domains:
            roles = ("info", "support", "contact") if domain != p.personal_domain else ("contact", "hello", "info")
            for role in self.r.sample(roles, len(roles)):
                address = f"{role}@{domain}"
                if address not in self.owner:
                    return self.claim(address, p)
        return self.claim(f"contact@{p.personal_domain}", p)


def assign_emails(people: list[Person], planted: list[Person], r: random.Random) -> None:
    """Profile addresses plus the addresses each person uses on commits; `planted` is the one person
    with two accounts whose profile addresses differ only in case."""
    n = len(people) + len(planted)
    box = Mailboxes(r)
    candidates = [p for p in people if p.kind == "ml" and not p.dormant]
    r.shuffle(candidates)
    n_noreply = max(1, round(n * 0.025))
    n_role = max(1, round(n * 0.02))
    n_invalid = 2 if n >= 20 else 1
    specials = candidates[: n_noreply + n_role + n_invalid]
    special_ids = {id(p) for p in specials}

    for p in specials[:n_noreply]:
        p.email_kind = "noreply"
        p.profile_email = p.noreply()
        p.commit_emails = [p.profile_email]
    for p in specials[n_noreply : n_noreply + n_role]:
        p.email_kind = "role"
        p.profile_email = box.role(p)
        p.commit_emails = [box.claim(freemail_address(p, r), p)]
    for i, p in enumerate(specials[n_noreply + n_role :]):
        p.email_kind = "invalid"
        if i % 2 == 0:
            p.profile_email = f"{p.first}.{p.last}@"
            p.commit_emails = [box.claim(f"{p.first}.{p.last}@{r.choice(p.culture.freemail)}", p)]
        else:
            p.profile_email = f"{p.first} at {p.personal_domain}"
            p.commit_emails = [p.noreply()]

    rest = [p for p in people if id(p) not in special_ids]
    n_null = round(n * 0.30)
    n_hidden = round(n * 0.22)
    labels = ["hidden"] * n_hidden + ["noreply_only"] * max(0, n_null - n_hidden)
    labels += ["public"] * max(0, len(rest) - len(labels))
    labels = labels[: len(rest)]
    r.shuffle(labels)
    for p, label in zip(rest, labels, strict=True):
        work_raw = work_address(p, r)
        work = box.claim(work_raw, p) if work_raw is not None else None
        if label == "public":
            p.email_kind = "public"
            src = r.random()
            if src < 0.42 or (src < 0.72 and work is None):
                p.profile_email = box.claim(freemail_address(p, r), p)
            elif src < 0.72 and work is not None:
                p.profile_email = work
            else:
                p.profile_email = box.claim(personal_address(p, r), p)
            how = r.random()
            if how < 0.65:
                p.commit_emails = [p.profile_email]
            elif how < 0.82:
                p.commit_emails = [p.noreply()]
            else:
                other = work if work and work != p.profile_email else box.claim(freemail_address(p, r), p)
                p.commit_emails = [p.profile_email, other]
        elif label == "hidden":
            p.email_kind = "null"
            p.profile_email = None
            first = work if work is not None and r.random() < 0.6 else box.claim(freemail_address(p, r), p)
            p.commit_emails = [first]
            if r.random() < 0.25:
                p.commit_emails.append(p.noreply())
        else:
            p.email_kind = "null"
            p.profile_email = None
            p.commit_emails = [p.noreply()]
    if len(planted) == 2:
        personal, work_acct = planted
        personal.email_kind = work_acct.email_kind = "public"
        personal.profile_email = "Priya.N@example.org"
        work_acct.profile_email = "priya.n@example.org"
        personal.commit_emails = ["Priya.N@example.org"]
        work_acct.commit_emails = ["priya.nair@kestrel-ai.dev", work_acct.noreply()]
