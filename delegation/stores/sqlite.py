"""SQLite store: one file, WAL, safe for several threads and processes at once.

``first_use`` is one statement (insert, or take over an expired row), so two processes
racing the same proof cannot both win.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable

from ..errors import StoreUnavailable
from .base import KVStore, check_text

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, until REAL,
    PRIMARY KEY (ns, key));
CREATE INDEX IF NOT EXISTS kv_until ON kv (until);
"""


class SQLiteStore(KVStore):
    """Every namespace in one table of one SQLite file.

    >>> import tempfile, os
    >>> s = SQLiteStore(os.path.join(tempfile.mkdtemp(), "s.sqlite"))
    >>> s.revoke("task", "T-1"); s.first_revoked([("task", "T-1")], now=0)
    ('task', 'T-1')
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._writes = 0
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            # Written once, on a new file only: opening an existing store changes nothing.
            if self._db.execute("PRAGMA user_version").fetchone()[0] == 0:
                self._db.execute("PRAGMA user_version = 1")
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
        except UnicodeEncodeError:  # an unpaired surrogate in a key: the caller's input
            check_text(*(p for p in params if isinstance(p, str)))
            raise

    def _sweep(self, now: float) -> None:
        self._writes += 1
        if self._writes % 256 == 0:  # now and then, without a timer thread
            self._run("DELETE FROM kv WHERE until IS NOT NULL AND until <= ?", (now,))

    def first_use(self, key: str, *, expires_at: float, now: float) -> bool:
        cur = self._run(
            "INSERT INTO kv (ns, key, value, until) VALUES ('use', ?, '', ?) "
            "ON CONFLICT (ns, key) DO UPDATE SET until = excluded.until "
            "WHERE kv.until IS NOT NULL AND kv.until <= ?",
            (key, expires_at, now),
        )
        self._sweep(now)
        return cur.rowcount == 1

    def put(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        self._run(
            "INSERT INTO kv (ns, key, value, until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, until = excluded.until",
            (ns, key, value, until),
        )
        self._sweep(now)

    def lengthen(self, ns: str, key: str, value: str, *, until: float | None, now: float) -> None:
        # One statement: the row is replaced only if it has lapsed or the new expiry is later.
        self._run(
            "INSERT INTO kv (ns, key, value, until) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, until = excluded.until "
            "WHERE kv.until IS NOT NULL AND (kv.until <= ? OR excluded.until IS NULL "
            "OR excluded.until > kv.until)",
            (ns, key, value, until, now),
        )
        self._sweep(now)

    def get_many(self, ns: str, keys: Iterable[str], *, now: float) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._run(
            f"SELECT key, value FROM kv WHERE ns = ? AND key IN ({marks}) "  # noqa: S608 - placeholders
            "AND (until IS NULL OR until > ?)",
            (ns, *wanted, now),
        ).fetchall()
        return {k: v for k, v in rows}
