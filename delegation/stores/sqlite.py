"""SQLite store: one file, WAL, safe for several threads and processes at once.

The replay check is one statement (insert, or take over an expired row), so two
processes racing the same proof cannot both win.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import TYPE_CHECKING

from ..errors import StoreUnavailable

if TYPE_CHECKING:
    from . import RevocationKind

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS revocations (
    kind TEXT NOT NULL, value TEXT NOT NULL, until REAL, PRIMARY KEY (kind, value));
CREATE TABLE IF NOT EXISTS replay (jti TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS replay_expiry ON replay (expires_at);
"""


class SQLiteStore:
    """Revocations and replay cache in one SQLite file.

    >>> import tempfile, os
    >>> s = SQLiteStore(os.path.join(tempfile.mkdtemp(), "s.sqlite"))
    >>> s.revoke("task", "T-1"); s.first_revoked([("task", "T-1")], now=0)
    ('task', 'T-1')
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._inserts = 0
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from None

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            with self._lock:
                return self._db.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store {self.path} failed: {exc}") from None

    def revoke(self, kind: RevocationKind, value: str, *, until: float | None = None) -> None:
        self._run(
            "INSERT INTO revocations (kind, value, until) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, value) DO UPDATE SET until = excluded.until",
            (kind, value, until),
        )

    def first_revoked(
        self, items: list[tuple[RevocationKind, str]], now: float
    ) -> tuple[RevocationKind, str] | None:
        if not items:
            return None
        clause = " OR ".join("(kind = ? AND value = ?)" for _ in items)
        params: list[object] = [x for item in items for x in item]
        rows = self._run(
            f"SELECT kind, value FROM revocations WHERE ({clause}) "  # noqa: S608 - placeholders only
            "AND (until IS NULL OR until > ?)",
            (*params, now),
        ).fetchall()
        hits = {(k, v) for k, v in rows}
        return next((item for item in items if item in hits), None)

    def first_use(self, jti: str, *, expires_at: float, now: float) -> bool:
        cur = self._run(
            "INSERT INTO replay (jti, expires_at) VALUES (?, ?) "
            "ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at "
            "WHERE replay.expires_at <= ?",
            (jti, expires_at, now),
        )
        first = cur.rowcount == 1
        self._inserts += 1
        if self._inserts % 256 == 0:  # sweep now and then, without a timer thread
            self._run("DELETE FROM replay WHERE expires_at <= ?", (now,))
        return first
