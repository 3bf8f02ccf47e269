"""The ledger: one tamper-evident event log, a journal for the update in flight, and a lock.

``events`` holds every recorded event of every kind (updates now), in one global order, and
is never changed afterwards (triggers refuse UPDATE and DELETE). Each row joins a hash chain:

    hash[n] = sha256(hash[n-1], a line break, canonical JSON of {seq, kind, body})

with ``hash[0]`` = 64 zeros and canonical JSON = sorted keys, no spaces, UTF-8. ``journal``
holds the update in flight: the files it is about to create, with their sha256, and its
staged run. The journal row is written before those files and removed in the transaction
that appends the update's event, so after a crash a journal row means "roll these files
back". ``PRAGMA user_version`` is the schema version; see ``docs/updates.md``.
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

from forecast.errors import LEDGER_FILE, LedgerError
from forecast.spec.layout import RESULTS_DIR, RUNS_DIR, Layout, display_path

#: The schema this code writes. 0: ``updates`` table (forecast 0.2); 1: ``events`` hash chain.
SCHEMA_VERSION = 1
#: The hash before the first event.
GENESIS = "0" * 64

_EVENTS = (
    """CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    )""",
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END""",
)
_JOURNAL = """CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    files TEXT NOT NULL,
    results_run TEXT
)"""
#: Columns of schema 0's ``updates`` table, in order.
_V0_COLUMNS = (
    "id", "time", "model", "source_file", "source_sha256", "stored_files", "items", "before",
    "after", "spec_before", "spec_after", "seed", "versions", "results_run",
)  # fmt: skip
_V0_JSON = ("stored_files", "items", "before", "after", "versions")


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def canonical_json(value: Any) -> str:
    """The one JSON form hashed: sorted keys, no spaces, non-ASCII kept (hashed as UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, seq: int, kind: str, body: dict[str, Any]) -> str:
    """The hash of one event, given the hash of the event before it."""
    row = canonical_json({"seq": seq, "kind": kind, "body": body})
    return hashlib.sha256(f"{prev_hash}\n{row}".encode()).hexdigest()


@dataclass(frozen=True)
class Event:
    """One row of the event log."""

    seq: int
    kind: str
    body: dict[str, Any]
    prev_hash: str
    hash: str


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
    judged_by: str | None = None
    #: The update report's text as printed (None for updates recorded before 0.5).
    report: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any], where: str, display: str) -> UpdateRecord:
        """An update event's body as a record; a located error if a field is missing."""
        try:
            return cls(**{name: body[name] for name in cls.__dataclass_fields__ if name in body})
        except TypeError as exc:
            raise LedgerError(display, f"{where}: not an update record ({exc})") from None


def update_records(events: list[Event], display: str = LEDGER_FILE) -> list[UpdateRecord]:
    """The update events among ``events`` as records, oldest first."""
    return [
        UpdateRecord.from_body(e.body, f"event {e.seq}", display)
        for e in events
        if e.kind == "update"
    ]


