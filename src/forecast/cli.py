"""The ``forecast`` command line: a shell over :class:`forecast.Project`.

Each command parses its options, calls one ``Project`` method, prints the report (stdout) or
one line per problem (stderr), and maps errors to exit codes: 0 success, 1 a run-time failure,
2 invalid input or usage, 3 diagnostics failed under ``--strict``, 130 interrupted. Progress
goes to stderr. This is the only module that prints or exits; heavy libraries are imported
only by the commands that need them.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from forecast.constants import (
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_SEED,
    DEFAULT_TUNE,
    FIT_METHODS,
    REPORT_FORMATS,
)
from forecast.errors import (
    LEDGER_FILE,
    DiagnosticsError,
    ForecastError,
    Interrupted,
    SpecError,
    UnsafePathError,
    UsageError,
)
from forecast.spec.layout import display_path

EXIT_OK, EXIT_FAILURE, EXIT_INVALID, EXIT_DIAGNOSTICS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]


class _OneLineErrors(TyperGroup):
    """Usage errors as one ``Error: --option: message`` line and exit 2, not a panel."""

    def main(self, args: Any = None, prog_name: Any = None, *rest: Any, **extra: Any) -> Any:
        standalone = extra.pop("standalone_mode", True)
        try:
            code = super().main(args, prog_name, *rest, standalone_mode=False, **extra)
        except typer.TyperException as exc:  # Typer's usage errors (bad or missing options)
            typer.echo(f"Error: {_usage_message(exc)}", err=True)
            code = EXIT_INVALID if exc.exit_code == EXIT_INVALID else EXIT_FAILURE
        except typer.Abort:
            _say_interrupted(NOTHING_CHANGED)
            code = EXIT_INTERRUPTED
        code = code if isinstance(code, int) else EXIT_OK
        if standalone:
            sys.exit(code)
        return code


def _usage_message(exc: typer.TyperException) -> str:
    param = getattr(exc, "param", None)
    if isinstance(exc, typer.BadParameter) and param is not None and param.opts:
        if hasattr(exc, "param_type"):  # a required option that was not given
            return f"{param.opts[0]}: required (see --help)"
        return f"{param.opts[0]}: {exc.message}"
    return exc.format_message().rstrip(".")


app = typer.Typer(
    cls=_OneLineErrors,
    help="Rival hypotheses, quote-verified evidence and Bayesian posteriors.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _one_of(values: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in values:
            raise typer.BadParameter(f"choose {_choices(values)}")
        return value

    return check


ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Project folder (default: the one --model lies in, else the first folder from "
        "here up that holds models/).",
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option("--model", help="Model file or name (default: the only file in models/)."),
]
FormatOption = Annotated[
    str,
    typer.Option("--format", callback=_one_of(REPORT_FORMATS), help=f"{_choices(REPORT_FORMATS)}."),
]
LockOption = Annotated[
    float,
    typer.Option(help="Seconds to wait while another update or fit writes to the project."),
]
DrawsOption = Annotated[int, typer.Option(min=1, help="Draws per chain.")]
TuneOption = Annotated[int, typer.Option(min=0, help="Tuning steps per chain.")]
ChainsOption = Annotated[int, typer.Option(min=1, help="Number of chains.")]
SeedOption = Annotated[int, typer.Option(help="Random seed (same seed, same draws).")]
PlotsOption = Annotated[bool, typer.Option(help="Write p_H.png and reliability.png.")]
RobustnessOption = Annotated[
    bool,
    typer.Option(
        help="Leave out each source, document, claim and fact, move each judgment within its "
        "band, step each grade and vary the prior (see forecast sensitivity)."
    ),
]
ProgressOption = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress",
        help="Show what a long step is doing, on stderr (default: when stderr is a terminal).",
    ),
]


@app.callback()
def _root(context: typer.Context) -> None:
    """Rival hypotheses, quote-verified evidence and Bayesian posteriors."""
    if context.invoked_subcommand is None:
        typer.echo(context.get_help())


def _err(line: str) -> None:
    typer.echo(line, err=True)


def _progress(show: bool | None) -> Callable[[str], None] | None:
    if show is None:
        show = sys.stderr.isatty()
    return _err if show else None


@contextmanager
def _errors_to_exit_codes() -> Iterator[None]:
    """Translate library errors into one line each on stderr and an exit code."""
    try:
        yield
    except typer.Exit:
        raise
    except SpecError as exc:
        for problem in exc.problems:
            _err(str(problem))
        raise typer.Exit(EXIT_INVALID) from None
    except (UsageError, UnsafePathError) as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    except DiagnosticsError as exc:
        if exc.report is not None:
            typer.echo(exc.report.text())
        _err(f"Error: {exc}")
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    except ForecastError as exc:
        if _signals.interrupted:  # e.g. sampling cut short by Ctrl-C, which PyMC swallows
            _say_interrupted(NOTHING_CHANGED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        _err(f"Error: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except Interrupted as exc:
        _say_interrupted(exc.message)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except KeyboardInterrupt:
        _say_interrupted(NOTHING_CHANGED)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except OSError as exc:
        if _signals.interrupted:
            _say_interrupted(NOTHING_CHANGED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        where = f"{display_path(exc.filename)}: " if exc.filename else ""
        _err(f"Error: {where}{exc.strerror or exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except sqlite3.Error as exc:
        _err(f"Error: {LEDGER_FILE}: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except Exception as exc:
        if _signals.interrupted:  # e.g. an import cut short by Ctrl-C fails as ImportError
            _say_interrupted(NOTHING_CHANGED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        _err(f"Error: unexpected {type(exc).__name__}: {exc} ({TRACEBACK_HINT})")
        if os.environ.get(TRACEBACK_VARIABLE):
            traceback.print_exc()
        raise typer.Exit(EXIT_FAILURE) from None


NOTHING_CHANGED = "nothing was changed"
#: Set this environment variable to see where an unexpected error happened.
TRACEBACK_VARIABLE = "FORECAST_TRACEBACK"
TRACEBACK_HINT = f"set {TRACEBACK_VARIABLE}=1 to see where"


class _Signals:
    """What this process was told: whether Ctrl-C came, and whether that was said."""

    interrupted = False
    said = False


_signals = _Signals()


def _say_interrupted(message: str) -> None:
    if not _signals.said:
        _signals.said = True
        _err(f"Interrupted: {message}.")


def _on_interrupt(signum: int, frame: Any) -> None:
    _signals.interrupted = True
    raise KeyboardInterrupt


def _open(project: Path | None, model: str | None) -> Any:
    from forecast.api import Project

    return Project.open(project, model)


def _print(report: Any, fmt: str) -> None:
    from forecast.report.base import render

    typer.echo(render(report, fmt), nl=False)


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="The new project's folder (absent or empty).")],
    name: Annotated[
        str | None, typer.Option(help="The model's id (default: made from the folder name).")
    ] = None,
) -> None:
    """Create a new project: a commented model, an evidence file and a source text."""
    from forecast.api import Project
    from forecast.spec.layout import display_path

    with _errors_to_exit_codes():
        project = Project.init(folder, name)
        files = [display_path(p) for p in sorted(project.root.rglob("*")) if p.is_file()]
        typer.echo("Created " + ", ".join(files) + ".")
        typer.echo(f"Next: cd {display_path(project.root)} && forecast check && forecast fit")


@app.command()
def judges(
    project: ProjectOption = None,
    model: ModelOption = None,
    seed: SeedOption = DEFAULT_SEED,
    format: FormatOption = "table",
) -> None:
    """Every analyst's judgments, where they disagree and what it does to the answer, alpha."""
    with _errors_to_exit_codes():
        _print(_open(project, model).judges(seed=seed), format)


