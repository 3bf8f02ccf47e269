"""Containment: whatever the ledger says, nothing outside the managed folders is touched."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3

import pytest

from conftest import tree_hash
from forecast.spec.layout import Layout
from forecast.store.ledger import Ledger

REFUSED = (
    "Error: ledger.sqlite: {where}: {path!r} {why}; refused, nothing was changed. Inspect the "
    'row with: sqlite3 ledger.sqlite "SELECT * FROM journal; SELECT * FROM events"\n'
)


@pytest.fixture
def victims(tmp_path):
    """A folder and a file outside the project, which nothing may delete."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    return folder


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def journal(root, files, results_run=None):
    """Write a journal row as a crafted or pulled ledger would hold it."""
    with Ledger.open(Layout(root)):
        pass
    with sqlite3.connect(root / "ledger.sqlite") as db:
        db.execute(
            "INSERT INTO journal (id, started, files, results_run) VALUES (1, 'x', ?, ?)",
            (files if isinstance(files, str) else json.dumps(files), results_run),
        )


def update_row(root, model="mini", results_run=None):
    with Ledger.open(Layout(root)) as ledger:
        ledger.commit(
            {
                "time": "2025-01-01T00:00:00+00:00", "model": model, "source_file": "x.yaml",
                "source_sha256": "0" * 64, "stored_files": [], "items": {}, "before": {},
                "after": {}, "spec_before": "", "spec_after": "", "seed": 1, "versions": {},
                "results_run": results_run,
            }
        )  # fmt: skip


def assert_refused(cli, root, where, path, why):
    before = tree_hash(root)
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 2, result.output
    assert result.stderr == REFUSED.format(where=where, path=path, why=why)
    assert tree_hash(root) == before


def test_journal_naming_a_folder_outside_the_project_deletes_nothing(mini_project, victims, cli):
    journal(mini_project, [], str(victims))
    assert_refused(
        cli, mini_project, "journal: results_run", str(victims), "lies outside the project"
    )
    assert (victims / "precious.txt").read_text() == "keep me"


def test_journal_naming_a_file_outside_the_project_deletes_nothing(mini_project, victims, cli):
    victim = victims / "precious.txt"
    relative = os.path.relpath(victim, mini_project)
    journal(mini_project, [{"path": relative, "sha256": sha256(victim)}])
    assert_refused(
        cli, mini_project, "journal: files[0].path", relative,
        "is not inside a folder forecast manages",
    )  # fmt: skip
    journal_absolute = [{"path": str(victim), "sha256": sha256(victim)}]
    with sqlite3.connect(mini_project / "ledger.sqlite") as db:
        db.execute("UPDATE journal SET files = ?", (json.dumps(journal_absolute),))
    assert_refused(
        cli, mini_project, "journal: files[0].path", str(victim), "lies outside the project"
    )
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("models/mini.yaml", "is not inside a folder forecast manages"),
        ("evidence", "is not inside a folder forecast manages"),
        ("seeds/../models/mini.yaml", "is not inside a folder forecast manages"),
        ("evidence/../seeds/report.txt", "is not inside a folder forecast manages"),
        ("ledger.sqlite", "is not inside a folder forecast manages"),
        ("", "is not inside a folder forecast manages"),
    ],
)
def test_journal_file_paths_outside_the_managed_folders_are_refused(mini_project, cli, path, why):
    target = mini_project / path
    digest = sha256(target) if target.is_file() else "0" * 64
    journal(
        mini_project,
        [{"path": "seeds/report.txt", "sha256": "0" * 64}, {"path": path, "sha256": digest}],
    )
    assert_refused(cli, mini_project, "journal: files[1].path", path, why)
    assert (mini_project / "seeds/report.txt").exists()


def test_a_link_inside_a_managed_folder_that_leads_outside_is_refused(mini_project, victims, cli):
    victim = victims / "precious.txt"
    (mini_project / "evidence" / "pointer.yaml").symlink_to(victim)
    journal(mini_project, [{"path": "evidence/pointer.yaml", "sha256": sha256(victim)}])
    assert_refused(
        cli, mini_project, "journal: files[0].path", "evidence/pointer.yaml",
        "is not inside a folder forecast manages",
    )  # fmt: skip
    assert victim.read_text() == "keep me"
    (mini_project / "seeds").rename(mini_project / "seeds-real")
    (mini_project / "seeds").symlink_to(victims)
    with sqlite3.connect(mini_project / "ledger.sqlite") as db:
        db.execute(
            "UPDATE journal SET files = ?",
            (json.dumps([{"path": "seeds/precious.txt", "sha256": sha256(victim)}]),),
        )
    # The folder itself is a link out of the project: what it holds is not the project's.
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 2
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize(
    ("run", "why"),
    [
        ("results/../models", "is not inside a folder forecast manages"),
        ("results", "is not inside a folder forecast manages"),
        ("results/.runs/not-a-run", "is not a run folder in results/.runs/"),
        ("results/mini", "is not a run folder in results/.runs/"),
        ("seeds", "is not inside a folder forecast manages"),
    ],
)
def test_journal_run_folders_that_are_not_run_folders_are_refused(mini_project, cli, run, why):
    (mini_project / "results" / ".runs" / "not-a-run").mkdir(parents=True)
    journal(mini_project, [], run)
    assert_refused(cli, mini_project, "journal: results_run", run, why)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            "{not json",
            "journal: files is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
        ),
        (
            json.dumps([{"path": 3, "sha256": "x"}]),
            "journal: files is not a list of {path, sha256}",
        ),
        (json.dumps({"path": "seeds/x"}), "journal: files is not a list of {path, sha256}"),
    ],
)
def test_malformed_journal_rows_are_one_line_errors(mini_project, cli, files, message):
    journal(mini_project, files)
    before = tree_hash(mini_project)
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 1
    assert result.stderr == f"Error: ledger.sqlite: {message}\n"
    assert tree_hash(mini_project) == before


