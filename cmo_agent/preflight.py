"""What is checked before a job is created, so that nothing that passes can fail mid-run:
the goal, the job id, the sender's pitch and, for SMTP delivery, the sender identity and relay."""

from __future__ import annotations

import re
from pathlib import Path

from cmo_agent.core.config import Settings
from cmo_agent.core.errors import ConfigError
from cmo_agent.core.text import is_valid_utf8
from cmo_agent.drafting.checks import text_problem
from cmo_agent.mail.message import sender_of

MAX_GOAL_CHARS = 2000
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_PITCH_CHARS = 1000


def check_goal(goal: str) -> None:
    """ConfigError unless `goal` is usable: not blank, valid UTF-8, of a sensible length."""
    if not is_valid_utf8(goal):
        raise ConfigError("the goal is not valid UTF-8")
    if not goal.strip():
        raise ConfigError("the goal is empty")
    if len(goal) > MAX_GOAL_CHARS:
        raise ConfigError(f"the goal has {len(goal)} characters (at most {MAX_GOAL_CHARS})")


def validate_job_id(job_id: str) -> str:
    if not _JOB_ID.fullmatch(job_id):
        raise ConfigError(
            f"invalid job id {job_id!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return job_id


def check_pitch(settings: Settings) -> None:
    """ConfigError unless CMO_PITCH could be part of every email: bounded, no link but CMO_SENDER_WEBSITE,
    no address but the sender's (otherwise every draft would fail its checks)."""
    pitch = settings.pitch
    if pitch is None:
        return
    if len(pitch) > MAX_PITCH_CHARS:
        raise ConfigError(f"CMO_PITCH has {len(pitch)} characters (at most {MAX_PITCH_CHARS})")
    allowed = [settings.sender_website] if settings.sender_website else []
    if problem := text_problem(pitch, sender_of(settings)[1], allowed, "CMO_PITCH"):
        raise ConfigError(f"{problem} (emails may link only to CMO_SENDER_WEBSITE)")


def check_smtp_ready(settings: Settings) -> None:
    """Raise ConfigError unless SMTP delivery has a sender identity, a postal address and a relay."""
    required = {
        "CMO_SENDER_EMAIL": settings.sender_email,
        "CMO_SENDER_NAME": settings.sender_name,
        "CMO_POSTAL_ADDRESS": settings.postal_address,
        "SMTP_HOST": settings.smtp_host,
    }
    missing = [name for name, value in required.items() if not (value or "").strip()]
    if missing:
        raise ConfigError(f"--deliver smtp needs {', '.join(missing)} (set in the environment or .env)")
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(settings.sender_email or "", check_deliverability=False)
    except EmailNotValidError as exc:
        raise ConfigError(f"CMO_SENDER_EMAIL is not a valid address: {exc}") from None
    if settings.unsubscribe_url and not settings.unsubscribe_url.startswith("https://"):
        raise ConfigError("CMO_UNSUBSCRIBE_URL must be an https:// URL (one-click unsubscribe, RFC 8058)")
    if settings.smtp_ca_file and not Path(settings.smtp_ca_file).is_file():
        raise ConfigError(f"SMTP_CA_FILE: no such file {settings.smtp_ca_file}")