@app.command()
def questions(
    project: ProjectOption = None,
    model: ModelOption = None,
    seed: SeedOption = DEFAULT_SEED,
    format: FormatOption = "table",
) -> None:
    """Forecast questions: P(yes) with its word, spreads, drivers and resolution."""
    with _errors_to_exit_codes():
        _print(_open(project, model).questions(seed=seed), format)


@app.command()
def indicators(
    project: ProjectOption = None,
    model: ModelOption = None,
    seed: SeedOption = DEFAULT_SEED,
    format: FormatOption = "table",
) -> None:
    """What to watch or collect next: indicators and open questions by information gain."""
    with _errors_to_exit_codes():
        _print(_open(project, model).indicators(seed=seed), format)


@app.command()
def resolve(
    question: Annotated[str, typer.Argument(help="The question's id.")],
    outcome: Annotated[str, typer.Option("--outcome", help="yes or no.")],
    date: Annotated[
        str, typer.Option("--date", help="When the outcome happened or became public.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="A line on the source.")] = None,
    as_evidence: Annotated[
        bool,
        typer.Option(
            "--as-evidence", help="Also add the outcome as an outcome claim, refit and report."
        ),
    ] = False,
    seed: SeedOption = DEFAULT_SEED,
    plots: PlotsOption = True,
    progress: ProgressOption = None,
    project: ProjectOption = None,
    model: ModelOption = None,
) -> None:
    """Record a question's outcome in the ledger (its forecasts become scorable)."""
    with _errors_to_exit_codes():
        done = _open(project, model).resolve(
            question, outcome, date, note=note, as_evidence=as_evidence, seed=seed,
            plots=plots, progress=_progress(progress),
        )  # fmt: skip
        body = done.event
        for warning in done.warnings:
            typer.echo(f"warning: {warning}", err=True)
        typer.echo(
            f"Resolved {body['question']}: {body['outcome']} on {body['date']} "
            f"(recorded {body['recorded_at']})."
        )
        if done.update is not None:
            typer.echo(done.update.text())


@app.command()
def score(
    retrospective: Annotated[
        bool,
        typer.Option(
            "--retrospective", help="Score retrospective questions as a backtest, not as skill."
        ),
    ] = False,
    plots: Annotated[
        bool, typer.Option(help="Write results/<model>/calibration.png (under the lock).")
    ] = True,
    lock_timeout: LockOption = DEFAULT_LOCK_TIMEOUT,
    project: ProjectOption = None,
    model: ModelOption = None,
    format: FormatOption = "table",
) -> None:
    """Brier and log scores of the forecasts made before each outcome was known; calibration."""
    with _errors_to_exit_codes():
        report = _open(project, model).score(
            retrospective=retrospective, plots=plots, lock_timeout=lock_timeout
        )
        _print(report, format)


@app.command()
def brief(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write to this new or empty folder instead of briefings/<model>/."
        ),
    ] = None,
    lock_timeout: LockOption = DEFAULT_LOCK_TIMEOUT,
    project: ProjectOption = None,
    model: ModelOption = None,
) -> None:
    """Write the briefing (briefing.md, one self-contained briefing.html, figures)."""
    from forecast.spec.layout import display_path

    with _errors_to_exit_codes():
        written = _open(project, model).brief(out, lock_timeout=lock_timeout)
        for action in written.recovered:
            typer.echo(f"Recovered: {action}")
        typer.echo(f"Wrote {display_path(written.folder)}/ ({', '.join(written.files)})")


