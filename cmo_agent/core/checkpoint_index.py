"""A job's checkpoints listed without rebuilding their states: each one's id, metadata, time and the
`progress` record its stage wrote (see `RunState.progress`).

SQLite keeps a checkpoint in one row, and the saver's own `list` reads it fast enough (about 1 s
for 1,000 checkpoints of a 10,000-lead job). PostgreSQL's `list` loads every channel's blob for
every checkpoint, so a large collection's snapshot is read once per checkpoint that refers to it;
there two queries read the checkpoints' metadata and only the `progress` blobs, from the saver's
documented tables (`checkpoints`, `checkpoint_blobs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver

_POSTGRES_CHECKPOINTS = """
select checkpoint_id, metadata, checkpoint ->> 'ts' as ts,
       checkpoint -> 'channel_versions' ->> 'progress' as progress_version
from checkpoints where thread_id = %s and checkpoint_ns = '' order by checkpoint_id desc
"""
_POSTGRES_PROGRESS = """
select version, type, blob from checkpoint_blobs where thread_id = %s and checkpoint_ns = '' and channel = 'progress'
"""


@dataclass(frozen=True)
class Listed:
    """One checkpoint, as `history` needs it."""

    config: RunnableConfig
    metadata: dict[str, Any]
    ts: str | None
    progress: dict[str, Any] | None
    """The record of the stage step that wrote it (it may be an older step's, for an update)."""
    has_progress: bool


def list_checkpoints(saver: BaseCheckpointSaver[Any], config: RunnableConfig) -> list[Listed]:
    """The thread's checkpoints, newest first."""
    from langgraph.checkpoint.postgres import PostgresSaver

    if isinstance(saver, PostgresSaver):
        return _from_postgres(saver, config)
    found = []
    for item in saver.list(config):
        values = item.checkpoint.get("channel_values", {})
        progress = values.get("progress")
        found.append(
            Listed(
                item.config,
                dict(item.metadata or {}),
                item.checkpoint.get("ts"),
                progress if isinstance(progress, dict) else None,
                "progress" in values,
            )
        )
    return found


def _from_postgres(saver: Any, config: RunnableConfig) -> list[Listed]:
    thread_id = config["configurable"]["thread_id"]
    with saver.conn.cursor() as cursor:  # two index scans (a join let the planner scan blobs per row)
        rows = cursor.execute(_POSTGRES_CHECKPOINTS, [thread_id]).fetchall()
        blobs = {row["version"]: row for row in cursor.execute(_POSTGRES_PROGRESS, [thread_id]).fetchall()}
    found = []
    for row in rows:
        progress = None
        blob = blobs.get(row["progress_version"])
        if blob is not None and blob["blob"] is not None and blob["type"] != "empty":
            progress = saver.serde.loads_typed((blob["type"], bytes(blob["blob"])))
        listed_config = RunnableConfig(
            configurable={"thread_id": thread_id, "checkpoint_ns": "", "checkpoint_id": row["checkpoint_id"]}
        )
        found.append(
            Listed(
                listed_config,
                dict(row["metadata"] or {}),
                row["ts"],
                progress if isinstance(progress, dict) else None,
                row["progress_version"] is not None,
            )
        )
    return found
