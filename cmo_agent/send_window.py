"""Send windows (`CMO_SEND_WINDOW`): when a message may go, in its recipient's time zone.

The grammar (case-insensitive; spaces around `;`, `,` and `-` are free):

    windows    := window (";" window)*
    window     := days [time-range] | time-range
    days       := day-spec ("," day-spec)*
    day-spec   := DAY | DAY "-" DAY          a range may wrap: Fri-Mon is Fri, Sat, Sun, Mon
    DAY        := Mon Tue Wed Thu Fri Sat Sun (or the full English name)
    time-range := HH:MM "-" HH:MM            00:00 to 24:00; an end before the start runs past midnight

Days without a time range are whole days; a time range without days is every day. Examples:
`Mon-Fri 09:00-17:00`, `Mon,Wed,Fri 10:00-12:00`, `Sat-Sun`, `08:30-18:00`,
`Mon-Fri 09:00-12:00; Mon-Fri 14:00-17:00`, `Fri 22:00-02:00` (Friday night into Saturday).

A recipient's zone is their lead's `utc_offset` (from commit times) when known, else the sender's
(`CMO_SENDER_TZ`, an IANA name; unset: the machine's local zone). The functions here are pure:
they take the instant they judge (`now`, Unix time) instead of reading a clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, NamedTuple, TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cmo_agent.core.errors import RunStopped
from cmo_agent.core.records import PENDING_STATUSES, Lead

Zone = tzinfo | None
"""A time zone; None is the machine's local zone (as the C library knows it, daylight saving included)."""

DAY_MINUTES = 1440
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name: index for index, full in enumerate(_DAY_NAMES) for name in (full, full[:3])}
_TIME_RANGE = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*-\s*([0-9]{1,2}):([0-9]{2})\s*$")
_DAY_SPEC = re.compile(r"([a-z]+)(?:\s*-\s*([a-z]+))?", re.IGNORECASE)
_LOOK_BACK, _LOOK_AHEAD = 1, 8
"""Days around the local date whose windows are laid out: a window may have opened yesterday (past
midnight), and a weekly one opens again within a week."""


class WindowClosed(RunStopped):
    """No pending message's send window is open (raised only where no run control can drain the run, e.g. Studio)."""


@dataclass(frozen=True)
class Window:
    """One window: on `days` (0 is Monday), from `start` to `end` minutes after that day's midnight
    (`end` may pass 1440: the window runs into the next day)."""

    days: frozenset[int]
    start: int
    end: int


@dataclass(frozen=True)
class SendWindow:
    """A parsed `CMO_SEND_WINDOW`: its windows, and the text they came from."""

    windows: tuple[Window, ...]
    text: str

    def intervals(self, now: float, zone: Zone) -> list[tuple[float, float]]:
        """The windows around `now` in `zone` as Unix-time intervals [open, close), overlapping
        and touching ones merged, in order."""
        today = _local(now, zone).date()
        found = sorted(
            (_instant(day, window.start, zone), _instant(day, window.end, zone))
            for offset in range(-_LOOK_BACK, _LOOK_AHEAD + 1)
            for day in [today + timedelta(days=offset)]
            for window in self.windows
            if day.weekday() in window.days
        )
        merged: list[tuple[float, float]] = []
        for start, end in found:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            elif end > start:  # a wall-clock interval a daylight-saving change swallowed is empty
                merged.append((start, end))
        return merged

    def closes_at(self, now: float, zone: Zone) -> float | None:
        """When the window open at `now` in `zone` closes; None when none is open."""
        return next((end for start, end in self.intervals(now, zone) if start <= now < end), None)

    def opens_at(self, now: float, zone: Zone) -> float:
        """When a window next opens in `zone`: `now` itself when one is open."""
        for start, end in self.intervals(now, zone):
            if now < end:
                return max(start, now)
        raise AssertionError(f"no window of {self.text!r} within {_LOOK_AHEAD} days")  # every window has a day


def parse_send_window(text: str) -> SendWindow:
    """`text` in the module's grammar as a `SendWindow`; ValueError saying what is wrong otherwise."""
    parts = [part.strip() for part in text.split(";")]
    if not any(parts):
        raise ValueError("is empty; unset it to send at any time")
    windows = []
    for part in parts:
        if not part:
            raise ValueError(f"has an empty window between ';' in {_shown(text)}")
        found = _TIME_RANGE.search(part)
        start, end = (0, DAY_MINUTES) if found is None else _time_range(found)
        day_text = part[: found.start()].strip() if found else part
        days = _days(day_text) if day_text else frozenset(range(7))
        windows.append(Window(days=days, start=start, end=end))
    return SendWindow(windows=tuple(windows), text=text.strip())


def _shown(text: str, width: int = 60) -> str:
    """`text` quoted for an error message, cut to `width` characters (a setting may be any length)."""
    return repr(text if len(text) <= width else text[: width - 1] + "…")


def _time_range(found: re.Match[str]) -> tuple[int, int]:
    start_h, start_m, end_h, end_m = (int(group) for group in found.groups())
    shown = found.group(0).strip()
    if start_h > 23 or end_h > 24 or start_m > 59 or end_m > 59 or (end_h == 24 and end_m):
        raise ValueError(f"has an impossible time in {shown!r} (00:00 to 24:00)")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError(f"has an empty time range {shown!r}")
    return start, end if end > start else end + DAY_MINUTES