judge_app = typer.Typer(help="Judgments of further analysts: templates to fill.")
app.add_typer(judge_app, name="judge")


@judge_app.command("template")
def judge_template(
    out: Annotated[Path, typer.Option("--out", help="The judgment file to write.")],
    blind: Annotated[
        bool, typer.Option("--blind", help="Show no analyst's numbers, only claims and quotes.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    project: ProjectOption = None,
    model: ModelOption = None,
) -> None:
    """Write a judgment file ready to fill: every claim and fact, its quotes, judgments empty."""
    from forecast.spec.layout import display_path

    with _errors_to_exit_codes():
        path = _open(project, model).judge_template(out, blind=blind, force=force)
        typer.echo(
            f"Wrote {display_path(path)}. Fill it, save it as judgments/<your-id>.yaml in the "
            "project, and run forecast check."
        )


@app.command()
def check(
    project: ProjectOption = None, model: ModelOption = None, format: FormatOption = "table"
) -> None:
    """Validate the model, its evidence and every quote; print a summary. Writes nothing."""
    with _errors_to_exit_codes():
        _print(_open(project, model).check(), format)


@app.command()
def fit(
    project: ProjectOption = None,
    model: ModelOption = None,
    draws: DrawsOption = DEFAULT_DRAWS,
    tune: TuneOption = DEFAULT_TUNE,
    chains: ChainsOption = DEFAULT_CHAINS,
    seed: SeedOption = DEFAULT_SEED,
    method: Annotated[
        str,
        typer.Option(
            callback=_one_of(FIT_METHODS),
            help="nuts (NUTS, cross-checked by the exact engine) or exact (no sampling).",
        ),
    ] = "nuts",
    strict: Annotated[
        bool, typer.Option(help="Exit 3, publishing nothing, if diagnostics are off.")
    ] = False,
    plots: PlotsOption = True,
    robustness: RobustnessOption = True,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            metavar="ID",
            help="Fit one analyst's judgments (judgments/ID.yaml) alone; writes "
            "results/<model>--ID/.",
        ),
    ] = None,
    lock_timeout: LockOption = DEFAULT_LOCK_TIMEOUT,
    format: FormatOption = "table",
    progress: ProgressOption = None,
) -> None:
    """Fit the model and write results/<model>/ (posterior.nc, summaries, plots)."""
    with _errors_to_exit_codes():
        listener = _progress(progress)
        report = _open(project, model).fit(
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            method=method,
            strict=strict,
            plots=plots,
            robustness=robustness,
            judge=judge,
            lock_timeout=lock_timeout,
            progress=listener,
            progressbar=listener is not None,
        )
        _print(report, format)


