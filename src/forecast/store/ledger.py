"""The ledger: an append-only SQLite history of updates, a journal for in-flight ones, a lock.

``updates`` holds one row per committed update and is never changed afterwards (triggers
refuse UPDATE and DELETE). ``journal`` holds the update in flight: the files it is about to
create, with their sha256. The journal row is written before those files and removed in the
same transaction that appends the ``updates`` row. So after a crash, a journal row means
"roll these files back", and no journal row means the files on disk are the committed ones.
See ``docs/updates.md``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forecast.errors import LedgerError
from forecast.spec.layout import Layout, display_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    model TEXT NOT NULL,
    source_file TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    stored_files TEXT NOT NULL,
    items TEXT NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    spec_before TEXT NOT NULL,
    spec_after TEXT NOT NULL,
    seed INTEGER NOT NULL,
    versions TEXT NOT NULL,
    results_run TEXT
);
CREATE TRIGGER IF NOT EXISTS updates_no_update BEFORE UPDATE ON updates
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS updates_no_delete BEFORE DELETE ON updates
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    files TEXT NOT NULL,
    results_run TEXT
);
"""


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class UpdateRecord:
    """One committed update as the ledger holds it."""

    id: int
    time: str
    model: str
    source_file: str
    source_sha256: str
    stored_files: list[dict[str, str]]
    items: dict[str, list[str]]
    before: dict[str, Any]
    after: dict[str, Any]
    spec_before: str
    spec_after: str
    seed: int
    versions: dict[str, str]
    results_run: str | None


class Ledger:
    """The project's ledger file; open it with :meth:`open`."""

    def __init__(self, path: Path):
        self.path = path
        self.display = display_path(path)
        try:
            self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.connection.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(display_path(path), f"cannot open the ledger ({exc})") from None

    @classmethod
    @contextlib.contextmanager
    def open(cls, layout: Layout) -> Iterator[Ledger]:
        """Open (creating if needed) ``ledger.sqlite`` in the project root."""
        ledger = cls(layout.ledger)
        try:
            yield ledger
        finally:
            ledger.connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate write transaction, committed on success and rolled back on error."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    # -- journal --

    def begin(self, files: list[dict[str, str]], results_run: str | None) -> None:
        """Record the files an update is about to create, before creating any of them."""
        with self.transaction() as db:
            if db.execute("SELECT COUNT(*) FROM journal").fetchone()[0]:
                raise LedgerError(
                    display_path(self.path), "an unfinished update is in the journal; run recovery"
                )
            db.execute(
                "INSERT INTO journal (id, started, files, results_run) VALUES (1, ?, ?, ?)",
                (_now(), json.dumps(files), results_run),
            )

    def pending(self) -> dict[str, Any] | None:
        """The journal's in-flight update, if a crash left one (its paths not yet checked)."""
        row = self.connection.execute("SELECT files, results_run FROM journal").fetchone()
        if row is None:
            return None
        files = _json(self.path, "journal: files", row[0])
        entries_ok = isinstance(files, list) and all(
            isinstance(f, dict)
            and isinstance(f.get("path"), str)
            and isinstance(f.get("sha256"), str)
            for f in files
        )
        if not entries_ok:
            raise LedgerError(
                display_path(self.path), "journal: files is not a list of {path, sha256}"
            )
        if row[1] is not None and not isinstance(row[1], str):
            raise LedgerError(self.display, "journal: results_run is not a path")
        return {"files": files, "results_run": row[1]}

    def is_empty(self) -> bool:
        """Whether the ledger holds no row at all (no update, nothing in the journal)."""
        return not self.connection.execute(
            "SELECT EXISTS (SELECT 1 FROM updates) OR EXISTS (SELECT 1 FROM journal)"
        ).fetchone()[0]

    def last_update_id(self) -> int:
        """The id of the newest committed update (0 when there is none)."""
        return int(
            self.connection.execute("SELECT COALESCE(MAX(id), 0) FROM updates").fetchone()[0]
        )

    def abandon(self) -> None:
        """Forget the in-flight update (after its files were removed)."""
        with self.transaction() as db:
            db.execute("DELETE FROM journal")

    def commit(self, record: dict[str, Any]) -> int:
        """Append the update and clear the journal in one transaction; return the update id."""
        columns = [
            "time", "model", "source_file", "source_sha256", "stored_files", "items", "before",
            "after", "spec_before", "spec_after", "seed", "versions", "results_run",
        ]  # fmt: skip
        values = [
            json.dumps(record[c]) if isinstance(record[c], dict | list) else record[c]
            for c in columns
        ]
        with self.transaction() as db:
            cursor = db.execute(
                f"INSERT INTO updates ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})",
                values,
            )
            db.execute("DELETE FROM journal")
            return int(cursor.lastrowid or 0)

    # -- history --

    def updates(self) -> list[UpdateRecord]:
        """Every committed update, oldest first."""
        rows = self.connection.execute(
            "SELECT id, time, model, source_file, source_sha256, stored_files, items, before, "
            "after, spec_before, spec_after, seed, versions, results_run FROM updates ORDER BY id"
        ).fetchall()
        out = []
        for row in rows:
            values = list(row)
            for i in (5, 6, 7, 8, 12):
                values[i] = _json(self.path, f"updates row {row[0]}", values[i])
            out.append(UpdateRecord(*values))
        return out


def _json(path: Path, where: str, text: Any) -> Any:
    """A JSON column's value; a located error, not a traceback, when it is not JSON."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise LedgerError(display_path(path), f"{where} is not valid JSON ({exc})") from None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextlib.contextmanager
def project_lock(root: Path, timeout: float) -> Iterator[None]:
    """Hold the project's write lock, waiting up to ``timeout`` seconds for it.

    The lock is an ``flock`` on the project folder itself, so taking it creates no file, and
    the kernel releases it if the holder dies: a crash never leaves the project locked.
    """
    fd = os.open(root, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LedgerError(
                        root,
                        f"another update or fit is writing to this project; waited {timeout:g} s. "
                        "Try again when it has finished.",
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)