def test_committed_row_naming_a_run_outside_the_project_is_refused(mini_project, victims, cli):
    update_row(mini_project, results_run=str(victims))
    assert_refused(
        cli, mini_project, "updates row 1: results_run", str(victims), "lies outside the project"
    )
    update_row(
        mini_project, model="../../outside", results_run="results/.runs/mini@20250101T000000-1"
    )
    assert_refused(cli, mini_project, "updates row 2: model", "../../outside", "is not a model id")


def test_a_copied_project_keeps_its_results_link_inside_itself(mini_project, tmp_path, cli):
    """A 0.2.0 ledger holds absolute run paths; a copy reads them by name, in the copy."""
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    run = (mini_project / "results" / "mini").resolve()
    original = tmp_path / "original-place"
    update_row(mini_project, results_run=str(original / "results" / ".runs" / run.name))
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    link = mini_project / "results" / "mini"
    assert link.resolve().is_relative_to(mini_project.resolve())
    assert not os.path.isabs(os.readlink(link))


def test_legacy_absolute_journal_paths_inside_the_root_are_read_as_relative(mini_project, cli):
    stray = mini_project / "evidence" / "2025-03-05-gale.yaml"
    stray.write_text("model: mini\n")
    journal(mini_project, [{"path": str(stray), "sha256": sha256(stray)}])
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert "Recovered: rolled back an unfinished update" in result.stdout
    assert not stray.exists()


def test_recovery_removes_temporary_files_and_unpublished_runs(mini_project, cli):
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    published = (mini_project / "results" / "mini").resolve()
    leftovers = [
        mini_project / "evidence" / ".2025-03-05-gale.yaml.tmp-4242",
        mini_project / "seeds" / ".harbour-log.txt.tmp-4242",
        mini_project / "results" / ".mini.tmp-4242",
    ]
    for path in leftovers:
        path.write_text("half written")
    orphan = mini_project / "results" / ".runs" / "mini@20250101T000000-4242"
    orphan.mkdir()
    (orphan / "summary.json").write_text("{}")
    keep = mini_project / "evidence" / "notes.tmp-4242"  # not the naming rule: left alone
    keep.write_text("mine")
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert "Recovered: removed 4 temporary file(s) an interrupted command left" in result.stdout
    assert not any(path.exists() for path in leftovers) and not orphan.exists()
    assert keep.read_text() == "mine"
    assert not published.exists()  # replaced by the new fit, as every publish does
    assert (mini_project / "results" / "mini" / "summary.json").is_file()


def test_ctrl_c_is_held_until_the_block_ends_and_the_handler_restored():
    import signal

    from forecast.store.recovery import interrupts_deferred

    # Python's own Ctrl-C handler, whatever this process inherited: a process started in the
    # background of a non-interactive shell begins with SIGINT ignored.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        reached_the_end = False
        with pytest.raises(KeyboardInterrupt), interrupts_deferred():
            signal.raise_signal(signal.SIGINT)
            reached_the_end = True  # the interrupt did not cut the block short
        assert reached_the_end
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_the_library_works_from_another_thread(mini_project):
    """Signals reach only the main thread: elsewhere nothing is deferred, and nothing breaks."""
    import threading

    from forecast import Project

    outcome = {}

    def work():
        try:
            report = Project.open(mini_project).fit(method="exact", plots=False)
            outcome["published"] = report.published
        except BaseException as exc:  # reported to the test below
            outcome["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    assert (outcome["published"] / "summary.json").is_file()


@pytest.mark.parametrize("folder", ["results", "briefings"])
def test_recovery_never_sweeps_through_a_managed_folder_that_is_a_link(
    mini_project, victims, cli, folder
):
    # Run-shaped and temporary-shaped entries outside, behind a managed folder turned link.
    (victims / ".runs" / "mini@20250101T000000-1").mkdir(parents=True)
    (victims / ".runs" / "mini@20250101T000000-1" / "kept.txt").write_text("keep me")
    (victims / ".notes.txt.tmp-1").write_text("keep me")
    (mini_project / folder).symlink_to(victims)
    before = tree_hash(victims)
    cli("fit", "--method", "exact", "--no-plots")
    assert tree_hash(victims) == before
