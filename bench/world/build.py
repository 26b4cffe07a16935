"""Writes a generated GitHub world as the snapshot JSON the loopback stand-in serves.

    python -m bench.world.build [--out PATH] [--repos N] [--people N] [--seed S] [--long-tail]

Invented data shaped like the real API and full of the traps a contact pipeline meets in the wild:

* off-topic repositories (a static-site theme, a game), an archived and a forked ML repository;
* two repositories with more than 100 contributors (the contributors list needs two pages);
* people who contribute to several repositories, and a long tail of one-commit contributors;
* bots: ``[bot]`` accounts typed ``Bot``, one ``[bot]`` account typed ``User`` and one ``Bot``
  without the suffix, plus a human whose login merely starts with "bot";
* profile addresses that are missing, ``users.noreply.github.com`` addresses, role addresses,
  syntactically invalid ones and one address shared by two logins in different case;
* an account deleted after contributing (listed as a contributor, its profile gone);
* commit author addresses that differ from the profile, noreply commit addresses, commits that
  are not linked to any account and ``Co-authored-by`` trailers.

``--long-tail`` gives each repository a big real repository's history: several hundred newest
commits by the core team, most few-commit contributors' commits months to years older, found only
through ``?author=LOGIN`` (see `bench.world.long_tail`).

Everything derives from ``random.Random(seed)``, the fixed ``TAKEN_AT`` time and the tables in
``data/world``, so the same arguments always yield byte-identical JSON. The defaults write the demo's
bundled snapshot, ``data/demo/github_snapshot.json`` of this checkout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.world.long_tail import NEWEST_PAGES, PAGE_SIZE, tail_reach
from bench.world.snapshot import build_snapshot, write_snapshot

DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "demo" / "github_snapshot.json"


def summary(snapshot: dict[str, Any], out: Path, size: int) -> str:
    """What was written: sizes, each repository's figures, and how far the long tail reaches."""
    users = snapshot["users"].values()
    bots = [u["login"] for u in users if u["type"] == "Bot" or u["login"].endswith("[bot]")]
    with_email = sum(1 for u in users if u["email"])
    lines = [
        f"wrote {out} ({size:,} bytes)",
        f"repos: {len(snapshot['repos'])}  users: {len(snapshot['users'])}  "
        f"bots: {len(bots)}  users with email: {with_email}",
    ]
    for repo in snapshot["repos"]:
        flags = "".join((" archived" if repo["archived"] else "", " fork" if repo["fork"] else ""))
        lines.append(
            f"  {repo['full_name']:<40} stars={repo['stargazers_count']:>6} "
            f"contributors={len(repo['contributors']):>3} "
            f"commits={len(repo['commits']):>3}{flags}"
        )
    reach = tail_reach(snapshot)
    lines.append(
        f"long tail: {reach['few_commit']} few-commit contributions, {reach['with_commits']} with commits, "
        f"{reach['beyond_pages']} only beyond the newest {NEWEST_PAGES} pages of {PAGE_SIZE} "
        f"(median age of their newest commit {reach['median_age_days']:g} days); "
        f"top contributors on the newest page: {reach['top_on_first_page']} of {reach['top_humans']}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.world.build", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path (default: the demo snapshot)")
    parser.add_argument("--repos", type=int, default=20, help="number of repositories")
    parser.add_argument("--people", type=int, default=200, help="number of human accounts")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument(
        "--long-tail",
        action="store_true",
        help="core team on the newest commit pages, most few-commit contributors far older",
    )
    args = parser.parse_args(argv)
    try:
        snapshot = build_snapshot(repos=args.repos, people=args.people, seed=args.seed, long_tail=args.long_tail)
    except ValueError as exc:
        parser.error(str(exc))
    size = write_snapshot(snapshot, args.out)
    sys.stdout.write(summary(snapshot, args.out, size) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