def _days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for spec in text.split(","):
        found = _DAY_SPEC.fullmatch(spec.strip())
        if found is None:
            raise ValueError(
                f"cannot read {_shown(spec.strip())}: expected days like Mon-Fri or Mon,Wed,Fri, "
                "then a time range like 09:00-17:00"
            )
        first, last = (_day(name) for name in (found.group(1), found.group(2) or found.group(1)))
        days.update((first + step) % 7 for step in range((last - first) % 7 + 1))
    return frozenset(days)


def _day(name: str) -> int:
    try:
        return _DAYS[name.lower()]
    except KeyError:
        raise ValueError(f"has an unknown day {_shown(name)} (Mon, Tue, Wed, Thu, Fri, Sat, Sun)") from None


def sender_zone(name: str | None) -> Zone:
    """The zone named `name` (IANA, e.g. `Europe/Berlin`), or the machine's local zone when None;
    ValueError for a name zoneinfo does not know."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {_shown(name)} (an IANA name such as Europe/Berlin)") from None


def recipient_zone(lead: Lead, sender: Zone) -> Zone:
    """The zone a lead's window applies in: their likely UTC offset (enrich), else the sender's."""
    minutes = lead.get("utc_offset", {}).get("minutes")
    if isinstance(minutes, int) and not isinstance(minutes, bool) and abs(minutes) < DAY_MINUTES:
        return timezone(timedelta(minutes=minutes))
    return sender


def shown_time(moment: float, zone: Zone) -> str:
    """`moment` as ISO 8601 to the minute, with the offset of `zone` then (`2026-11-30T09:00+01:00`)."""
    local = datetime.fromtimestamp(moment, zone) if zone is not None else datetime.fromtimestamp(moment).astimezone()
    return local.isoformat(timespec="minutes")


class SendPlan(NamedTuple):
    """Which pending messages may go now, and when the others may."""

    now: list[str]
    """Keys whose recipient's window is open, closing soonest first (ties keep the given order)."""
    later: dict[str, float]
    """Keys whose recipient's window opens later, with when."""


def plan_sends(keys: Sequence[str], zones: Mapping[str, Zone], window: SendWindow | None, now: float) -> SendPlan:
    """Split `keys` (each with its recipient's zone in `zones`) by `window` at `now`; no window: all go now."""
    if window is None:
        return SendPlan(now=list(keys), later={})
    closing: list[tuple[float, int, str]] = []
    later: dict[str, float] = {}
    by_zone: dict[Zone, tuple[float | None, float]] = {}  # a campaign has thousands of people, a few zones
    for index, key in enumerate(keys):
        zone = zones[key]
        if zone not in by_zone:
            by_zone[zone] = (window.closes_at(now, zone), window.opens_at(now, zone))
        closes, opens = by_zone[zone]
        if closes is None:
            later[key] = opens
        else:
            closing.append((closes, index, key))
    return SendPlan(now=[key for _, _, key in sorted(closing)], later=later)


class SendWait(TypedDict, total=False):
    """A job that waits for a send window (`reports.send_window`); `{}` when it does not."""

    due_at: float
    """When the first waiting message's window opens (Unix time)."""
    due: str
    """The same in that recipient's zone, ISO 8601 (`2026-11-30T09:00+01:00`)."""
    drafts: int
    """Messages whose window opens then."""
    waiting: int
    """All messages waiting for a window."""
    stage: str
    """The node that waits: `deliver` (first messages) or `follow_up`."""
    window: str
    """The `CMO_SEND_WINDOW` it was computed with."""
    sender_tz: str
    """The `CMO_SENDER_TZ` it was computed with (`""`: the machine's zone)."""


def send_wait(
    plan: SendPlan, zones: Mapping[str, Zone], window: SendWindow, sender_tz: str | None, stage: str
) -> SendWait:
    """The wait for `plan`, whose `now` is empty and `later` is not."""
    due_at = min(plan.later.values())
    first = [key for key, opens in plan.later.items() if opens == due_at]
    return SendWait(
        due_at=due_at,
        due=shown_time(due_at, zones[first[0]]),
        drafts=len(first),
        waiting=len(plan.later),
        stage=stage,
        window=window.text,
        sender_tz=sender_tz or "",
    )


def wait_note(wait: SendWait) -> str:
    """`send window opens <time> for <n> drafts`: what `status` says while the job waits."""
    count = wait.get("drafts", 0)
    return f"send window opens {wait.get('due', '?')} for {count} draft{'' if count == 1 else 's'}"


def active_wait(state: Mapping[str, Any]) -> SendWait | None:
    """The job's send-window wait, while the messages it waits for are still pending; else None."""
    wait = (state.get("reports") or {}).get("send_window")
    if not isinstance(wait, dict) or not isinstance(wait.get("due_at"), int | float):
        return None
    drafts: Mapping[str, Any] = state.get("follow_ups" if wait.get("stage") == "follow_up" else "to_send") or {}
    if not any(draft.get("status") in PENDING_STATUSES for draft in drafts.values()):
        return None
    return cast(SendWait, dict(wait))


def _local(moment: float, zone: Zone) -> datetime:
    return datetime.fromtimestamp(moment, zone)


def _instant(day: date, minutes: int, zone: Zone) -> float:
    """Unix time of `minutes` after midnight of `day` on the wall clock of `zone`."""
    return (datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(minutes=minutes)).timestamp()
