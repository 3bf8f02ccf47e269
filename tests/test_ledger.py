"""The event log: a hash chain, migrated from 0.2's ledger, verified, read without writing."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest

from conftest import FIXTURES, tree_hash
from forecast import LedgerError, Project
from forecast.spec.layout import Layout
from forecast.store.ledger import GENESIS, SCHEMA_VERSION, Ledger, canonical_json, chain_hash

LEGACY = FIXTURES / "ledger-v0"


@pytest.fixture
def legacy(tmp_path, monkeypatch):
    """A copy of a project whose ledger 0.2.0 wrote (schema 0, absolute run paths)."""
    root = tmp_path / "legacy"
    shutil.copytree(LEGACY, root)
    monkeypatch.chdir(root)
    return root


def schema_of(root) -> int:
    with sqlite3.connect(root / "ledger.sqlite") as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_read_only_commands_read_a_legacy_ledger_without_migrating_it(legacy, cli):
    before = tree_hash(legacy)
    history = cli("history", "--format", "json")
    assert history.exit_code == 0, history.stderr
    updates = json.loads(history.stdout)["updates"]
    assert [u["id"] for u in updates] == [1, 2]
    assert updates[0]["source_file"] == "incoming/gale.yaml"
    assert cli("check").exit_code == 0
    verify = cli("history", "--verify")
    assert verify.exit_code == 0, verify.stdout
    assert "The ledger is schema 0: not yet a hash chain." in verify.stdout
    assert tree_hash(legacy) == before
    assert schema_of(legacy) == 0


def test_a_writer_migrates_the_legacy_ledger_to_the_chain(legacy, cli):
    with sqlite3.connect(legacy / "ledger.sqlite") as db:
        old_rows = db.execute(
            "SELECT id, model, source_sha256, stored_files FROM updates"
        ).fetchall()
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert schema_of(legacy) == SCHEMA_VERSION
    with Ledger.read(Layout(legacy)) as ledger:
        events = ledger.events()
        updates = ledger.updates()
        assert ledger.chain_problems() == []
    assert [(e.seq, e.kind) for e in events] == [(1, "update"), (2, "update")]
    assert [(u.id, u.model, u.source_sha256, json.dumps(u.stored_files)) for u in updates] == [
        (i, m, s, f) for i, m, s, f in old_rows
    ]
    # Run paths become project-relative; judged_by is read from the stored evidence copies.
    assert all(u.results_run.startswith("results/.runs/mini@") for u in updates)
    assert [u.judged_by for u in updates] == ["Test analyst", "Second analyst"]
    prev = GENESIS
    for event in events:
        assert event.prev_hash == prev
        assert event.hash == chain_hash(prev, event.seq, event.kind, event.body)
        prev = event.hash
    verify = cli("history", "--verify")
    assert verify.exit_code == 0, verify.stdout
    assert verify.stdout.splitlines()[-1] == (
        f"OK: the log, its files and the journal agree. Head: event 2, {prev} "
        "(keep it to detect a rewritten log later)."
    )


def test_a_ledger_from_a_newer_forecast_is_refused_by_every_command(legacy, cli):
    with sqlite3.connect(legacy / "ledger.sqlite") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = tree_hash(legacy)
    for command in (["history"], ["fit", "--method", "exact", "--no-plots"]):
        result = cli(*command)
        assert result.exit_code == 1
        assert result.stderr == (
            f"Error: ledger.sqlite: written by a newer forecast, schema {SCHEMA_VERSION + 1} "
            f"(this one reads up to {SCHEMA_VERSION}); upgrade forecast\n"
        )
    assert tree_hash(legacy) == before


def test_history_and_check_never_create_a_ledger(mini_project, cli):
    assert cli("history").exit_code == 0
    assert cli("history", "--verify").exit_code == 0
    assert cli("check").exit_code == 0
    assert not (mini_project / "ledger.sqlite").exists()


@pytest.mark.slow
def test_each_update_records_who_judged_it_and_joins_the_chain(exact_project):
    project = Project.open(exact_project)
    project.update("incoming/gale.yaml", plots=False)
    project.update("incoming/union.yaml", plots=False)
    with Ledger.read(Layout(exact_project)) as ledger:
        events = ledger.events()
    assert [e.body["judged_by"] for e in events] == ["Test analyst", "Second analyst"]
    assert [e.body["id"] for e in events] == [1, 2]
    assert events[1].prev_hash == events[0].hash
    raw = (
        sqlite3.connect(exact_project / "ledger.sqlite")
        .execute("SELECT body FROM events")
        .fetchall()
    )
    assert [r[0] for r in raw] == [canonical_json(e.body) for e in events]


def tamper(root, sql, *args):
    with sqlite3.connect(root / "ledger.sqlite") as db:
        db.execute("DROP TRIGGER events_no_update")
        db.execute(sql, args)


def test_a_tampered_event_is_reported_by_verify_and_by_check(exact_project, cli):
    Project.open(exact_project).update("incoming/gale.yaml", plots=False)
    with sqlite3.connect(exact_project / "ledger.sqlite") as db:
        body = json.loads(db.execute("SELECT body FROM events WHERE seq = 1").fetchone()[0])
    body["after"]["storm"]["mean"] = 0.99
    tamper(exact_project, "UPDATE events SET body = ? WHERE seq = 1", canonical_json(body))
    verify = cli("history", "--verify")
    assert verify.exit_code == 2
    assert verify.stdout.splitlines()[0] == (
        "MISMATCH: event 1: its content does not match its hash (edited)"
    )
    check = cli("check")
    assert check.exit_code == 0
    assert (
        "  warning: ledger.sqlite: event 1: its content does not match its hash (edited) "
        "(see forecast history --verify)"
    ) in check.stdout


def test_a_rewritten_chain_is_caught_by_the_kept_head(exact_project, cli):
    """Recomputing every hash passes the chain check; only the head kept elsewhere tells."""
    Project.open(exact_project).update("incoming/gale.yaml", plots=False)
    kept = Project.open(exact_project).verify().head
    with sqlite3.connect(exact_project / "ledger.sqlite") as db:
        body = json.loads(db.execute("SELECT body FROM events WHERE seq = 1").fetchone()[0])
    body["judged_by"] = "Someone else"
    forged = chain_hash(GENESIS, 1, "update", body)
    tamper(
        exact_project, "UPDATE events SET body = ?, hash = ? WHERE seq = 1",
        canonical_json(body), forged,
    )  # fmt: skip
    report = Project.open(exact_project).verify()
    assert report.ok and report.head != kept


def test_a_changed_or_missing_stored_file_is_reported(exact_project, cli):
    Project.open(exact_project).update("incoming/gale.yaml", plots=False)
    stored = next((exact_project / "evidence").glob("*-gale.yaml"))
    stored.write_text(stored.read_text() + "# edited\n")
    (exact_project / "seeds" / "harbour-log.txt").unlink()
    verify = cli("history", "--verify")
    assert verify.exit_code == 2
    lines = verify.stdout.splitlines()
    assert lines[:2] == [
        "MISMATCH: update 1: stored file 'seeds/harbour-log.txt' is missing",
        f"MISMATCH: update 1: stored file 'evidence/{stored.name}' was changed since it was stored",
    ]
    assert lines[2] == (
        "Not covered by the log (never stored by an update): evidence/harbour.yaml, "
        "evidence/mini.yaml, evidence/port.yaml, seeds/copy.txt, seeds/notice.txt, "
        "seeds/report.txt"
    )
    assert lines[-1].startswith("2 mismatches found. Head: event 1, ")


def test_a_pending_journal_row_is_reported_by_verify(exact_project, cli):
    with Ledger.open(Layout(exact_project)) as ledger:
        ledger.begin([{"path": "evidence/x.yaml", "sha256": hashlib.sha256(b"").hexdigest()}], None)
    verify = cli("history", "--verify", "--format", "json")
    assert verify.exit_code == 2
    assert json.loads(verify.stdout)["mismatches"] == [
        "journal: an update was interrupted; the next fit or update rolls it back"
    ]


def test_the_log_cannot_be_changed_through_sqlite_without_dropping_its_triggers(exact_project):
    Project.open(exact_project).update("incoming/gale.yaml", plots=False)
    with sqlite3.connect(exact_project / "ledger.sqlite") as db:
        for sql in ("UPDATE events SET kind = 'x'", "DELETE FROM events"):
            with pytest.raises(sqlite3.IntegrityError, match="the ledger is append-only"):
                db.execute(sql)


def test_an_event_with_invalid_json_is_a_one_line_error(exact_project, cli):
    Project.open(exact_project).update("incoming/gale.yaml", plots=False)
    tamper(exact_project, "UPDATE events SET body = '{oops' WHERE seq = 1")
    result = cli("history")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ledger.sqlite: event 1: body is not valid JSON (")
    with pytest.raises(LedgerError):
        Project.open(exact_project).history()
