"""`report --html`: one self-contained page, opened in headless Chromium, with both charts drawn and
every outside string shown as text."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from cmo_agent.core.config import Settings
from cmo_agent.core.records import Draft, Lead
from cmo_agent.core.state import RunState, apply_update
from cmo_agent.report_html import FUNNEL_COLOR, REPLY_COLOR, render_html
from cmo_agent.reporting import job_report
from tests.cli.conftest import finished_state

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _state() -> RunState:
    state = finished_state("html")
    drafts = {
        "ada": Draft(status="sent", sent_at="2026-11-25T09:00:00+00:00"),
        "bob": Draft(status="sent", sent_at="2026-11-26T09:00:00+00:00", subject="Hi", to="bob@example.org"),
    }
    leads = {
        "ada": Lead(outcome="replied", outcome_at="2026-11-26T10:00:00+00:00", outcome_detail=HOSTILE),
        "bob": Lead(outcome="auto_replied", outcome_at="2026-11-26T11:00:00+00:00", outcome_detail="away"),
    }
    return apply_update(state, RunState(to_send=drafts, leads=leads, goal=f"Find ML people {HOSTILE}"))


def _page(tmp_path: Path) -> Path:
    state = _state()
    page = tmp_path / "report.html"
    page.write_text(render_html(job_report(state, Settings(_env_file=None)), state), encoding="utf-8")
    return page


def test_the_page_needs_no_network_and_shows_outside_text_as_text(tmp_path: Path) -> None:
    html = _page(tmp_path).read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html, "no script at all, and the reply's markup is text"
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    fetches = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)|url\(\s*["']?(?:https?:|//)|<link|@import""", html)
    assert fetches == [], "nothing to fetch from the network"
    assert html.count("<svg") == 2


@pytest.mark.e2e
def test_chromium_draws_both_charts(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("Chromium is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed")
    page, shot = _page(tmp_path), tmp_path / "shot.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1800",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    colors = _colors(Image.open(shot).convert("RGB"))
    assert colors[_rgb(FUNNEL_COLOR)] > 2000, "the funnel's bars are drawn"
    assert colors[_rgb(REPLY_COLOR)] > 50, "the replies line is drawn"


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _colors(image: Image.Image) -> dict[tuple[int, int, int], int]:
    return {cast(tuple[int, int, int], rgb): n for n, rgb in image.getcolors(maxcolors=1 << 24) or []}
