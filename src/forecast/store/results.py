"""Write a fit's output folder atomically: staged in full, then published by one rename.

``results/<model>`` is a symbolic link to ``results/.runs/<run>``. A run is written completely
into its own folder; publishing replaces the link with ``os.replace``, which is atomic, so a
reader sees the old results or the new ones and never a mixture. A fit that fails or is
interrupted before publishing leaves the previous results untouched.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.errors import Interrupted, ResultsError, UsageError
from forecast.spec.layout import Layout, display_path, temporary_name

if TYPE_CHECKING:  # recovery imports this module, and needs none of the model's weight
    from forecast.model.sample import FitResult
    from forecast.report.posterior import FitReport


@dataclass
class StagedResults:
    """A complete results folder not yet published."""

    link: Path
    run_dir: Path

    def publish(self) -> Path:
        """Point ``results/<model>`` at this run (atomic) and remove runs no longer linked."""
        return publish_run(self.link, self.run_dir)

    def discard(self) -> None:
        """Remove the staged run; the published results stay as they were."""
        shutil.rmtree(self.run_dir, ignore_errors=True)


def publish_run(link: Path, run_dir: Path) -> Path:
    """Point ``link`` at ``run_dir`` with one atomic rename; remove the model's other runs."""
    if link.exists() and not link.is_symlink():
        raise ResultsError(f"{link} is not a link made by forecast; move it away first")
    tmp_link = temporary_name(link)
    tmp_link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(run_dir, link.parent), tmp_link)
    os.replace(tmp_link, link)
    for other in run_dir.parent.iterdir():
        if other != run_dir and other.name.startswith(f"{link.name}@"):
            shutil.rmtree(other, ignore_errors=True)
    return link


def publish_fit(staged: StagedResults) -> Path:
    """Publish a fit's staged run; if that fails or is interrupted, say what is true.

    The link is replaced by one rename, so either the new run is published or the old one
    still is. Only in the second case is the staged run removed.
    """
    try:
        return staged.publish()
    except BaseException as exc:
        if points_to(staged.link, staged.run_dir):
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("the new results were published") from None
            raise
        staged.discard()
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted("nothing was changed") from None
        raise


def points_to(link: Path, run_dir: Path) -> bool:
    """Whether ``link`` is a link to ``run_dir`` (both resolved)."""
    return link.is_symlink() and link.resolve() == run_dir.resolve()


def new_run(layout: Layout, runs: Path, name: str) -> Path:
    """A new, empty run folder ``<runs>/<name>@<time>-<pid>[-<n>]`` inside the project."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    layout.own_folder(runs).mkdir(parents=True, exist_ok=True)
    run_dir = runs / f"{name}@{stamp}-{os.getpid()}"
    for n in itertools.count(2):
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:  # a second run by this process within the same second
            run_dir = runs / f"{name}@{stamp}-{os.getpid()}-{n}"
    raise AssertionError("unreachable")


def stage_results(
    result: FitResult,
    layout: Layout,
    *,
    plots: bool = True,
    sensitivity: Any = None,
    report: FitReport | None = None,
) -> StagedResults:
    """Write every output file of a fit into a new run folder; publish nothing yet.

    With ``sensitivity`` (the fit's robustness), also ``sensitivity.csv`` and its summary.
    ``report``, the fit's report, brings its robustness, its analysts' pool and their
    disagreement (``judges.csv``) with it.
    """
    from forecast.report.posterior import FitReport

    report = report or FitReport(result, sensitivity=sensitivity)
    name = result.spec.name
    run_dir = new_run(layout, layout.runs, name)
    staged = StagedResults(layout.results / name, run_dir)
    try:
        _write_run(report, run_dir, plots=plots)
    except BaseException:
        staged.discard()
        raise
    return staged


def write_results(result: FitResult, layout: Layout, *, plots: bool = True) -> Path:
    """Stage and publish a fit's results; return the published folder."""
    return stage_results(result, layout, plots=plots).publish()


def _write_run(report: FitReport, run_dir: Path, *, plots: bool) -> None:
    from forecast.report.posterior import claim_table

    result = report.result
    if result.idata is not None:
        _ensure_room(run_dir, _netcdf_size(result.idata))
        result.idata.to_netcdf(str(run_dir / "posterior.nc"))
    report.table().to_csv(run_dir / "summary.csv", float_format="%.6g")
    report.sources().to_csv(run_dir / "sources.csv", float_format="%.6g")
    claim_table(result).to_csv(run_dir / "claims.csv", float_format="%.6g")
    if report.sensitivity is not None:
        table = report.sensitivity_report().table()
        table.to_csv(run_dir / "sensitivity.csv", float_format="%.6g")
    if report.judges is not None:
        report.judges.table().to_csv(run_dir / "judges.csv", float_format="%.6g")
    if report.questions is not None:
        report.questions.table().to_csv(run_dir / "questions.csv", float_format="%.6g")
    summary = report.to_dict()
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (run_dir / "report.txt").write_text(report.text() + "\n")
    if plots:
        from forecast.report.plots import write_plots

        write_plots(report, run_dir)


def _netcdf_size(idata: Any) -> int:
    """The bytes ``posterior.nc`` will need, about: the arrays it holds."""
    return sum(idata[group].nbytes for group in idata.groups())


def _ensure_room(folder: Path, needed: int) -> None:
    """Stop with ENOSPC before a write the disk cannot hold.

    HDF5 may abort the whole process when the disk fills in the middle of a write, so the
    room is checked first, with a margin for its own metadata.
    """
    margin = 2 * needed + 1_000_000
    free = shutil.disk_usage(folder).free
    if free < margin:
        raise OSError(
            errno.ENOSPC,
            f"{os.strerror(errno.ENOSPC)}: {margin} bytes needed for posterior.nc, {free} free",
            str(folder),
        )


def published_run(layout: Layout, name: str) -> Path | None:
    """The run folder ``results/<name>`` links to; None when nothing is published.

    The link is read, never followed blindly: its target must be one of this model's run
    folders in ``results/.runs/``, so a link pointing elsewhere raises
    :class:`~forecast.errors.UsageError` and nothing is written through it.
    """
    link = layout.own_folder(layout.results) / name
    if not link.is_symlink():
        if link.exists():
            raise ResultsError(f"{display_path(link)} is not a link made by forecast; move it away")
        return None
    run = link.resolve()
    if run.parent != layout.runs.resolve() or not run.name.startswith(f"{name}@"):
        raise UsageError(
            f"{display_path(link)} leads to {os.readlink(link)!r}, not to a run of {name} in "
            "results/.runs/; nothing is written through it: run forecast fit to publish anew"
        )
    return run if run.is_dir() else None


def load_summary(layout: Layout, name: str) -> dict[str, Any]:
    """The published summary.json of a model."""
    path = layout.results / name / "summary.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsError(
            f"{display_path(path)}: no published results; run `forecast fit` first"
        ) from None
