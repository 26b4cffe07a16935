"""GitHub requests per drafted lead, wall time and peak pace, against the stand-in with latency.

Runs two campaigns over the same repositories (with a token, so profiles and commit histories come
through GraphQL) and prints what GitHub would have seen, and the share of the reachable addresses
(a usable address on a profile or, with "commit", on a commit of the person) drafted.

    .venv/bin/python -m bench.github_requests [--repos 12] [--people 300] [--latency 0.1]
        [--long-tail] [--email-sources profile,commit] [--profile-share 0.2]

`--profile-share F` hides the profile address of all but a share F of the people (chosen by login,
the same every run), as on github.com, where most people publish none: their commit addresses stay.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.world.snapshot import build_snapshot
from cmo_agent.accounts import is_bot, is_noreply
from cmo_agent.adapters.github import endpoint_of
from cmo_agent.core.config import Settings
from cmo_agent.demo.github_server import GitHubStandIn, shift_dates
from cmo_agent.runner import start_campaign
from cmo_agent.stages.hygiene import check_address


def reachable(snapshot: dict[str, Any], repos: list[str], sources: list[str]) -> set[str]:
    """Distinct usable addresses the stand-in exposes for the humans of `repos` (profile or commit,
    as `sources` allow; every human qualifies at the bench's min_score 0)."""
    chosen = [r for r in snapshot["repos"] if r["full_name"] in repos]
    people = {c["login"] for r in chosen for c in r["contributors"]}
    users = snapshot["users"]
    found: set[str] = set()
    for login in people:
        user = users.get(login)
        if user is None or is_bot(login, user["type"]):
            continue
        candidates = [user.get("email")] if "profile" in sources else []
        if "commit" in sources:
            candidates += [c["author_email"] for r in chosen for c in r["commits"] if c["author_login"] == login]
        for address in candidates:
            if address and not is_noreply(address) and (normalized := check_address(address)[0]):
                found.add(normalized.lower())
                break
    return found


def hide_profile_addresses(snapshot: dict[str, Any], share: float) -> int:
    """Keep the profile address of about `share` of the people (by a hash of the login); return how
    many were hidden."""
    hidden = 0
    for login, user in snapshot["users"].items():
        if user.get("email") and int(hashlib.sha256(login.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF >= share:
            user["email"] = None
            hidden += 1
    return hidden


def peak_per_minute(stand_in: GitHubStandIn) -> dict[str, int]:
    peaks: Counter[str] = Counter()
    by_endpoint: dict[str, list[float]] = {}
    for request in stand_in.requests:
        by_endpoint.setdefault(endpoint_of(request.path), []).append(request.at)
    for endpoint, times in by_endpoint.items():
        times.sort()
        start = 0
        for end, moment in enumerate(times):
            while moment - times[start] > 60:
                start += 1
            peaks[endpoint] = max(peaks[endpoint], end - start + 1)
    return dict(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=12)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the stand-in takes per answer")
    parser.add_argument("--long-tail", action="store_true", help="the world's long-tail commit history")
    parser.add_argument("--email-sources", default="profile,commit", help="the run's email_sources")
    parser.add_argument("--profile-share", type=float, help="keep only this share of profile addresses")
    args = parser.parse_args()
    sources = [s.strip() for s in args.email_sources.split(",") if s.strip()]

    # The generator always plants an archived repository and a fork, which search results skip.
    world = build_snapshot(repos=args.repos + 2, people=args.people, long_tail=args.long_tail)
    snapshot = shift_dates(world, datetime.now(UTC))
    hidden = hide_profile_addresses(snapshot, args.profile_share) if args.profile_share is not None else 0
    params = {
        "query": "archived:false fork:false",
        "max_repos": args.repos,
        "min_score": 0,
        "email_sources": sources,
    }
    with tempfile.TemporaryDirectory() as tmp, GitHubStandIn(snapshot, latency=args.latency) as github:
        # The generated addresses are made up: no MX lookups (they would leave loopback, too).
        settings = Settings(
            CMO_DATA_DIR=Path(tmp), GITHUB_API_URL=github.url, GITHUB_TOKEN="bench-token", CMO_MX_CHECK=False
        )
        runs = []
        for job_id in ("first", "second"):
            github.requests.clear()
            marks: dict[str, float] = {}
            started = time.perf_counter()

            def mark(event: dict[str, Any], marks: dict[str, float] = marks) -> None:
                marks[str(event.get("stage"))] = time.perf_counter()

            outcome = start_campaign(settings, "bench", params, job_id=job_id, on_progress=mark)
            assert outcome.status == "done", outcome.error
            runs.append((outcome, len(github.requests), marks.get("enrich", 0.0) - started, peak_per_minute(github)))

    first, requests, github_seconds, peaks = runs[0]
    drafted = len(first.state["to_send"])
    drafted_addresses = {d["to"].lower() for d in first.state["to_send"].values()}
    exposed = reachable(snapshot, list(first.state["repos"]), sources)
    print(
        f"latency {args.latency * 1000:.0f} ms, {'long-tail' if args.long_tail else 'default'} shape, "
        f"email sources {','.join(sources)}, {len(first.state['repos'])} repositories, "
        f"{len(first.state['candidates'])} candidates"
        + (f", {hidden} profile addresses hidden (--profile-share {args.profile_share})" if hidden else "")
    )
    print(
        f"first run: {requests} GitHub requests (counter {first.state['counters']['github_api_calls']}), "
        f"{drafted} drafted -> {requests / drafted:.3f} requests per drafted lead"
    )
    print(
        f"reachable addresses drafted: {len(drafted_addresses & exposed)} of {len(exposed)} "
        f"({len(drafted_addresses & exposed) / len(exposed):.1%})"
    )
    leads = first.state["leads"].values()
    vias = Counter(lead["provenance"].get("via", "profile") for lead in leads if lead.get("email"))
    print("addresses by way found: " + ", ".join(f"{k} {v}" for k, v in sorted(vias.items())))
    points = first.state["counters"].get("github_graphql_points", 0)
    print(f"leads with a UTC offset: {sum(1 for lead in leads if 'utc_offset' in lead)}; GraphQL points: {points}")
    print(f"GitHub stages (discover..enrich) wall time: {github_seconds:.1f} s")
    print("peak requests per minute per endpoint: " + ", ".join(f"{k} {v}" for k, v in sorted(peaks.items())))
    print(f"second run over the same repositories: {runs[1][1]} requests ({runs[1][1] / requests:.0%} of the first)")
    print(
        "requests by endpoint (first run): "
        + ", ".join(
            f"{k.removeprefix('github_requests:')} {v}"
            for k, v in sorted(first.state["counters"].items())
            if k.startswith("github_requests:")
        )
    )


if __name__ == "__main__":
    main()
