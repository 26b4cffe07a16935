"""Shrinking a finished job's checkpoints to one: its latest checkpoint is rewritten to hold every
`DeltaChannel` collection whole, then every other checkpoint, write and blob of its thread is deleted.

A `DeltaChannel` value is rebuilt from the writes of the checkpoint's ancestors back to the nearest
snapshot, so deleting ancestors alone would silently lose data; the rewritten checkpoint carries a
snapshot of each collection (`_DeltaSnapshot`, what LangGraph itself writes every
`snapshot_frequency` updates) and no parent, so it reads without them. It keeps its id, channel
versions and what each node has seen, so the graph takes it for the same checkpoint, and its
pending writes. The `history` rows of the deleted checkpoints go into its metadata (`PRUNED_KEY`).

The tables are the savers' documented ones (`checkpoints`, `writes` in SQLite; `checkpoints`,
`checkpoint_blobs`, `checkpoint_writes` in PostgreSQL), as in `checkpoint_index.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, CheckpointTuple, copy_checkpoint
from langgraph.checkpoint.serde.types import _DeltaSnapshot

PRUNED_KEY = "cmo_pruned"
"""Checkpoint metadata of a pruned job's kept checkpoint: `at` (when) and `rows` (the `history`
rows of the checkpoints deleted, newest first)."""


@dataclass(frozen=True)
class Footprint:
    """What one thread holds in the checkpoint tables, and the size of the database around it."""

    checkpoints: int
    rows: int
    """Checkpoints, writes and (PostgreSQL) blobs of the thread."""
    bytes: int
    """The stored bytes of those rows (serialized checkpoints, metadata, writes and blobs)."""
    database_bytes: int
    """SQLite: the database file and its WAL. PostgreSQL: the saver's three tables, all threads."""


def _is_postgres(saver: BaseCheckpointSaver[Any]) -> bool:
    from langgraph.checkpoint.postgres import PostgresSaver

    return isinstance(saver, PostgresSaver)


def _sqlite_file(conn: sqlite3.Connection) -> Path:
    return Path(conn.execute("PRAGMA database_list").fetchone()[2])


def footprint(saver: BaseCheckpointSaver[Any], thread_id: str) -> Footprint:
    """How many rows and bytes `thread_id` holds in the saver's tables."""
    if _is_postgres(saver):
        return _postgres_footprint(saver, thread_id)
    conn: sqlite3.Connection = saver.conn  # type: ignore[attr-defined]
    checkpoints, checkpoint_bytes = conn.execute(
        "SELECT count(*), coalesce(sum(length(checkpoint) + length(metadata)), 0) FROM checkpoints WHERE thread_id = ?",
        [thread_id],
    ).fetchone()
    writes, write_bytes = conn.execute(
        "SELECT count(*), coalesce(sum(length(value)), 0) FROM writes WHERE thread_id = ?", [thread_id]
    ).fetchone()
    path = _sqlite_file(conn)
    wal = path.with_name(path.name + "-wal")
    size = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return Footprint(checkpoints, checkpoints + writes, checkpoint_bytes + write_bytes, size)


_PG_FOOTPRINT = """
select (select count(*) from checkpoints where thread_id = %(t)s) as checkpoints,
       (select coalesce(sum(pg_column_size(checkpoint) + pg_column_size(metadata)), 0)
          from checkpoints where thread_id = %(t)s) as checkpoint_bytes,
       (select count(*) from checkpoint_writes where thread_id = %(t)s) as writes,
       (select coalesce(sum(pg_column_size(blob)), 0) from checkpoint_writes where thread_id = %(t)s) as write_bytes,
       (select count(*) from checkpoint_blobs where thread_id = %(t)s) as blobs,
       (select coalesce(sum(pg_column_size(blob)), 0) from checkpoint_blobs where thread_id = %(t)s) as blob_bytes,
       pg_total_relation_size('checkpoints') + pg_total_relation_size('checkpoint_writes')
         + pg_total_relation_size('checkpoint_blobs') as size
"""


def _postgres_footprint(saver: Any, thread_id: str) -> Footprint:
    with saver.conn.cursor() as cursor:
        row = cursor.execute(_PG_FOOTPRINT, {"t": thread_id}).fetchone()
    rows = int(row["checkpoints"] + row["writes"] + row["blobs"])
    stored = int(row["checkpoint_bytes"] + row["write_bytes"] + row["blob_bytes"])
    return Footprint(int(row["checkpoints"]), rows, stored, int(row["size"]))