@app.command()
def update(
    evidence: Annotated[Path, typer.Option("--evidence", help="New evidence file (YAML).")],
    project: ProjectOption = None,
    model: ModelOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the report; change nothing.")
    ] = False,
    draws: DrawsOption = DEFAULT_DRAWS,
    tune: TuneOption = DEFAULT_TUNE,
    chains: ChainsOption = DEFAULT_CHAINS,
    seed: SeedOption = DEFAULT_SEED,
    plots: PlotsOption = True,
    robustness: RobustnessOption = True,
    lock_timeout: LockOption = DEFAULT_LOCK_TIMEOUT,
    format: FormatOption = "table",
    progress: ProgressOption = None,
) -> None:
    """Add new evidence, refit, print before/after, and record the update in the ledger."""
    with _errors_to_exit_codes():
        listener = _progress(progress)
        report = _open(project, model).update(
            evidence,
            dry_run=dry_run,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            plots=plots,
            robustness=robustness,
            lock_timeout=lock_timeout,
            progress=listener,
            progressbar=listener is not None,
        )
        _print(report, format)


@app.command()
def sensitivity(
    project: ProjectOption = None,
    model: ModelOption = None,
    top: Annotated[
        int | None,
        typer.Option(help="List only the N changes that move the leader most (N >= 1)."),
    ] = None,
    seed: SeedOption = DEFAULT_SEED,
    format: FormatOption = "table",
) -> None:
    """How far the answer moves without each source, document, claim or fact, or another prior."""
    with _errors_to_exit_codes():
        _print(_open(project, model).sensitivity(top=top, seed=seed), format)


@app.command()
def history(
    project: ProjectOption = None,
    model: ModelOption = None,
    format: FormatOption = "table",
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check the hash chain, every stored file and the journal; exit 2 on a mismatch.",
        ),
    ] = False,
    show: Annotated[
        int | None,
        typer.Option(
            "--show",
            min=1,
            metavar="N",
            help="Print update N's report as it was printed when it was recorded.",
        ),
    ] = None,
) -> None:
    """Print the timeline of updates recorded in the ledger, one update's report, or verify it."""
    with _errors_to_exit_codes():
        if show is not None and verify:
            raise UsageError("--show and --verify: choose one")
        opened = _open(project, model)
        if show is not None:
            _print(opened.recorded_update(show), format)
            return
        if not verify:
            _print(opened.history(), format)
            return
        report = opened.verify()
        _print(report, format)
        if not report.ok:
            raise typer.Exit(EXIT_INVALID)


def main() -> None:  # pragma: no cover - console entry point
    """Console entry point: Ctrl-C at any moment ends with one ``Interrupted`` line, exit 130."""
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    if code == EXIT_INTERRUPTED:
        _say_interrupted(NOTHING_CHANGED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
