"""The checkpoint database named by one URL (SQLite or PostgreSQL): parsing it, connecting to it, and
plain SQL for the project's own tables. Connection failures become one-line DatabaseUnavailable errors
with credentials redacted."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cmo_agent.core.errors import ConfigError, DatabaseMissing, DatabaseUnavailable
from cmo_agent.core.migrations import migrate as migrate_tables

if TYPE_CHECKING:
    import psycopg

_SECRET_PARAM = re.compile(r"(?i)\b(password|passwd|sslpassword)=([^&\s]+)")


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """`url` with its password (in the user part or a `password=` parameter) replaced by `***`."""
    redacted = _SECRET_PARAM.sub(r"\1=***", url)
    try:
        parts = urlsplit(redacted)
    except ValueError:
        return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", redacted)
    if parts.password is None:
        return redacted
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def redact(message: str, url: str) -> str:
    """`message` with every credential of `url` it repeats replaced by `***`."""
    secrets = [match.group(2) for match in _SECRET_PARAM.finditer(url)]
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        secrets.append(password)
    for secret in secrets:
        message = message.replace(secret, "***")
    return message.replace(url, redact_url(url))


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///PATH` URL (`sqlite:////abs/path` for absolute paths)."""
    path = url.removeprefix("sqlite:///")
    if not path or path == url:
        raise ConfigError(f"CMO_CHECKPOINT_URL: expected sqlite:///PATH or postgresql://..., got {redact_url(url)!r}")
    return Path(path)


def check_url(url: str) -> None:
    """Raise ConfigError unless `url` names a SQLite file or a PostgreSQL database."""
    if is_postgres(url):
        try:
            urlsplit(url).port  # noqa: B018 (parses the port, which raises when it is not a number)
        except ValueError as exc:
            raise ConfigError(f"CMO_CHECKPOINT_URL {redact_url(url)!r}: {exc}") from None
        return
    sqlite_path(url)


def connect_sqlite(
    url: str, create: bool = True, check_writable: bool = False, autocommit: bool = True
) -> sqlite3.Connection:
    """A SQLite connection for several threads and processes: WAL mode and a busy timeout.

    With `create=False` a missing file is DatabaseMissing instead of a new empty database; with
    `check_writable`, a database that cannot be written fails now, before anything was written.
    `autocommit=False` gives Python's implicit transactions, which LangGraph's SqliteSaver needs:
    it saves a task's writes with one `executemany` and then commits, and in autocommit mode each
    row would be its own transaction, so a kill -9 could leave a task's writes half saved.
    """
    path = sqlite_path(url)
    try:
        if not create and not path.exists():
            raise DatabaseMissing(f"no database at {path} (no job has run with this CMO_DATA_DIR yet)")
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not path.is_file():
            raise DatabaseUnavailable(f"cannot use the SQLite database {path}: it is not a file")
        conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA journal_mode=WAL")
            if check_writable:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("CREATE TABLE cmo_write_probe (x INTEGER)")
                finally:
                    conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()
            raise
        if not autocommit:
            conn.isolation_level = "DEFERRED"  # implicit transactions, committed by the caller
    except DatabaseMissing:
        raise
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseUnavailable(f"cannot use the SQLite database {path}: {_reason(exc)}") from None
    return conn


def connect_postgres(url: str, **options: Any) -> psycopg.Connection[Any]:
    """An autocommit PostgreSQL connection; DatabaseUnavailable (credentials redacted) when it fails."""
    import psycopg

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10, **options)
    except (psycopg.Error, ValueError) as exc:
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {redact_url(url)}: {redact(_reason(exc), url)}"
        ) from None


def _reason(exc: BaseException) -> str:
    """An exception's message on one line (psycopg's span several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(lines) or type(exc).__name__


_SQL_TOKENS = re.compile(r"""'(?:[^']|'')*'?|"(?:[^"]|"")*"?|--[^\n]*|/\*.*?(?:\*/|$)|\?|%|[^'"?%/-]+|.""", re.DOTALL)
"""String literals, quoted identifiers and comments (whole, so nothing inside them is rewritten),
placeholders, percent signs, and everything else."""


@lru_cache(maxsize=256)
def pyformat_sql(sql: str) -> str:
    """`sql` written with `?` placeholders, for psycopg's `%s` style.

    Only a `?` outside string literals, quoted identifiers and comments is a placeholder; every `%`
    is doubled, because psycopg reads `%` as placeholder syntax everywhere, literals included.
    """
    out = []
    for piece in _SQL_TOKENS.findall(sql):
        if piece == "?":
            out.append("%s")
        else:
            out.append(piece.replace("%", "%%"))
    return "".join(out)


class Database:
    """A DB-API connection in autocommit mode; SQL is written with `?` placeholders."""

    def __init__(self, conn: Any, placeholder: str) -> None:
        self._conn = conn
        self._ph = placeholder

    @property
    def postgres(self) -> bool:
        return self._ph == "%s"

    def columns(self, table: str) -> set[str]:
        """The column names of `table` (empty when it does not exist)."""
        if self.postgres:
            sql = (
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = ? AND table_schema = current_schema()"
            )
        else:
            sql = "SELECT name FROM pragma_table_info(?)"
        return {str(row[0]) for row in self.execute(sql, [table])}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(pyformat_sql(sql) if self._ph == "%s" else sql, tuple(params))
        rows = cur.fetchall() if cur.description else []
        return [tuple(row) for row in rows]

    def execute_script(self, sql: str) -> None:
        """Several statements as they are, no placeholders (PostgreSQL's simple query protocol)."""
        if not self.postgres:
            raise NotImplementedError("execute_script is for PostgreSQL")
        self._conn.execute(sql)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The block's statements as one transaction, committed when it ends and rolled back when it
        raises (SQLite: `BEGIN IMMEDIATE`, which takes the database's write lock at once)."""
        if self.postgres:
            with self._conn.transaction():
                yield
            return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")


@contextmanager
def open_database(url: str, create: bool = True, migrate: bool = True) -> Iterator[Database]:
    """The database named by a checkpoint URL, its tables brought to the current schema version
    (`core/migrations.py`; `migrate=False` leaves them as they are). `create=False`: a missing
    SQLite file is an error, never a new database."""
    if is_postgres(url):
        with connect_postgres(url) as pg_conn:
            db = Database(pg_conn, "%s")
            if migrate:
                migrate_tables(db)
            yield db
        return
    conn = connect_sqlite(url, create=create)
    try:
        db = Database(conn, "?")
        if migrate:
            migrate_tables(db)
        yield db
    finally:
        conn.close()
