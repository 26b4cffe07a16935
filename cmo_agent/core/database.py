"""Plain SQL on the checkpoint database (SQLite or PostgreSQL) for the project's own tables."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cmo_agent.core.checkpointer import connect_sqlite, is_postgres


class Database:
    """A DB-API connection in autocommit mode; SQL is written with `?` placeholders."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self._conn = conn
        self._ph = placeholder

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(sql.replace("?", self._ph), tuple(params))
        rows = cur.fetchall() if cur.description else []
        return [tuple(row) for row in rows]


@contextmanager
def open_database(url: str) -> Iterator[Database]:
    """The database named by a checkpoint URL."""
    if is_postgres(url):
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg_conn:
            yield Database(pg_conn, "%s")
        return
    conn: sqlite3.Connection = connect_sqlite(url)
    try:
        yield Database(conn, "?")
    finally:
        conn.close()
