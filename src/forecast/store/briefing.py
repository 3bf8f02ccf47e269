"""Write a briefing folder atomically: staged in full, then published by one rename.

``briefings/<model>`` is a link to ``briefings/.runs/<run>``, as ``results/<model>`` is for a
fit (``store/results.py``): a reader sees the old briefing or the new one, never a mixture.
``--out DIR`` writes a new folder instead: staged beside it and renamed into place, so DIR
must not exist yet or be an empty folder; nothing already there is replaced or removed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from forecast.errors import UsageError
from forecast.spec.layout import Layout, display_path, temporary_name
from forecast.store.results import new_run, publish_run


def publish_briefing(layout: Layout, name: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` into a new run of ``briefings/<name>`` and publish it; return the link."""
    run = new_run(layout, layout.briefing_runs, name)
    try:
        _write_all(run, files)
        return publish_run(layout.briefings / name, run)
    except BaseException:
        link = layout.briefings / name
        if not (link.is_symlink() and link.resolve() == run.resolve()):
            shutil.rmtree(run, ignore_errors=True)
        raise


def write_briefing_to(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` into ``folder``, which must be new or empty: staged, then renamed."""
    folder = Path(folder).absolute()
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise UsageError(f"--out: {display_path(folder)} is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(
            f"--out: {display_path(folder)} is not empty; give a new folder (nothing is replaced)"
        )
    if not folder.parent.is_dir():
        raise UsageError(f"--out: {display_path(folder.parent)} does not exist")
    staged = temporary_name(folder)
    try:
        staged.mkdir()
    except FileExistsError:
        raise UsageError(f"--out: {display_path(staged)} is in the way; remove it") from None
    try:
        _write_all(staged, files)
        os.rename(staged, folder)  # onto a missing or empty folder: atomic
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return folder


def _write_all(folder: Path, files: dict[str, bytes]) -> None:
    for name, content in files.items():
        with open(folder / name, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
