"""Send windows as pure functions: the grammar, whether a window is open at an instant in a zone,
when the next one opens (weekends, midnight, daylight saving), and the order messages go in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from cmo_agent.cli import app
from cmo_agent.core.config import Settings
from cmo_agent.core.records import Lead, UtcOffset
from cmo_agent.send_window import (
    Window,
    parse_send_window,
    plan_sends,
    recipient_zone,
    sender_zone,
    shown_time,
)

WEEKDAYS = frozenset(range(5))
NEW_YORK, PARIS, TOKYO = (timezone(timedelta(hours=hours)) for hours in (-5, 1, 9))


def at(text: str) -> float:
    """Unix time of an ISO 8601 instant with its offset."""
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("Mon-Fri 09:00-17:00", [Window(WEEKDAYS, 540, 1020)]),
        ("mon, wed ,FRI 10:00 - 12:30", [Window(frozenset({0, 2, 4}), 600, 750)]),
        ("Sat-Sun", [Window(frozenset({5, 6}), 0, 1440)]),
        ("08:30-18:00", [Window(frozenset(range(7)), 510, 1080)]),
        ("Fri-Mon 9:00-24:00", [Window(frozenset({4, 5, 6, 0}), 540, 1440)]),
        ("Monday-Friday 09:00-17:00", [Window(WEEKDAYS, 540, 1020)]),
        ("Fri 22:00-02:00", [Window(frozenset({4}), 1320, 1560)]),
        (
            "Mon-Fri 09:00-12:00; Sat 10:00-11:00",
            [Window(WEEKDAYS, 540, 720), Window(frozenset({5}), 600, 660)],
        ),
    ],
)
def test_the_grammar(text: str, windows: list[Window]) -> None:
    assert list(parse_send_window(text).windows) == windows


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("  ", "is empty"),
        (";", "is empty"),
        ("Mon-Fri 09:00-17:00;", "empty window"),
        ("Mon-Fri 9-17", "cannot read 'Mon-Fri 9-17'"),
        ("Mun-Fri 09:00-17:00", "unknown day 'Mun'"),
        ("Mon-Fri 09:00-17:00 CET", "cannot read"),
        ("Mon-Fri 25:00-26:00", "impossible time"),
        ("09:60-10:00", "impossible time"),
        ("24:00-01:00", "impossible time"),
        ("10:00-24:30", "impossible time"),
        ("Mon 09:00-09:00", "empty time range"),
        ("Mon;;Tue", "empty window"),
    ],
)
def test_what_the_grammar_refuses(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_send_window(text)


def test_open_and_closing_in_each_zone() -> None:
    window = parse_send_window("Mon-Fri 09:00-17:00")
    now = at("2026-11-30T15:30+00:00")  # a Monday
    assert window.closes_at(now, NEW_YORK) == at("2026-11-30T17:00-05:00")
    assert window.closes_at(now, PARIS) == at("2026-11-30T17:00+01:00")
    assert window.closes_at(now, TOKYO) is None  # 00:30 on Tuesday there
    assert window.opens_at(now, TOKYO) == at("2026-12-01T09:00+09:00")
    assert window.opens_at(now, PARIS) == now


def test_the_next_window_after_a_weekend_and_across_midnight() -> None:
    weekdays = parse_send_window("Mon-Fri 09:00-17:00")
    friday_evening = at("2026-12-04T18:00+01:00")
    assert weekdays.closes_at(friday_evening, PARIS) is None
    assert weekdays.opens_at(friday_evening, PARIS) == at("2026-12-07T09:00+01:00")
    night = parse_send_window("Fri 22:00-02:00")
    saturday_early = at("2026-12-05T01:00+01:00")
    assert night.closes_at(saturday_early, PARIS) == at("2026-12-05T02:00+01:00")
    assert night.opens_at(at("2026-12-05T02:00+01:00"), PARIS) == at("2026-12-11T22:00+01:00")


def test_touching_windows_are_one() -> None:
    window = parse_send_window("Mon 09:00-12:00; Mon 12:00-17:00")
    assert window.closes_at(at("2026-11-30T10:00+00:00"), UTC) == at("2026-11-30T17:00+00:00")


def test_the_sender_zone_follows_daylight_saving() -> None:
    berlin = sender_zone("Europe/Berlin")
    assert isinstance(berlin, ZoneInfo)
    window = parse_send_window("Mon-Fri 09:00-17:00")
    # Clocks go forward on Sunday 29 March 2026: Friday closes at 17:00 CET, Monday opens at 09:00 CEST.
    friday = at("2026-03-27T17:30+01:00")
    assert window.opens_at(friday, berlin) == at("2026-03-30T09:00+02:00")
    assert shown_time(window.opens_at(friday, berlin), berlin) == "2026-03-30T09:00+02:00"


def test_the_machine_zone_is_the_default() -> None:
    assert sender_zone(None) is None
    window = parse_send_window("00:00-24:00")
    now = at("2026-11-30T15:30+00:00")
    assert window.closes_at(now, None) is not None  # always open, in whatever zone the machine is


def test_a_lead_s_zone_is_their_offset_else_the_sender_s() -> None:
    berlin = sender_zone("Europe/Berlin")
    assert recipient_zone(Lead(utc_offset=UtcOffset(minutes=330, seen=4, of=5)), berlin) == timezone(
        timedelta(hours=5, minutes=30)
    )
    assert recipient_zone(Lead(login="x"), berlin) is berlin
    assert recipient_zone(Lead(utc_offset=UtcOffset(minutes=99_999)), berlin) is berlin


def test_messages_go_closing_soonest_first_and_the_rest_wait() -> None:
    window = parse_send_window("Mon-Fri 09:00-17:00")
    zones = {"nora": NEW_YORK, "kenji": TOKYO, "bert": PARIS, "lea": PARIS}
    plan = plan_sends(["nora", "kenji", "bert", "lea"], zones, window, at("2026-11-30T15:30+00:00"))
    assert plan.now == ["bert", "lea", "nora"]  # Paris closes first; ties keep their order
    assert plan.later == {"kenji": at("2026-12-01T09:00+09:00")}
    assert plan_sends(["b", "a"], {"a": TOKYO, "b": TOKYO}, None, 0.0).now == ["b", "a"]


def test_settings_check_the_window_and_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CMO_SEND_WINDOW", raising=False)
    assert Settings(_env_file=None).send_window is None
    assert Settings(_env_file=None, CMO_SEND_WINDOW=" Mon-Fri 09:00-17:00 ").send_window == "Mon-Fri 09:00-17:00"
    assert Settings(_env_file=None, CMO_SEND_WINDOW="").send_window is None
    with pytest.raises(ValidationError, match="unknown day"):
        Settings(_env_file=None, CMO_SEND_WINDOW="Mon-Fry 09:00-17:00")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(_env_file=None, CMO_SENDER_TZ="Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CMO_SEND_WINDOW", "Mon-Fri 9-5", "error: configuration: CMO_SEND_WINDOW: cannot read 'Mon-Fri 9-5'"),
        ("CMO_SENDER_TZ", "Europe/Nowhere", "error: configuration: CMO_SENDER_TZ: unknown time zone 'Europe/Nowhere'"),
    ],
)
def test_a_bad_window_stops_the_cli_before_anything(
    variable: str, value: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["run", "Find active ML engineers", "--demo"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(says), result.stderr
    assert not (tmp_path / "data").exists()


def test_a_huge_setting_is_cut_in_its_error() -> None:
    with pytest.raises(ValueError, match="empty window") as raised:
        parse_send_window("Mon-Fri 09:00-17:00;" * 5000)
    assert len(str(raised.value)) < 200