def self_contained(kept: CheckpointTuple, delta_channels: Sequence[str]) -> bool:
    """Whether the checkpoint holds every collection it has a version of (reads need no ancestor)."""
    values = kept.checkpoint["channel_values"]
    versions = kept.checkpoint["channel_versions"]
    return all(name in values for name in delta_channels if name in versions)


def keep_only(
    saver: BaseCheckpointSaver[Any],
    kept: CheckpointTuple,
    values: Mapping[str, Any],
    delta_channels: Sequence[str],
    pruned: Mapping[str, Any],
) -> None:
    """Rewrite `kept` (the thread's latest checkpoint, whose state is `values`) self-contained, with
    `pruned` in its metadata under `PRUNED_KEY`, then delete the rest of its thread.

    Safe to stop at any point: the rewrite replaces the row in place (the state it reads is the
    same), and the deletions are one transaction."""
    thread_id = str(kept.config["configurable"]["thread_id"])
    checkpoint = copy_checkpoint(kept.checkpoint)
    for name in delta_channels:
        if name in checkpoint["channel_versions"] and name in values:
            checkpoint["channel_values"][name] = _DeltaSnapshot(values[name])
    metadata: dict[str, Any] = {
        key: value for key, value in kept.metadata.items() if key != "counters_since_delta_snapshot"
    }
    metadata[PRUNED_KEY] = dict(pruned)
    root: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    saver.put(root, checkpoint, metadata, dict(checkpoint["channel_versions"]))  # type: ignore[arg-type]
    if _is_postgres(saver):
        _delete_postgres(saver, thread_id, checkpoint["id"], checkpoint["channel_versions"])
    else:
        _delete_sqlite(saver.conn, thread_id, checkpoint["id"])  # type: ignore[attr-defined]


def _delete_sqlite(conn: sqlite3.Connection, thread_id: str, kept_id: str) -> None:
    try:
        for table in ("checkpoints", "writes"):
            conn.execute(
                f"DELETE FROM {table} WHERE thread_id = ? AND NOT (checkpoint_ns = '' AND checkpoint_id = ?)",  # noqa: S608
                [thread_id, kept_id],
            )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _delete_postgres(saver: Any, thread_id: str, kept_id: str, versions: Mapping[str, Any]) -> None:
    channels, kept_versions = list(versions), [str(version) for version in versions.values()]
    with saver.conn.transaction(), saver.conn.cursor() as cursor:
        keep = {"t": thread_id, "id": kept_id}
        cursor.execute(
            "delete from checkpoints where thread_id = %(t)s and not (checkpoint_ns = '' and checkpoint_id = %(id)s)",
            keep,
        )
        cursor.execute(
            "delete from checkpoint_writes where thread_id = %(t)s"
            " and not (checkpoint_ns = '' and checkpoint_id = %(id)s)",
            keep,
        )
        # The kept checkpoint's blobs are those of its channel versions; every other one goes.
        cursor.execute(
            "delete from checkpoint_blobs b where b.thread_id = %(t)s and not (b.checkpoint_ns = ''"
            " and (b.channel, b.version) in (select * from unnest(%(channels)s::text[], %(versions)s::text[])))",
            keep | {"channels": channels, "versions": kept_versions},
        )
        # The upsert of the rewrite keeps the old parent; the row is the thread's root now.
        cursor.execute(
            "update checkpoints set parent_checkpoint_id = null where thread_id = %(t)s and checkpoint_id = %(id)s",
            keep,
        )


def vacuum(saver: BaseCheckpointSaver[Any]) -> bool:
    """Give the space of deleted rows back; whether VACUUM ran.

    SQLite: VACUUM (outside a transaction: it rewrites the whole file, every job's rows included),
    then a WAL checkpoint, so the file itself shrinks. PostgreSQL: a plain VACUUM of the saver's
    tables, which makes the space reusable without locking other jobs out; the files keep their
    size (VACUUM FULL would shrink them, locking every table meanwhile)."""
    if _is_postgres(saver):
        import psycopg

        try:
            saver.conn.execute("VACUUM (ANALYZE) checkpoints, checkpoint_blobs, checkpoint_writes")  # type: ignore[attr-defined]
        except psycopg.Error:
            return False
        return True
    conn: sqlite3.Connection = saver.conn  # type: ignore[attr-defined]
    conn.commit()
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return True
