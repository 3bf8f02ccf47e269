"""The ``forecast`` command line: parse, call the library, print, map errors to exit codes.

Exit codes: 0 success, 1 a run-time failure, 2 invalid input, 3 diagnostics failed under
``--strict``, 130 interrupted. This is the only module that prints or exits; heavy libraries
(PyMC, ArviZ, matplotlib) are imported inside the commands that need them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from forecast.constants import DEFAULT_CHAINS, DEFAULT_DRAWS, DEFAULT_SEED, DEFAULT_TUNE
from forecast.errors import DiagnosticsError, ForecastError, SpecError

EXIT_FAILURE, EXIT_INVALID, EXIT_DIAGNOSTICS, EXIT_INTERRUPTED = 1, 2, 3, 130

app = typer.Typer(
    help="Rival hypotheses, quote-verified evidence and Bayesian posteriors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="Model spec (default: the only file in models/)."),
]


@app.callback()
def _root() -> None:
    """Rival hypotheses, quote-verified evidence and Bayesian posteriors."""


LockOption = Annotated[
    float,
    typer.Option(help="Seconds to wait while another update or fit writes to the project."),
]
DrawsOption = Annotated[int, typer.Option(min=1, help="Draws per chain.")]
TuneOption = Annotated[int, typer.Option(min=0, help="Tuning steps per chain.")]
ChainsOption = Annotated[int, typer.Option(min=1, help="Number of chains.")]
SeedOption = Annotated[int, typer.Option(help="Random seed (same seed, same draws).")]


def _err(line: str) -> None:
    typer.echo(line, err=True)


@contextmanager
def _errors_to_exit_codes() -> Iterator[None]:
    """Translate library errors into one line each on stderr and an exit code."""
    try:
        yield
    except SpecError as exc:
        for problem in exc.problems:
            _err(str(problem))
        raise typer.Exit(EXIT_INVALID) from None
    except DiagnosticsError as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    except ForecastError as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except KeyboardInterrupt:
        _err("Interrupted: nothing was changed.")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _model_path(model: Path | None) -> Path:
    from forecast.errors import Problem

    if model is not None:
        return model
    candidates = sorted(Path("models").glob("*.yaml"))
    if len(candidates) == 1:
        return candidates[0]
    found = "none" if not candidates else ", ".join(str(c) for c in candidates)
    raise SpecError([Problem("models", 1, "--model", f"give --model; models/*.yaml holds {found}")])


def _run(body: Callable[[], Any]) -> Any:
    with _errors_to_exit_codes():
        return body()


@app.command()
def check(model: ModelOption = None) -> None:
    """Validate the model, its evidence and every quote; print a summary. Writes nothing."""

    def body() -> None:
        from forecast.summary import CheckSummary
        from forecast.validate import load_spec

        spec = load_spec(_model_path(model))
        typer.echo(CheckSummary(spec).text())

    _run(body)


@app.command()
def fit(
    model: ModelOption = None,
    draws: DrawsOption = DEFAULT_DRAWS,
    tune: TuneOption = DEFAULT_TUNE,
    chains: ChainsOption = DEFAULT_CHAINS,
    seed: SeedOption = DEFAULT_SEED,
    method: Annotated[
        str, typer.Option(help="nuts (with the exact cross-check) or exact (no sampling).")
    ] = "nuts",
    strict: Annotated[
        bool, typer.Option(help="Exit 3, publishing nothing, if diagnostics are off.")
    ] = False,
    results: Annotated[Path, typer.Option(help="Results folder.")] = Path("results"),
    plots: Annotated[bool, typer.Option(help="Write p_H.png and reliability.png.")] = True,
    lock_timeout: LockOption = 60.0,
) -> None:
    """Fit the model and write results/<model>/ (posterior.nc, summaries, plots)."""

    def body() -> None:
        from forecast.ledger import project_lock
        from forecast.report import PosteriorReport
        from forecast.results import stage_results
        from forecast.sample import FitOptions
        from forecast.sample import fit as run_fit
        from forecast.update import recover
        from forecast.validate import load_spec, project_root

        if method not in ("nuts", "exact"):
            raise typer.BadParameter("choose nuts or exact", param_hint="--method")
        model_path = _model_path(model)
        root = project_root(model_path)
        # Holding the lock from before loading to publishing keeps an update from landing
        # between the spec that was fitted and the results that are published.
        with project_lock(root, lock_timeout):
            for action in recover(root):
                typer.echo(f"Recovered: {action}")
            spec = load_spec(model_path)
            options = FitOptions(draws, tune, chains, seed, method, progressbar=sys.stderr.isatty())
            result = run_fit(spec, options)
            report = PosteriorReport(result)
            diagnostics = result.diagnostics
            if strict and diagnostics is not None and not diagnostics.ok:
                typer.echo(report.text())
                raise DiagnosticsError(
                    "diagnostics outside thresholds ("
                    + "; ".join(diagnostics.problems())
                    + "); results not written"
                )
            staged = stage_results(result, results, plots=plots)
            typer.echo(report.text())
            published = staged.publish()
        typer.echo(
            f"\nWrote {published}/ ({', '.join(sorted(p.name for p in published.iterdir()))})"
        )

    _run(body)


@app.command()
def update(
    evidence: Annotated[Path, typer.Option("--evidence", help="New evidence file (YAML).")],
    model: ModelOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the report; change nothing.")
    ] = False,
    draws: DrawsOption = DEFAULT_DRAWS,
    tune: TuneOption = DEFAULT_TUNE,
    chains: ChainsOption = DEFAULT_CHAINS,
    seed: SeedOption = DEFAULT_SEED,
    plots: Annotated[bool, typer.Option(help="Write p_H.png and reliability.png.")] = True,
    lock_timeout: LockOption = 60.0,
) -> None:
    """Add new evidence, refit, print before/after, and record the update in the ledger."""

    def body() -> None:
        from contextlib import nullcontext

        from forecast.ledger import project_lock
        from forecast.likelihood import evidence_arrays
        from forecast.report import PosteriorReport, UpdateReport
        from forecast.sample import FitOptions
        from forecast.sample import fit as run_fit
        from forecast.update import (
            before_posterior,
            commit_update,
            plan_update,
            posterior_summary,
            recover,
        )
        from forecast.validate import display_path, project_root

        model_path = _model_path(model)
        root = project_root(model_path)
        results = root / "results"
        with nullcontext() if dry_run else project_lock(root, lock_timeout):
            if not dry_run:
                for action in recover(root):
                    typer.echo(f"Recovered: {action}")
            plan = plan_update(model_path, evidence)
            options = FitOptions(draws, tune, chains, seed, "nuts", progressbar=sys.stderr.isatty())
            before = before_posterior(plan, options, results)
            result = run_fit(plan.after, options)
            report = UpdateReport(
                before=before,
                before_arrays=evidence_arrays(plan.before),
                before_as_of=plan.before.as_of(),
                result=result,
                items=plan.items,
                source_file=display_path(plan.evidence_path),
                source_sha256=plan.evidence_sha256,
            )
            typer.echo(report.text())
            if dry_run:
                typer.echo("\nDry run: nothing was written.")
                return
            after = posterior_summary(PosteriorReport(result).table())
            update_id = commit_update(plan, result, before, after, plots=plots)
            written = ", ".join(display_path(f.path) for f in plan.new_files)
            typer.echo(f"\nRecorded as update {update_id} in ledger.sqlite; wrote {written}.")

    _run(body)


@app.command()
def history(
    model: ModelOption = None,
    format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Print the timeline of updates recorded in the ledger."""

    def body() -> None:
        from forecast.history import render_history
        from forecast.validate import project_root

        if format not in ("table", "csv", "json"):
            raise typer.BadParameter("choose table, csv or json", param_hint="--format")
        typer.echo(render_history(project_root(_model_path(model)), format), nl=False)

    _run(body)


def main() -> None:  # pragma: no cover - console entry point
    """Console entry point."""
    sys.exit(app())
