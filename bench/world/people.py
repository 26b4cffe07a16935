"""The human accounts: names, logins and ids by culture, then profiles and addresses; plants the
person with two accounts and the human whose login starts with "bot"."""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench.world.addresses import assign_emails
from bench.world.person import Person, PersonKind
from bench.world.profiles import decorate
from bench.world.tables import Culture, account_tables, people_tables


def ascii_lower(text: str) -> str:
    """`text` reduced to lower-case ASCII letters and digits, as logins and addresses are built from."""
    text = unicodedata.normalize("NFKD", text.translate(people_tables().transliteration))
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum()).lower()


def id_for(created: datetime, rng: random.Random) -> int:
    """A plausible GitHub id for an account created at `created` (ids grow with time)."""
    curve = people_tables().id_curve
    for (t0, i0), (t1, i1) in itertools.pairwise(curve):
        if created <= t1:
            frac = (created - t0).total_seconds() / (t1 - t0).total_seconds()
            base = i0 + frac * (i1 - i0)
            return max(1, int(base * rng.uniform(0.985, 1.015)))
    return curve[-1][1]


class PeopleFactory:
    """Generates the people, keeping logins and ids unique."""

    def __init__(self, rng: random.Random, reserved: Sequence[str], reserved_ids: Sequence[int]) -> None:
        self.rng = rng
        self.taken: dict[str, None] = {login.lower(): None for login in reserved}
        self.ids: dict[int, None] = dict.fromkeys(reserved_ids)

    def claim_login(self, candidate: str) -> str:
        candidate = candidate.strip("-")[:36].strip("-") or "user"
        login = candidate
        while login.lower() in self.taken:
            login = f"{candidate}{self.rng.randint(1, 99)}"
        self.taken[login.lower()] = None
        return login

    def claim_id(self, created: datetime) -> int:
        uid = id_for(created, self.rng)
        while uid in self.ids:
            uid += self.rng.randint(1, 997)
        self.ids[uid] = None
        return uid

    def login_for(self, first: str, last: str) -> str:
        r = self.rng
        words = people_tables()
        style = r.random()
        if style < 0.2:
            cand = f"{first}{last}"
        elif style < 0.38:
            cand = f"{first}-{last}"
        elif style < 0.52:
            cand = f"{first[0]}{last}"
        elif style < 0.60:
            cand = f"{last}{first[0]}"
        elif style < 0.68:
            cand = f"{first}{last[0]}"
        elif style < 0.78:
            cand = f"{first}-{r.choice(words.login_words)}"
        elif style < 0.88:
            cand = f"{first}{last}{r.randint(0, 99):02d}"
        else:
            sep = r.choice(("", "-"))
            cand = f"{r.choice(words.login_adjectives)}{sep}{r.choice(words.login_nouns)}"
        return self.claim_login(cand)

    def make(
        self,
        kind: PersonKind,
        *,
        culture: Culture | None = None,
        given: str | None = None,
        family: str | None = None,
        login: str | None = None,
        created: datetime | None = None,
    ) -> Person:
        r = self.rng
        if culture is None:
            cultures = people_tables().cultures
            culture = r.choices(cultures, weights=[c.weight for c in cultures])[0]
        raw_given = given or r.choice(culture.given)
        female = raw_given.endswith("*")
        given_name = raw_given.rstrip("*")
        raw_family = family or r.choice(culture.family)
        if "|" in raw_family:
            male_form, female_form = raw_family.split("|")
            family_name = female_form if female else male_form
        else:
            family_name = raw_family
        first, last = ascii_lower(given_name), ascii_lower(family_name)
        if created is None:
            created = datetime(2009, 1, 1, tzinfo=UTC) + timedelta(
                days=r.triangular(0, (datetime(2025, 6, 1, tzinfo=UTC) - datetime(2009, 1, 1, tzinfo=UTC)).days, 3400),
                seconds=r.randint(0, 86399),
            )
        style = r.random()
        name: str | None
        if style < 0.07:
            name = None
        elif style < 0.11:
            name = f"{given_name} {family_name}".lower()
        elif style < 0.15:
            name = f"{given_name} {family_name[0]}."
        elif style < 0.21 and culture.family_first:
            name = f"{family_name} {given_name}"
        else:
            name = f"{given_name} {family_name}"
        weight = min(12.0, r.paretovariate(1.3))
        return Person(
            login=login if login is not None else self.login_for(first, last),
            uid=self.claim_id(created),
            name=name,
            first=first,
            last=last,
            culture=culture,
            kind=kind,
            weight=weight,
            created_at=created.replace(microsecond=0),
        )


def make_people(count: int, r: random.Random) -> list[Person]:
    """`count` people: ML folk (a few dormant), web/game developers and non-contributing noise."""
    accounts = account_tables()
    reserved = [b.login for b in accounts.bots] + [c.handle for c in accounts.companies if c.handle]
    reserved += ["mlops-collective"]
    gen = PeopleFactory(r, reserved, [b.uid for b in accounts.bots])
    people: list[Person] = []
    planted: list[Person] = []
    cultures = people_tables().cultures
    india = next(c for c in cultures if c.key == "in")
    hungary = next(c for c in cultures if c.key == "hu")
    if count >= 10:
        a = gen.make(
            "ml",
            culture=india,
            given="Priya*",
            family="Nair",
            login=gen.claim_login("priya-nair"),
            created=datetime(2014, 2, 9, 8, 12, 40, tzinfo=UTC),
        )
        b = gen.make(
            "ml",
            culture=india,
            given="Priya*",
            family="Nair",
            login=gen.claim_login("pnair-kestrel"),
            created=datetime(2023, 1, 16, 9, 3, 5, tzinfo=UTC),
        )
        a.name = b.name = "Priya Nair"
        a.weight, b.weight = 4.0, 2.5
        planted = [a, b]
        # Trap for substring bot detection: a human whose login starts with "bot".
        people.append(
            gen.make("ml", culture=hungary, given="Botond", family="Szabó", login=gen.claim_login("botond-szabo"))
        )
    n_noise = round(count * 0.05)
    n_web = max(2, round(count * 0.08))
    n_dormant = max(1, round(count * 0.03))
    while len(people) + len(planted) < count:
        i = len(people) + len(planted)
        kind: PersonKind
        if i < count - n_noise - n_web:
            kind = "ml"
        elif i < count - n_noise:
            kind = "web"
        else:
            kind = "noise"
        people.append(gen.make(kind))
    r.shuffle(people)
    ml = [p for p in people if p.kind == "ml" and p.login != "botond-szabo"]
    for p in ml[:n_dormant]:
        p.dormant = True
        p.weight = max(p.weight, 1.5)
    domains: dict[str, None] = {}
    for p in people + planted:
        decorate(p, r, domains)
    if planted:
        kestrel = next(c for c in accounts.companies if c.handle == "kestrel-ai")
        for p in planted:
            p.location = "Bengaluru, India"
        work_acct = planted[1]
        work_acct.company, work_acct.university = kestrel, None
        work_acct.company_field = "@kestrel-ai"
        work_acct.bio = "ML engineer at Kestrel AI (work account)"
    assign_emails(people, planted, r)
    return planted + people
