"""The library's face: :class:`Project`. The command line is a shell over it.

Every method returns a report (``.text()``, ``.table()``, ``.to_dict()``) or raises a typed
error from :mod:`forecast.errors` that says where the problem is. Nothing here prints, exits or
changes process-wide settings, so a notebook can use it freely::

    >>> from forecast import Project
    >>> project = Project.open("tests/fixtures/mini")
    >>> project.check().to_dict()["claims_by_kind"]
    {'act': 5, 'statement': 1, 'opinion': 1, 'outcome': 0}
    >>> fit = project.fit(method="exact", publish=False)   # writes nothing
    >>> fit.table().loc["other", "word"]
    'very unlikely'
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from forecast.constants import (
    DEFAULT_CHAINS,
    DEFAULT_DRAWS,
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_SEED,
    DEFAULT_TUNE,
    EVIDENCE_ANALYST,
    FIT_METHODS,
)
from forecast.errors import DiagnosticsError, SpecError, UsageError
from forecast.progress import Progress, silent
from forecast.spec.layout import Layout, find_root, resolve_model

if TYPE_CHECKING:
    from forecast.model.sample import FitOptions
    from forecast.report.check import CheckReport
    from forecast.report.judges import JudgesReport
    from forecast.report.posterior import FitReport
    from forecast.report.questions import IndicatorsReport, QuestionsReport
    from forecast.report.score import ScoreReport
    from forecast.report.sensitivity import SensitivityReport
    from forecast.report.update import UpdateReport
    from forecast.spec.schema import Spec
    from forecast.store.history import HistoryReport, RecordedUpdateReport, VerifyReport


@dataclass(frozen=True)
class Resolution:
    """What :meth:`Project.resolve` recorded: the resolution event, and its update if any."""

    event: dict[str, Any]
    #: The update that entered the outcome as evidence (``as_evidence``), else None.
    update: Any = None
    #: Questions already entered as evidence that may overlap this one.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Brief:
    """What :meth:`Project.brief` wrote: the folder, its files, and what recovery repaired."""

    folder: Path
    files: tuple[str, ...]
    recovered: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    """A project folder and one of its models; open it with :meth:`open`."""

    layout: Layout
    model_path: Path

    @classmethod
    def open(cls, root: Path | str | None = None, model: Path | str | None = None) -> Project:
        """Open the project at ``root``, or the one ``model`` lies in, or the one around the cwd.

        ``model`` is a file in the project's ``models/`` (a path, or a name such as ``mini``);
        without it, the only file there. Raises :class:`~forecast.errors.UsageError`.

        >>> Project.open("tests/fixtures/mini").model_path.name
        'mini.yaml'
        """
        layout = Layout(find_root(root, model))
        return cls(layout, resolve_model(layout, model))

    @classmethod
    def init(cls, folder: Path | str, name: str | None = None) -> Project:
        """Create a new project in ``folder`` (absent or empty) and open it.

        The skeleton (a commented model file, an evidence file and a short source text that
        its example quote is found in) passes :meth:`check` and :meth:`fit` as written.
        ``name`` is the model's id (default: made from the folder's name).
        """
        from forecast.store.new_project import create_project

        model = create_project(Path(folder), name)
        return cls.open(model.parent.parent, model)

    @property
    def root(self) -> Path:
        """The project folder: every file forecast reads or writes lies below it."""
        return self.layout.root

    def load(self) -> Spec:
        """The validated spec: the model with all its evidence and verified quotes.

        Questions the ledger resolved are marked resolved. A question changed since the
        ledger recorded its resolution is refused (:class:`~forecast.errors.SpecError`, at
        the question, naming the resolution): its scored forecasts would no longer be of the
        question that was resolved.
        """
        from forecast.spec.rules import load_spec
        from forecast.store.forecasts import changed_after_resolution, with_resolutions

        spec = load_spec(self.model_path)
        if spec.questions and self.layout.ledger.exists():
            from forecast.store.ledger import Ledger

            with Ledger.read(self.layout) as ledger:
                events = ledger.events()
                problems = changed_after_resolution(spec, events, ledger.display)
            if problems:
                raise SpecError(problems)
            spec = with_resolutions(spec, events)
        return spec

    def check(self) -> CheckReport:
        """Validate the model, its evidence and every quote; write nothing.

        Raises :class:`~forecast.errors.SpecError` listing every problem with file and line.
        """
        from forecast.report.check import CheckReport
        from forecast.store.history import chain_warnings

        return CheckReport(self.load(), chain_warnings(self.layout))

    def fit(
        self,
        *,
        draws: int = DEFAULT_DRAWS,
        tune: int = DEFAULT_TUNE,
        chains: int = DEFAULT_CHAINS,
        seed: int = DEFAULT_SEED,
        method: str = "nuts",
        strict: bool = False,
        plots: bool = True,
        publish: bool = True,
        robustness: bool = True,
        judge: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        progress: Progress | None = None,
        progressbar: bool = False,
    ) -> FitReport:
        """Fit the model; with ``publish``, write ``results/<model>/`` in one atomic step.

        With ``robustness`` (the default) the report carries :meth:`sensitivity`'s analysis:
        the assessment gives the robust range and the computed confidence, and
        ``sensitivity.csv`` holds every change.

        ``judge`` fits one analyst's judgments alone (``judgments/<judge>.yaml``, the
        evidence's where it gives none) and publishes ``results/<model>--<judge>/``.

        ``publish=False`` writes nothing at all (no results, no recovery, no lock), so a
        notebook can fit freely. With ``strict``, poor diagnostics raise
        :class:`~forecast.errors.DiagnosticsError` (carrying the report) and nothing is written.

        >>> report = Project.open("tests/fixtures/mini").fit(method="exact", publish=False)
        >>> report.published is None
        True
        """
        from forecast.model.sample import FitOptions

        if method not in FIT_METHODS:
            raise UsageError(f"--method: choose {' or '.join(FIT_METHODS)}, not {method!r}")
        options = FitOptions(draws, tune, chains, seed, method, progressbar=progressbar)
        say = progress or silent
        if not publish:
            return self._fit(options, strict, say, robustness, judge)
        from forecast.store.ledger import project_lock
        from forecast.store.recovery import recover
        from forecast.store.results import publish_fit, stage_results

        # Holding the lock from before loading to publishing keeps an update from landing
        # between the spec that was fitted and the results that are published.
        with project_lock(self.root, lock_timeout):
            recovered = tuple(recover(self.layout))
            report = self._fit(options, strict, say, robustness, judge)
            say("Writing results…")
            staged = stage_results(report.result, self.layout, plots=plots, report=report)
            published = publish_fit(staged)
            if judge is None:
                self._record_forecasts(report)
        return report.with_outcome(published=published, recovered=recovered)

    def _record_forecasts(self, report: Any) -> int:
        """Append a forecast event per question whose spec or version is new; return how many.

        After the results are published: a forecast cut off by an interrupt here is recorded
        by the next fit, later, which only makes the firewall stricter.
        """
        if report.questions is None:
            return 0
        from forecast.store.forecasts import FORECAST, forecast_bodies
        from forecast.store.ledger import Ledger, now

        with Ledger.open(self.layout) as ledger:
            bodies = forecast_bodies(report.result.spec, report.questions, ledger.events(), now())
            if bodies:
                ledger.append(FORECAST, bodies)
        return len(bodies)

    def _fit(
        self,
        options: FitOptions,
        strict: bool,
        say: Progress,
        robustness: bool,
        judge: str | None = None,
    ) -> FitReport:
        from forecast.model.sample import fit
        from forecast.report.posterior import FitReport

        say("Loading…")
        spec = self.load()
        if judge is not None:
            from forecast.analysis.analysts import analyst_spec

            spec = analyst_spec(spec, judge)
        result = fit(spec, options, say)
        analysts, judged = _analysts(result, options.seed, say)
        sensitivity = None
        if robustness:
            from forecast.analysis.robustness import sensitivity as analyse

            say("Checking robustness…")
            sensitivity = analyse(
                spec,
                exact=result.exact,
                seed=options.seed,
                analyst_exacts=None if analysts is None else analysts.exact_by_analyst(),
            )
        report = FitReport(result, sensitivity=sensitivity, analysts=analysts, judges=judged)
        if spec.questions:
            say("Forecasting the questions…")
            report = replace(report, questions=_fit_questions(report, options.seed))
        diagnostics = report.result.diagnostics
        if strict and diagnostics is not None and not diagnostics.ok:
            raise DiagnosticsError(
                "diagnostics outside thresholds ("
                + "; ".join(diagnostics.problems())
                + "); results not written",
                report=report,
            )
        return report

    def update(
        self,
        evidence: Path | str,
        *,
        dry_run: bool = False,
        draws: int = DEFAULT_DRAWS,
        tune: int = DEFAULT_TUNE,
        chains: int = DEFAULT_CHAINS,
        seed: int = DEFAULT_SEED,
        plots: bool = True,
        robustness: bool = True,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        progress: Progress | None = None,
        progressbar: bool = False,
    ) -> UpdateReport:
        """Add the evidence file, refit, and record the update; ``dry_run`` writes nothing.

        The file is checked against everything already in the project: a problem raises
        :class:`~forecast.errors.EvidenceError` and nothing is written. See
        ``docs/updates.md`` for the order of writes and why an interrupted update changes
        nothing.
        """
        from forecast.model.sample import FitOptions
        from forecast.store.ledger import project_lock
        from forecast.store.recovery import recover

        say = progress or silent
        options = FitOptions(draws, tune, chains, seed, "nuts", progressbar=progressbar)
        with nullcontext() if dry_run else project_lock(self.root, lock_timeout):
            recovered = () if dry_run else tuple(recover(self.layout))
            return self._update(
                Path(evidence), options, say, recovered, dry_run=dry_run, plots=plots,
                robustness=robustness,
            )  # fmt: skip

    def _update(
        self,
        evidence: Path,
        options: Any,
        say: Progress,
        recovered: tuple[str, ...],
        *,
        dry_run: bool,
        plots: bool,
        robustness: bool,
        stored_stem: str | None = None,
        extra_events: tuple[tuple[str, dict[str, Any]], ...] = (),
    ) -> UpdateReport:
        """:meth:`update`'s work, under the project lock its caller holds (none for a dry run)."""
        from forecast.model.exact import exact_posterior
        from forecast.model.likelihood import evidence_arrays
        from forecast.model.sample import fit
        from forecast.report.posterior import FitReport
        from forecast.report.update import UpdateReport
        from forecast.spec.layout import display_path
        from forecast.store.update import (
            before_posterior,
            commit_update,
            plan_update,
            posterior_summary,
        )

        say("Loading…")
        plan = plan_update(self.layout, self.model_path, evidence, stored_stem=stored_stem)
        before = before_posterior(plan, options)
        result = fit(plan.after, options, say)
        analysts, judged = _analysts(result, options.seed, say)
        sensitivity = None
        if robustness:
            from forecast.analysis.robustness import sensitivity as analyse

            say("Checking robustness…")
            sensitivity = analyse(
                plan.after,
                exact=result.exact,
                seed=options.seed,
                analyst_exacts=None if analysts is None else analysts.exact_by_analyst(),
            )
        before_arrays = evidence_arrays(plan.before)
        report = UpdateReport(
            before=before,
            before_arrays=before_arrays,
            before_as_of=plan.before.as_of(),
            result=result,
            items=plan.items,
            source_file=display_path(plan.evidence_path),
            source_sha256=plan.evidence_sha256,
            dry_run=dry_run,
            recovered=recovered,
            sensitivity=sensitivity,
            before_exact=exact_posterior(before_arrays, seed=options.seed).posterior,
            analysts=analysts,
        )
        if dry_run:
            return report
        say("Writing results…")
        fitted = FitReport(result, sensitivity=sensitivity, analysts=analysts, judges=judged)
        if plan.after.questions:
            fitted = replace(fitted, questions=_fit_questions(fitted, options.seed))
        after = posterior_summary(fitted.table())
        update_id = commit_update(
            plan,
            result,
            before,
            after,
            plots=plots,
            fit_report=fitted,
            report=replace(report, recovered=()).text(),
            extra_events=extra_events,
        )
        self._record_forecasts(fitted)
        written = tuple(display_path(f.path) for f in plan.new_files)
        return report.recorded(update_id, written)

    def sensitivity(self, *, top: int | None = None, seed: int = DEFAULT_SEED) -> SensitivityReport:
        """How the answer moves under every single change; writes nothing.

        Leaves out each source, document, claim and fact in turn (and ungroups each fact), and
        changes the prior, integrating each change with the exact engine. ``top`` limits the
        listed changes to the largest. Raises :class:`~forecast.errors.UsageError` for
        ``top`` below 1.

        >>> report = Project.open("tests/fixtures/mini").sensitivity()
        >>> report.to_dict()["leader"]
        'strike'
        """
        from forecast.analysis.robustness import sensitivity
        from forecast.report.sensitivity import SensitivityReport

        if top is not None and top < 1:
            raise UsageError(f"--top: must be at least 1, not {top}")
        spec = self.load()
        return SensitivityReport(sensitivity(spec, seed=seed), spec.name, top)

    def history(self) -> HistoryReport:
        """The ledger's timeline of updates (empty, and nothing created, without a ledger)."""
        from forecast.store.history import read_history

        return read_history(self.layout)

    def judges(self, *, seed: int = DEFAULT_SEED) -> JudgesReport:
        """Every analyst's judgments, where they disagree and what it does, and their alpha.

        Each analyst costs one exact pass; writes nothing.
        """
        from forecast.analysis.judges import judges
        from forecast.report.judges import JudgesReport

        spec = self.load()
        return JudgesReport(judges(spec, seed=seed), spec.name)

    def questions(self, *, seed: int = DEFAULT_SEED) -> QuestionsReport:
        """The forecast questions' P(yes), with their spreads, drivers and resolutions.

        From the published fit when it is of the current spec and its questions are the
        current ones (with the spread over its draws); otherwise from an exact pass computed
        here, which has no draws. Writes nothing.
        """
        from forecast.report.questions import QuestionsReport

        spec = self.load()
        stored = self._published_summary(spec)
        if stored is not None and "questions" in stored:
            rows = stored["questions"]["questions"]
            if [r["version"] for r in rows] == [q.version for q in spec.questions]:
                return QuestionsReport.from_summary(spec, stored)
        return _exact_questions(spec, seed)

    def indicators(self, *, seed: int = DEFAULT_SEED) -> IndicatorsReport:
        """Indicators and open questions ranked by expected information about the answer.

        From the published fit's P(h | E) when it is of the current spec, else an exact pass
        computed here (pooled over the analysts). Writes nothing.
        """
        spec = self.load()
        return _indicators(spec, self._published_summary(spec), seed)

    def resolve(
        self,
        question: str,
        outcome: str,
        date: Any,
        *,
        note: str | None = None,
        as_evidence: bool = False,
        seed: int = DEFAULT_SEED,
        plots: bool = True,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        progress: Progress | None = None,
    ) -> Resolution:
        """Record that ``question`` resolved ``outcome`` ("yes" or "no") on ``date``.

        ``date`` is when the outcome happened or became public. Appends one ``resolution``
        event to the ledger, under the project lock, in one transaction. Refused with
        :class:`~forecast.errors.UsageError`, nothing written: an unknown question, an outcome
        other than yes or no, a question already resolved, a date before the question opened
        or after today.

        With ``as_evidence``, the outcome also enters the model as an ``outcome`` claim dated
        ``date`` (likelihood P(yes | h), or 1 - P(yes | h) for "no"), stored as
        ``evidence/<date>-resolve-<question>.yaml`` by the path of :meth:`update`, whose
        ledger transaction records the resolution with it; the update's report says which
        explanations the outcome favoured.
        """
        import datetime as dt

        from forecast.store.forecasts import RESOLUTION, overlapping, resolution_body
        from forecast.store.ledger import Ledger, now, project_lock
        from forecast.store.recovery import recover

        when = _iso_date(date, "--date")
        with project_lock(self.root, lock_timeout):
            recovered = tuple(recover(self.layout))
            spec = self.load()
            events = []
            if self.layout.ledger.exists():
                with Ledger.read(self.layout) as ledger:
                    events = ledger.events()
            recorded_at = now()
            today = dt.datetime.fromisoformat(recorded_at).date()
            body = resolution_body(
                spec, events, question, outcome, when, note, today=today, recorded_at=recorded_at
            )
            if not as_evidence:
                with Ledger.open(self.layout) as ledger:
                    ledger.append(RESOLUTION, [body])
                return Resolution(body)
            return Resolution(
                {**body, "as_evidence": True},
                update=self._resolve_as_evidence(
                    spec, body, recovered, seed, plots, progress or silent
                ),
                warnings=overlapping(spec, question),
            )

    def _resolve_as_evidence(
        self,
        spec: Spec,
        body: dict[str, Any],
        recovered: tuple[str, ...],
        seed: int,
        plots: bool,
        say: Progress,
    ) -> UpdateReport:
        """The outcome claim through the update path, the resolution in its transaction."""
        import os

        import yaml

        from forecast.model.sample import FitOptions
        from forecast.spec.layout import temporary_name
        from forecast.store.forecasts import RESOLUTION

        [asked] = [q for q in spec.questions if q.id == body["question"]]
        said = f"{asked.text} Resolved {body['outcome']} on {body['date']}."
        claim = {
            "id": f"{asked.id}-resolved",
            "kind": "outcome",
            "text": said + (f" {body['note']}" if body["note"] else ""),
            "date": body["date"],
            "question": asked.id,
            "resolution": body["outcome"],
        }
        evidence = {
            "model": spec.name,
            "judged_by": "forecast resolve",
            "judged_on": body["date"],
            "claims": [claim],
        }
        stem = f"resolve-{asked.id}"
        # A temporary file of the managed kind, swept by recovery if this process dies.
        path = temporary_name(self.layout.evidence / f"{stem}.yaml")
        assert path.name.endswith(f".tmp-{os.getpid()}")
        path.write_text(yaml.safe_dump(evidence, sort_keys=False, allow_unicode=True))
        try:
            options = FitOptions(seed=seed)
            return self._update(
                path, options, say, recovered, dry_run=False, plots=plots, robustness=True,
                stored_stem=stem, extra_events=((RESOLUTION, body),),
            )  # fmt: skip
        finally:
            path.unlink(missing_ok=True)

    def score(
        self,
        *,
        retrospective: bool = False,
        plots: bool = True,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> ScoreReport:
        """Score each resolved question's last forecast made before its outcome was known.

        Retrospective questions are left out; with ``retrospective`` they are scored as a
        backtest and labelled so. With ``plots`` and at least one scored forecast, the
        calibration figure is written atomically into the published results, under the
        project lock (``results/<model>/calibration.png``, or
        ``calibration-retrospective.png`` for a backtest); the report names it, or says why
        there is none. Without ``plots`` nothing is written and no lock is taken.
        """
        from forecast.store.ledger import project_lock
        from forecast.store.recovery import recover

        if not plots:
            return self._score(retrospective)
        with project_lock(self.root, lock_timeout):
            recovered = tuple(recover(self.layout))
            report = replace(self._score(retrospective), recovered=recovered)
            return self._draw_calibration(report)

    def _score(
        self, retrospective: bool, spec: Spec | None = None, events: list[Any] | None = None
    ) -> ScoreReport:
        """The scores of ``spec`` (loaded if not given) from the ledger's ``events``."""
        from forecast.report.score import ScoreReport
        from forecast.store.forecasts import of_model, scored

        spec = spec or self.load()
        mine = of_model(self._events() if events is None else events, spec.name)
        results = tuple(scored(mine, retrospective=retrospective))
        left_out = 0 if retrospective else len(scored(mine, retrospective=True)) - len(results)
        return ScoreReport(spec.name, results, retrospective, left_out=left_out)

    def _draw_calibration(self, report: ScoreReport) -> ScoreReport:
        """``report`` with its calibration figure written beside the published results."""
        from forecast.report.plots import calibration_figure, figure_png
        from forecast.report.score import BACKTEST_FIGURE, CALIBRATION_FIGURE
        from forecast.store.files import write_atomically
        from forecast.store.results import published_run

        if not report.scored:
            return replace(report, figure_note="no forecast was scored")
        run = published_run(self.layout, report.model)
        if run is None:
            note = "no published results to put it beside; run forecast fit"
            return replace(report, figure_note=note)
        name = BACKTEST_FIGURE if report.retrospective else CALIBRATION_FIGURE
        write_atomically(run / name, figure_png(calibration_figure(report)))
        return replace(report, figure=self.layout.results / report.model / name)

    def brief(
        self, out: Path | str | None = None, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> Brief:
        """Write the briefing: ``briefing.md``, ``briefing.html`` and their figures.

        From the published fit of the current spec (else :class:`~forecast.errors.ResultsError`:
        run forecast fit first), its indicators, the ledger's updates and resolutions. Written
        under the project lock to ``briefings/<model>`` (a new run, published by one rename),
        or to ``out``, a folder that must be new or empty.
        """
        import datetime as dt

        import pandas as pd

        from forecast.analysis.timeline import claims_timeline, updates_timeline
        from forecast.errors import ResultsError
        from forecast.report.brief import build_briefing, timeline_caption
        from forecast.store.briefing import publish_briefing, write_briefing_to
        from forecast.store.ledger import now, project_lock, update_records
        from forecast.store.recovery import recover
        from forecast.store.results import published_run

        with project_lock(self.root, lock_timeout):
            recovered = tuple(recover(self.layout))
            spec = self.load()
            summary = self._published_summary(spec)
            run = published_run(self.layout, spec.name)
            if summary is None or run is None:
                raise ResultsError(
                    f"results/{spec.name}: no published results of the current model files; "
                    "run forecast fit first"
                )
            claims = pd.read_csv(run / "claims.csv", index_col="claim")
            sources = pd.read_csv(run / "sources.csv", index_col="source")
            events = self._events()
            updates = [u for u in update_records(events) if u.model == spec.name]
            if updates:
                published = {row["hypothesis"]: row["mean"] for row in summary["hypotheses"]}
                timeline = updates_timeline(spec, updates, published)
                caption = timeline_caption("updates", summary["as_of"])
            else:
                timeline = claims_timeline(spec, summary["seed"])
                caption = timeline_caption("claims", summary["as_of"])
            briefing = build_briefing(
                spec, summary, claims, sources,
                indicators=_indicators(spec, summary, summary["seed"]),
                scores=self._score(False, spec, events), backtest=self._score(True, spec, events),
                timeline=timeline, timeline_caption=caption,
                today=dt.datetime.fromisoformat(now()).date(),
            )  # fmt: skip
            files = briefing.files()
            if out is None:
                folder = publish_briefing(self.layout, spec.name, files)
            else:
                folder = write_briefing_to(Path(out), files)
        return Brief(folder, tuple(files), recovered)

    def _events(self) -> list[Any]:
        """Every event of the ledger, oldest first (none without a ledger)."""
        from forecast.store.ledger import Ledger

        if not self.layout.ledger.exists():
            return []
        with Ledger.read(self.layout) as ledger:
            return ledger.events()

    def _published_summary(self, spec: Spec) -> dict[str, Any] | None:
        """The published summary.json when it is of exactly this spec, else None."""
        from forecast.errors import ResultsError
        from forecast.store.results import load_summary

        try:
            summary = load_summary(self.layout, spec.name)
        except (ResultsError, ValueError):
            return None
        return summary if summary.get("spec_sha256") == spec.sha256 else None

    def judge_template(self, out: Path | str, *, blind: bool = False, force: bool = False) -> Path:
        """Write a judgment file ready to fill to ``out``; return its path.

        Every claim and fact of the model, with its text and quotes as comments and every
        judgment ``null``. With ``blind`` no analyst's number appears in it. An existing
        ``out`` is replaced only with ``force`` (else :class:`~forecast.errors.UsageError`).
        """
        from forecast.spec.layout import display_path
        from forecast.spec.template import judgment_template
        from forecast.store.files import write_atomically

        path = Path(out)
        if path.exists() and not force:
            raise UsageError(f"--out: {display_path(path)} exists; give --force to replace it")
        if path.is_dir():
            raise UsageError(f"--out: {display_path(path)} is a folder; give a file name")
        write_atomically(path, judgment_template(self.load(), blind=blind).encode("utf-8"))
        return path

    def recorded_update(self, number: int) -> RecordedUpdateReport:
        """Update ``number`` as the ledger recorded it, with the report printed at the time.

        Raises :class:`~forecast.errors.UsageError` if the ledger holds no such update.
        """
        from forecast.store.history import read_update

        return read_update(self.layout, number)

    def verify(self) -> VerifyReport:
        """Check the ledger's hash chain, every file it records, and its journal.

        Read-only. ``report.ok`` is False when anything disagrees; ``report.head`` is the
        last event's hash, to keep: a log rewritten with its hashes recomputed ends elsewhere.
        """
        from forecast.store.history import verify

        return verify(self.layout)


def _iso_date(value: Any, option: str) -> Any:
    """A date, or an ISO date string, as a date; UsageError otherwise."""
    import datetime as dt

    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UsageError(f"{option}: not a date YYYY-MM-DD: {value!r}") from None


def _indicators(spec: Spec, stored: dict[str, Any] | None, seed: int) -> IndicatorsReport:
    """The indicators report from the published summary ``stored``, else an exact pass."""
    import numpy as np

    from forecast.report.questions import IndicatorsReport

    items = spec.indicators + tuple(q for q in spec.questions if q.resolution is None)
    if stored is not None:
        means = {row["hypothesis"]: row["mean"] for row in stored["hypotheses"]}
        posterior = np.array([means[h] for h in spec.hypothesis_ids])
        basis = f"P(h | E) of the published fit, evidence as of {stored['as_of']}"
    else:
        from forecast.analysis.analysts import pooled_exact_posterior

        posterior, _, pooled = pooled_exact_posterior(spec, seed)
        basis = "P(h | E) from an exact pass" + (", pooled" if pooled else "")
    return IndicatorsReport(spec.name, spec.hypothesis_ids, posterior, items, basis)


def _exact_questions(spec: Spec, seed: int) -> Any:
    """The questions' forecasts from an exact pass: no draws, so no spread over them."""
    from forecast.analysis.analysts import pooled_exact_posterior

    posterior, exacts, pooled = pooled_exact_posterior(spec, seed)
    basis = "computed now with the exact engine (no published fit has forecast these questions)"
    return _questions_report(spec, posterior, None, exacts, pooled, basis, seed)


def _fit_questions(report: Any, seed: int) -> Any:
    """The questions' forecasts from a fit: its P(h | E), its draws, its exact nodes."""
    import numpy as np

    result = report.result
    spec = result.spec
    pooled = report.analysts
    if pooled is not None:
        draws, exacts = pooled.pooled_draws(), pooled.exact_by_analyst()
    else:
        draws, exacts = None, {EVIDENCE_ANALYST: result.exact}
        if result.idata is not None:
            values = result.idata.posterior["p_H"].values.reshape(-1, len(spec.hypotheses))
            draws = (values, np.full(len(values), 1.0 / len(values)))
    posterior = report.table()["mean"].to_numpy(dtype=float)
    basis = f"from this fit ({result.method})"
    return _questions_report(spec, posterior, draws, exacts, pooled is not None, basis, seed)


def _questions_report(
    spec: Spec,
    posterior: Any,
    draws: Any,
    exacts: dict[str, Any],
    pooled: bool,
    basis: str,
    seed: int,
) -> Any:
    """Every question's forecast, with the evidence band from the analysts' exact nodes."""
    from forecast.analysis.questions import forecasts, thetas
    from forecast.analysis.robustness import forecast_ranges
    from forecast.report.questions import QuestionsReport

    found: tuple[Any, ...] = ()
    method = "exact"
    if spec.questions:
        bands, method = forecast_ranges(spec, thetas(spec.questions), exacts=exacts, seed=seed)
        found = forecasts(spec, posterior, draws=draws, evidence_bands=bands)
    return QuestionsReport(
        spec.name,
        found,
        basis=f"{basis}, evidence as of {spec.as_of()}",
        band_method=method,
        pooled=pooled,
    )


def _analysts(result: Any, seed: int, say: Progress) -> tuple[Any, Any]:
    """Each analyst's posterior and pool, and where they disagree; (None, None) with one."""
    spec = result.spec
    if not spec.analysts:
        return None, None
    from forecast.analysis.analysts import analyst_posteriors
    from forecast.analysis.judges import judges
    from forecast.report.judges import JudgesReport

    say("Each analyst's posterior…")
    drawn = result.idata is not None
    analysts = analyst_posteriors(
        spec,
        result.arrays,
        result.exact,
        seed=seed,
        reliability_draws=result.reliability_draws if drawn else None,
        evidence_log_lik=result.draw_log_likelihood if drawn else None,
    )
    disagreement = judges(spec, seed=seed, exacts=analysts.exact_by_analyst())
    return analysts, JudgesReport(disagreement, spec.name)
