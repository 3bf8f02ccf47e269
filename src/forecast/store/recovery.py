"""Finish or undo what an interrupted command left, driven by the journal and the ledger alone.

Every command that writes (``fit``, ``update``) calls :func:`recover` first, under the project
lock. It acts only on paths inside the folders forecast manages (``spec/layout.py``): a
ledger row that names anything else is refused before anything is touched. Recovery is
idempotent: interrupted itself, it is simply run again by the next command.
"""

from __future__ import annotations

import glob
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from forecast.errors import LedgerError, UnsafePathError
from forecast.spec.layout import MODEL_ID, RUN_FOLDER, TEMPORARY, Layout, display_path
from forecast.store.ledger import Ledger, sha256_file
from forecast.store.results import points_to, publish_run


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, so that lines which must not be split are not.

    Only in the main thread (Python delivers signals there alone); elsewhere the block runs
    as it is. The previous handler is restored, and an interrupt that arrived is delivered
    when the block ends, unless the block is already ending with an exception.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    except BaseException:
        signal.signal(signal.SIGINT, previous)
        raise
    signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous):
            previous(signal.SIGINT, None)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


def recover(layout: Layout) -> list[str]:
    """Repair what an interrupted command left; return one line per action taken."""
    actions: list[str] = []
    with interrupts_deferred():
        if layout.ledger.exists():
            with Ledger.open(layout) as ledger:
                actions += undo_pending(layout, ledger)
                actions += publish_committed(layout, ledger)
                empty = ledger.is_empty()
            if empty:  # made by an update killed before it began: as if it had never been
                layout.ledger.unlink()
        removed = sweep_temporaries(layout)
    if removed:
        actions.append(f"removed {removed} temporary file(s) an interrupted command left")
    return actions


def undo_pending(layout: Layout, ledger: Ledger) -> list[str]:
    """Undo the update in flight that the journal records: remove what it created.

    That is each file it lists (and its temporary file, if the write was cut short) and its
    staged run; the journal row goes last, so an undo cut short is finished by the next one.

    Every path is checked before anything is removed. A file is removed only if it still
    holds the bytes the update wrote; if one was changed since, nothing is removed.
    """
    pending = ledger.pending()
    if pending is None:
        return []
    files = [
        (layout.managed(entry["path"], where=f"journal: files[{i}].path"), entry["sha256"])
        for i, entry in enumerate(pending["files"])
    ]
    run = None
    if pending["results_run"]:
        run = layout.run_folder(pending["results_run"], where="journal: results_run")
    changed = [
        display_path(path)
        for path, sha256 in files
        if path.is_symlink()
        or (path.exists() and (not path.is_file() or sha256_file(path) != sha256))
    ]
    if changed:
        raise LedgerError(
            display_path(ledger.path),
            "journal: files of the unfinished update were changed since it was interrupted: "
            f"{', '.join(changed)}; nothing was removed",
        )
    for path, _ in files:
        path.unlink(missing_ok=True)
        for temporary in path.parent.glob(f".{glob.escape(path.name)}.tmp-*"):
            if TEMPORARY.match(temporary.name):
                temporary.unlink(missing_ok=True)
    if run is not None and run.is_dir() and not run.is_symlink():
        shutil.rmtree(run)
    ledger.abandon()
    return ["rolled back an unfinished update"]


def publish_committed(layout: Layout, ledger: Ledger) -> list[str]:
    """Publish the last committed update's results if an interrupt kept them unpublished."""
    updates = ledger.updates()
    if not updates or not updates[-1].results_run:
        return []
    last = updates[-1]
    if not isinstance(last.model, str) or not MODEL_ID.match(last.model):
        raise UnsafePathError(f"updates row {last.id}: model", str(last.model), "is not a model id")
    run = layout.run_folder(last.results_run, where=f"updates row {last.id}: results_run")
    link = layout.results / last.model
    if not run.is_dir() or points_to(link, run):
        return []
    publish_run(link, run)
    return [f"published the results of update {last.id}"]


def sweep_temporaries(layout: Layout) -> int:
    """Remove temporary files and unpublished run folders; return how many were removed.

    Run under the project lock, so no other command is writing them.
    """
    removed = 0
    for folder in (layout.evidence, layout.seeds, layout.results, layout.briefings):
        if not folder.is_dir() or folder.is_symlink():  # a managed folder is never a link
            continue
        for entry in folder.iterdir():
            if TEMPORARY.match(entry.name) and (entry.is_symlink() or entry.is_file()):
                entry.unlink()
                removed += 1
    for published, runs in (
        (layout.results, layout.runs),
        (layout.briefings, layout.briefing_runs),
    ):
        if not runs.is_dir() or runs.is_symlink() or published.is_symlink():
            continue
        live = {link.resolve() for link in published.iterdir() if link.is_symlink()}
        for run in runs.iterdir():
            unpublished = run.is_dir() and not run.is_symlink() and run.resolve() not in live
            if RUN_FOLDER.match(run.name) and unpublished:
                shutil.rmtree(run)
                removed += 1
    return removed


def settle(layout: Layout, updates_before: int, ledger_was_new: bool) -> int | None:
    """After an update failed or was interrupted: what is true, with the in-flight part undone.

    Decided from the ledger alone: a new update row means the update was committed (its
    results may still need publishing) and its id is returned. Otherwise the journal's files
    are removed, a ledger the update created is removed too, and None is returned.
    """
    with interrupts_deferred():
        if not layout.ledger.exists():
            return None
        with Ledger.open(layout) as ledger:
            last = ledger.last_update_id()
            if last > updates_before:
                return last
            undo_pending(layout, ledger)
        if ledger_was_new:
            layout.ledger.unlink(missing_ok=True)
        return None
