"""The outbox transport: one .eml file per lead under `$CMO_DATA_DIR/outbox/{job_id}/`."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path


def outbox_dir(data_dir: Path, job_id: str) -> Path:
    return data_dir / "outbox" / job_id


def write_eml(directory: Path, name: str, message: EmailMessage) -> Path:
    """Write `message` atomically as `{name}.eml`; writing the same lead again replaces its file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.eml"
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(message.as_bytes())
    tmp.replace(path)
    return path
