"""Everything on a person's profile but the e-mail addresses: employer, location, bio, links, counters."""

from __future__ import annotations

import random
from datetime import timedelta

from bench.world.clock import days_ago
from bench.world.person import Person
from bench.world.tables import account_tables, people_tables, profile_tables
from bench.world.text import upper_first


def ml_bio(p: Person, r: random.Random) -> str:
    t = profile_tables()
    topic, topic2 = r.sample(t.ml_topics, 2)
    company = p.company.display if p.company else None
    handle = f"@{p.company.handle}" if p.company and p.company.handle else company
    # Drawn only where a company bio could name it, as the draw order fixes every later value.
    previous = r.choice(t.universities) if company else None
    options = [*(t.ml_company_bios if company else ()), *(t.ml_university_bios if p.university else ()), *t.ml_bios]
    return r.choice(options).format(
        company=company,
        handle=handle,
        previous=previous,
        university=p.university,
        topic=topic,
        Topic=upper_first(topic),
        topic2=topic2,
    )


def web_bio(p: Person, r: random.Random) -> str:
    company = p.company.display if p.company else "a small studio"
    return r.choice(profile_tables().web_bios).format(company=company)


def noise_bio(r: random.Random) -> str | None:
    return r.choice(profile_tables().noise_bios)


def decorate(p: Person, r: random.Random, domains: dict[str, None]) -> None:
    """Company, location, bio, links and counters; `domains` holds the personal domains taken so far."""
    companies = account_tables().companies
    places = people_tables()
    profiles = profile_tables()
    tld = r.choice(p.culture.tlds)
    p.personal_domain = r.choice(
        (f"{p.first}{p.last}.{tld}", f"{p.first}-{p.last}.{tld}", f"{p.last}.{tld}", f"{p.first}.{tld}")
    )
    while p.personal_domain in domains:  # one personal domain per person
        label, _, suffix = p.personal_domain.partition(".")
        p.personal_domain = f"{label}{r.randint(2, 99)}.{suffix}"
    domains[p.personal_domain] = None
    roll = r.random()
    if p.kind == "ml":
        if roll < 0.55:
            p.company = r.choice([c for c in companies if c.kind == "ml"] + list(companies[:4]))
        elif roll < 0.72:
            p.university = r.choice(profiles.universities)
        elif roll < 0.80:
            p.company_field = r.choice(profiles.freelance)
    elif p.kind == "web":
        if roll < 0.6:
            p.company = r.choice([c for c in companies if c.kind in ("web", "other")])
        elif roll < 0.75:
            p.company_field = r.choice(profiles.freelance)
    elif roll < 0.45:
        p.company = r.choice([c for c in companies if c.kind == "other"])
    if p.company is not None:
        p.company_field = f"@{p.company.handle}" if p.company.handle and r.random() < 0.5 else p.company.display
    elif p.university is not None:
        p.company_field = p.university if r.random() < 0.7 else None

    loc_roll = r.random()
    if loc_roll < 0.18:
        p.location = None
    elif loc_roll < 0.22:
        p.location = r.choice(places.quirky_locations)
    elif loc_roll < 0.42:
        p.location = r.choice(places.global_hubs)
    else:
        p.location = r.choice(p.culture.cities)

    bio_roll = r.random()
    if bio_roll < 0.28:
        p.bio = None
    elif p.kind == "ml":
        p.bio = ml_bio(p, r)
    elif p.kind == "web":
        p.bio = web_bio(p, r)
    else:
        p.bio = noise_bio(r)

    blog_roll = r.random()
    if blog_roll < 0.15:
        p.blog = f"https://{p.personal_domain}"
    elif blog_roll < 0.25:
        p.blog = f"https://{p.login.lower()}.github.io"
    elif blog_roll < 0.29:
        p.blog = f"medium.com/@{p.login.lower()}"
    elif blog_roll < 0.33 and p.company is not None and p.company.domain:
        p.blog = f"https://{p.company.domain}"
    if r.random() < 0.22:
        p.twitter = r.choice(
            (f"{p.first}{p.last}", f"{p.first}_{p.last}", p.login.lower(), f"{p.first}_{r.choice(places.login_words)}")
        )[:15]
    p.hireable = True if r.random() < 0.2 else None
    p.public_repos = int(min(420, 2 + p.weight * r.uniform(2, 9) + r.expovariate(1 / 8)))
    p.public_gists = int(r.expovariate(1 / 4)) if r.random() < 0.6 else 0
    p.followers = int(min(48_000, p.weight**1.6 * r.lognormvariate(2.3, 1.0)))
    p.following = int(min(900, r.expovariate(1 / 25)))
    if p.dormant:
        p.updated_at = days_ago(r.uniform(480, 900))
    else:
        p.updated_at = days_ago(r.expovariate(1 / 25) if p.kind != "noise" else r.uniform(0, 700))
    if p.updated_at < p.created_at:
        p.updated_at = p.created_at + timedelta(days=r.uniform(1, 30))