class Ledger:
    """The project's ledger file; open it with :meth:`open` (write) or :meth:`read`."""

    def __init__(self, path: Path, *, read_only: bool):
        self.path = path
        self.display = display_path(path)
        self.read_only = read_only
        try:
            if read_only:
                uri = f"{path.absolute().as_uri()}?mode=ro"
                self.connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
            else:
                self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.version = self._version()
        except sqlite3.Error as exc:
            self.close()
            raise LedgerError(self.display, f"cannot open the ledger ({exc})") from None

    def close(self) -> None:
        """Close the connection (safe to call twice)."""
        connection = getattr(self, "connection", None)
        if connection is not None:
            connection.close()
            self.connection = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, layout: Layout) -> Iterator[Ledger]:
        """Open ``ledger.sqlite`` to write, creating it or migrating it to this schema.

        Writers hold the project lock, so a migration never races another command.
        """
        ledger = cls(layout.ledger, read_only=False)
        try:
            ledger._prepare_for_writing()
            yield ledger
        finally:
            ledger.close()

    @classmethod
    @contextlib.contextmanager
    def read(cls, layout: Layout) -> Iterator[Ledger]:
        """Open an existing ledger read-only: it is never created, migrated or changed."""
        ledger = cls(layout.ledger, read_only=True)
        try:
            ledger._refuse_newer()
            yield ledger
        finally:
            ledger.close()

    # -- schema --

    def _version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def _tables(self) -> set[str]:
        rows = self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}

    def _refuse_newer(self) -> None:
        if self.version > SCHEMA_VERSION:
            raise LedgerError(
                self.display,
                f"written by a newer forecast, schema {self.version} (this one reads up to "
                f"{SCHEMA_VERSION}); upgrade forecast",
            )

    def _prepare_for_writing(self) -> None:
        self._refuse_newer()
        if self.version == SCHEMA_VERSION:
            return
        with self.transaction() as db:
            tables = self._tables()
            if "updates" in tables:
                self._migrate_from_0(db)
            elif "events" not in tables:
                for statement in _EVENTS:
                    db.execute(statement)
            db.execute(_JOURNAL)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.version = SCHEMA_VERSION

    def _migrate_from_0(self, db: sqlite3.Connection) -> None:
        """Schema 0 to 1: every ``updates`` row becomes an update event of the chain."""
        bodies = self._v0_bodies()
        for statement in _EVENTS:
            db.execute(statement)
        prev = GENESIS
        for seq, body in enumerate(bodies, start=1):
            body["results_run"] = _relative_run(body["results_run"])
            body["judged_by"] = _judged_by(self.path.parent, body["stored_files"])
            prev = self._insert(db, seq, "update", body, prev)
        db.execute("DROP TABLE updates")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate write transaction, committed on success and rolled back on error."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
            self.connection.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (a full disk, say) may already have ended the transaction; its
            # own error is the one to report, not "cannot rollback".
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")
            raise

    # -- journal --

    def begin(self, files: list[dict[str, str]], results_run: str | None) -> None:
        """Record the files an update is about to create, before creating any of them."""
        with self.transaction() as db:
            if db.execute("SELECT COUNT(*) FROM journal").fetchone()[0]:
                raise LedgerError(self.display, "an unfinished update is in the journal")
            db.execute(
                "INSERT INTO journal (id, started, files, results_run) VALUES (1, ?, ?, ?)",
                (now(), json.dumps(files), results_run),
            )

    def pending(self) -> dict[str, Any] | None:
        """The journal's in-flight update, if a crash left one (its paths not yet checked)."""
        if "journal" not in self._tables():
            return None
        row = self.connection.execute("SELECT files, results_run FROM journal").fetchone()
        if row is None:
            return None
        files = _json(self.display, "journal: files", row[0])
        entries_ok = isinstance(files, list) and all(
            isinstance(f, dict)
            and isinstance(f.get("path"), str)
            and isinstance(f.get("sha256"), str)
            for f in files
        )
        if not entries_ok:
            raise LedgerError(self.display, "journal: files is not a list of {path, sha256}")
        if row[1] is not None and not isinstance(row[1], str):
            raise LedgerError(self.display, "journal: results_run is not a path")
        return {"files": files, "results_run": row[1]}

    def abandon(self) -> None:
        """Forget the in-flight update (after its files were removed)."""
        with self.transaction() as db:
            db.execute("DELETE FROM journal")

    # -- the event log --

    def _insert(self, db: sqlite3.Connection, seq: int, kind: str, body: dict, prev: str) -> str:
        digest = chain_hash(prev, seq, kind, body)
        db.execute(
            "INSERT INTO events (seq, kind, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?)",
            (seq, kind, canonical_json(body), prev, digest),
        )
        return digest

    def _append(self, db: sqlite3.Connection, kind: str, body: dict[str, Any]) -> int:
        last = db.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        self._insert(db, seq, kind, body, prev)
        return seq

    def commit(
        self, record: dict[str, Any], extra: tuple[tuple[str, dict[str, Any]], ...] = ()
    ) -> int:
        """Append the update's event and clear the journal in one transaction; return its id.

        ``extra`` events (a resolution entering as evidence) join the same transaction.
        """
        with self.transaction() as db:
            update_id = self._count(db, "update") + 1
            self._append(db, "update", {**record, "id": update_id})
            for kind, body in extra:
                self._append(db, kind, body)
            db.execute("DELETE FROM journal")
        return update_id

    def append(self, kind: str, bodies: list[dict[str, Any]]) -> None:
        """Append events of one kind (forecasts, a resolution) in one transaction."""
        with self.transaction() as db:
            for body in bodies:
                self._append(db, kind, body)

    @staticmethod
    def _count(db: sqlite3.Connection, kind: str) -> int:
        return int(db.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0])

    def events(self) -> list[Event]:
        """Every event, in order (schema 0 is read as its update events, unhashed)."""
        if self.version == 0:
            return [Event(i, "update", body, "", "") for i, body in enumerate(self._v0_bodies(), 1)]
        rows = self.connection.execute(
            "SELECT seq, kind, body, prev_hash, hash FROM events ORDER BY seq"
        ).fetchall()
        return [
            Event(seq, kind, _json(self.display, f"event {seq}: body", body), prev, digest)
            for seq, kind, body, prev, digest in rows
        ]

    def _v0_bodies(self) -> list[dict[str, Any]]:
        if "updates" not in self._tables():
            return []
        rows = self.connection.execute(
            f"SELECT {', '.join(_V0_COLUMNS)} FROM updates ORDER BY id"
        ).fetchall()
        bodies = []
        for row in rows:
            body = dict(zip(_V0_COLUMNS, row, strict=True))
            for name in _V0_JSON:
                body[name] = _json(self.display, f"updates row {body['id']}: {name}", body[name])
            bodies.append(body)
        return bodies

    def updates(self) -> list[UpdateRecord]:
        """Every committed update, oldest first."""
        return update_records(self.events(), self.display)

    def last_update_id(self) -> int:
        """The id of the newest committed update (0 when there is none)."""
        return self._count(self.connection, "update") if self.version else len(self._v0_bodies())

    def is_empty(self) -> bool:
        """Whether the ledger holds no row at all (no event, nothing in the journal)."""
        return not self.events() and self.pending() is None

    def chain_problems(self) -> list[str]:
        """Every break in the hash chain: an edited, inserted, removed or reordered event."""
        if self.version == 0:
            return []
        problems = []
        prev = GENESIS
        rows = self.connection.execute(
            "SELECT seq, kind, body, prev_hash, hash FROM events ORDER BY seq"
        ).fetchall()
        for expected_seq, (seq, kind, body, prev_hash, digest) in enumerate(rows, start=1):
            if seq != expected_seq:
                problems.append(f"event {seq}: expected event {expected_seq} here (one is missing)")
            if prev_hash != prev:
                problems.append(f"event {seq}: does not follow the event before it")
            try:
                recomputed = chain_hash(prev_hash, seq, kind, json.loads(body))
            except ValueError:
                recomputed = ""
            if recomputed != digest or canonical_json(json.loads(body or "null")) != body:
                problems.append(f"event {seq}: its content does not match its hash (edited)")
            prev = digest
        return problems

    def head(self) -> tuple[int, str]:
        """The last event's number and hash: keep it to detect a rewritten log later."""
        if self.version == 0:
            return 0, GENESIS
        row = self.connection.execute(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)


def _relative_run(path: Any) -> Any:
    """A 0.2 run path (absolute) as the project-relative path schema 1 stores."""
    if isinstance(path, str) and os.path.isabs(path) and Path(path).parent.name == RUNS_DIR:
        return f"{RESULTS_DIR}/{RUNS_DIR}/{Path(path).name}"
    return path


def _judged_by(root: Path, stored_files: Any) -> str | None:
    """Who judged a 0.2 update: the ``judged_by`` of the evidence file it stored, if readable."""
    import yaml

    for entry in stored_files if isinstance(stored_files, list) else []:
        path = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        if path.startswith("evidence/") and ".." not in Path(path).parts:
            with contextlib.suppress(OSError, yaml.YAMLError, UnicodeDecodeError):
                data = yaml.safe_load((root / path).read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("judged_by"), str):
                    return data["judged_by"]
    return None


def _json(display: str, where: str, text: Any) -> Any:
    """A JSON column's value; a located error, not a traceback, when it is not JSON."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise LedgerError(display, f"{where} is not valid JSON ({exc})") from None


def now() -> str:
    """The wall-clock time of a record, UTC, to the second."""
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
