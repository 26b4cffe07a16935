"""The generated world (`python -m bench.world.build`): byte-identical by seed, the demo snapshot
reproduced from the defaults, and the --long-tail shape the product's commit lookups meet."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.world.build import DEFAULT_OUT, main
from bench.world.snapshot import build_snapshot, snapshot_bytes
from cmo_agent.demo.github_server import GitHubStandIn

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_SNAPSHOT = REPO_ROOT / "data" / "demo" / "github_snapshot.json"
# The world tests/campaign/test_traps.py runs against; its bytes were those of the generator before the
# move, plus each commit's "tz" (derived outside the random stream: without it, the bytes are the old ones).
TRAPS_WORLD_SHA256 = "e113fe8aa731df2824dc286d6158f5f84f0bcb226e4c13ca2ab82f4be40ea66e"
PAGE = 100
NEWEST_PAGES = 3
FEW = 5  # contributions: at most this many puts a human in a repository's long tail


@pytest.fixture(scope="module")
def default_world() -> dict[str, Any]:
    return build_snapshot()


@pytest.fixture(scope="module")
def long_tail_world() -> dict[str, Any]:
    return build_snapshot(long_tail=True)


def _build(tmp_path: Path, name: str, *args: str) -> bytes:
    out = tmp_path / name
    assert main(["--out", str(out), *args]) == 0
    return out.read_bytes()


def test_the_same_seed_writes_the_same_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for shape in ([], ["--long-tail"]):
        first = _build(tmp_path, "a.json", "--repos", "12", "--people", "150", "--seed", "5", *shape)
        second = _build(tmp_path, "b.json", "--repos", "12", "--people", "150", "--seed", "5", *shape)
        assert first == second
    assert "wrote" in capsys.readouterr().out


def test_another_seed_makes_another_world() -> None:
    one, other = build_snapshot(seed=7), build_snapshot(seed=8)
    assert snapshot_bytes(one) != snapshot_bytes(other)
    assert set(one["users"]) != set(other["users"])
    assert snapshot_bytes(build_snapshot(seed=7, long_tail=True)) != snapshot_bytes(
        build_snapshot(seed=8, long_tail=True)
    )


def test_default_arguments_write_the_bundled_demo_snapshot(tmp_path: Path) -> None:
    assert DEFAULT_OUT == DEMO_SNAPSHOT
    assert _build(tmp_path, "demo.json") == DEMO_SNAPSHOT.read_bytes()


def test_the_trap_world_is_the_one_the_old_generator_made() -> None:
    data = snapshot_bytes(build_snapshot(repos=30, people=500, seed=11))
    assert hashlib.sha256(data).hexdigest() == TRAPS_WORLD_SHA256, "tests/campaign/test_traps.py's world changed"


def test_bad_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path / "x.json"), "--people", "3"])
    assert exit_info.value.code == 2 and not (tmp_path / "x.json").exists()


def _tail_positions(snapshot: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    """(repository, login, position of the newest commit or None) for every few-commit human."""
    bots = set(snapshot["traps"]["bots"])
    found: list[tuple[str, str, int | None]] = []
    for repo in snapshot["repos"]:
        authors = [c["author_login"] for c in repo["commits"]]
        for c in repo["contributors"]:
            if c["login"] in bots or c["contributions"] > FEW:
                continue
            found.append((repo["full_name"], c["login"], authors.index(c["login"]) if c["login"] in authors else None))
    return found


def test_long_tail_commits_lie_beyond_the_newest_pages(long_tail_world: dict[str, Any]) -> None:
    tail = _tail_positions(long_tail_world)
    assert len(tail) > 200
    assert all(position is not None for _, _, position in tail), "?author= must find every long-tail contributor"
    beyond = [t for t in tail if t[2] is not None and t[2] >= NEWEST_PAGES * PAGE]
    assert len(beyond) / len(tail) >= 0.75
    assert len(beyond) < len(tail), "some drive-by contributors commit recently"
    assert long_tail_world["traps"]["old_tail"] == [[name, login] for name, login, _ in beyond]


def test_the_default_shape_keeps_every_commit_on_the_first_pages(default_world: dict[str, Any]) -> None:
    tail = _tail_positions(default_world)
    assert tail and not [t for t in tail if t[2] is not None and t[2] >= NEWEST_PAGES * PAGE]
    assert all(len(repo["commits"]) <= 2 * PAGE for repo in default_world["repos"])
    assert "old_tail" not in default_world["traps"]


def test_long_tail_commits_are_old_and_the_core_teams_recent(long_tail_world: dict[str, Any]) -> None:
    taken_at = long_tail_world["taken_at"]
    months_ago = (datetime.fromisoformat(taken_at) - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = 0
    for name, login in long_tail_world["traps"]["old_tail"]:
        repo = next(r for r in long_tail_world["repos"] if r["full_name"] == name)
        newest = next(c["date"] for c in repo["commits"] if c["author_login"] == login)
        assert newest < repo["commits"][NEWEST_PAGES * PAGE - 1]["date"] < taken_at
        old += newest < months_ago
    assert old / len(long_tail_world["traps"]["old_tail"]) >= 0.9
    bots = set(long_tail_world["traps"]["bots"])
    for repo in long_tail_world["repos"]:
        assert len(repo["commits"]) >= NEWEST_PAGES * PAGE
        top = next(c["login"] for c in repo["contributors"] if c["login"] not in bots)
        assert top in {c["author_login"] for c in repo["commits"][:PAGE]}, repo["full_name"]


def test_long_tail_keeps_the_people_and_the_traps(
    default_world: dict[str, Any], long_tail_world: dict[str, Any]
) -> None:
    traps = {k: v for k, v in long_tail_world["traps"].items() if k != "old_tail"}
    assert traps == default_world["traps"]
    assert set(long_tail_world["users"]) == set(default_world["users"])
    for plain, long in zip(default_world["repos"], long_tail_world["repos"], strict=True):
        assert plain["contributors"] == long["contributors"]
    commits = [c for repo in long_tail_world["repos"] for c in repo["commits"]]
    assert any(c["author_login"] is None for c in commits), "commits linked to no account"
    assert any("\n\nCo-authored-by: " in c["message"] for c in commits)
    assert any(c["author_email"].endswith("@users.noreply.github.com") for c in commits)


@pytest.mark.e2e
def test_the_stand_in_serves_old_tail_commits_only_through_author(long_tail_world: dict[str, Any]) -> None:
    name = long_tail_world["traps"]["paginated_repos"][0]
    old_tail = [login for repo, login in long_tail_world["traps"]["old_tail"] if repo == name]
    assert len(old_tail) > 30
    with GitHubStandIn(long_tail_world) as github, httpx.Client(base_url=github.url) as client:
        newest: set[str] = set()
        for page in range(1, NEWEST_PAGES + 1):
            answer = client.get(f"/repos/{name}/commits", params={"per_page": PAGE, "page": page})
            newest |= {c["author"]["login"] for c in answer.json() if c["author"]}
        assert not newest & set(old_tail)
        for login in old_tail[:10]:
            answer = client.get(f"/repos/{name}/commits", params={"author": login, "per_page": PAGE})
            assert answer.json() and {c["author"]["login"] for c in answer.json()} == {login}
