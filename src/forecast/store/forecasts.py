"""Forecasts and resolutions in the event log, and scores behind the hindsight firewall.

A fit or an update that publishes appends a ``forecast`` event for each question whose spec
hash or version differs from its last recorded forecast. ``forecast resolve`` appends a
``resolution`` event. A score uses, for each resolved question, the last forecast recorded
strictly before the outcome date D whose evidence cutoff is also strictly before D: a forecast
that could not have known the answer. Wall-clock record times come from the machine's clock,
so the firewall is as good as that clock.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.constants import OVERLAP_SIMILARITY
from forecast.errors import Problem, UsageError

if TYPE_CHECKING:
    from forecast.report.questions import QuestionsReport
    from forecast.spec.schema import Spec
    from forecast.store.ledger import Event

FORECAST = "forecast"
RESOLUTION = "resolution"


def forecast_bodies(
    spec: Spec, report: QuestionsReport, recorded: list[Event], recorded_at: str
) -> list[dict[str, Any]]:
    """Forecast events for the questions whose spec hash or version changed since their last."""
    last: dict[str, tuple[str, str]] = {}
    for event in of_model(recorded, spec.name):
        if event.kind == FORECAST:
            last[event.body["question"]] = (event.body["spec_sha256"], event.body["version"])
    prior = np.asarray(spec.priors)
    cutoff = spec.evidence_cutoff()
    bodies = []
    for forecast in report.forecasts:
        q = forecast.question
        if q.resolution is not None or last.get(q.id) == (spec.sha256, q.version):
            continue  # a question resolved as evidence is forecast no more
        bodies.append(
            {
                "model": spec.name,
                "question": q.id,
                "version": q.version,
                "spec_sha256": spec.sha256,
                "recorded_at": recorded_at,
                "evidence_cutoff": None if cutoff is None else cutoff.isoformat(),
                "latest_judged_on": max(spec.judged_on).isoformat() if spec.judged_on else None,
                "retrospective": forecast.retrospective,
                "p_yes": forecast.p_yes,
                "prior_p_yes": float(prior @ np.asarray(q.theta)),
                "p_yes_given": dict(zip(spec.hypothesis_ids, q.theta, strict=True)),
            }
        )
    return bodies


def resolution_body(
    spec: Spec,
    events: list[Event],
    question_id: str,
    outcome: str,
    date: dt.date,
    note: str | None,
    *,
    today: dt.date,
    recorded_at: str,
) -> dict[str, Any]:
    """The resolution event to append; UsageError (nothing written) for a refused one."""
    questions = {q.id: q for q in spec.questions}
    if question_id not in questions:
        known = ", ".join(questions) or "none"
        raise UsageError(f"resolve: no question {question_id!r} (the model has: {known})")
    if outcome not in ("yes", "no"):
        raise UsageError(f"--outcome: choose yes or no, not {outcome!r}")
    question = questions[question_id]
    resolved = [e for e in of_model(events, spec.name) if e.kind == RESOLUTION]
    for event in resolved:
        if event.body["question"] == question_id:
            raise UsageError(
                f"resolve: {question_id} is already resolved ({event.body['outcome']} on "
                f"{event.body['date']}, event {event.seq})"
            )
    if question.resolution is not None:
        raise UsageError(
            f"resolve: {question_id} is already resolved by an outcome claim "
            f"({question.resolution} on {question.resolved_on})"
        )
    if date > today:
        raise UsageError(f"--date: {date} is in the future (today is {today})")
    if question.opened is not None and date < question.opened:
        raise UsageError(f"--date: {date} is before the question opened ({question.opened})")
    return {
        "model": spec.name,
        "question": question_id,
        "outcome": outcome,
        "date": date.isoformat(),
        "note": note,
        "version": question.version,
        "recorded_at": recorded_at,
    }


@dataclass(frozen=True)
class Scored:
    """One resolved question and the forecast scored for it (None: not scorable)."""

    question: str
    outcome: int
    date: dt.date
    forecast: dict[str, Any] | None
    reason: str | None = None

    @property
    def p_yes(self) -> float:
        """The scored forecast's P(yes)."""
        assert self.forecast is not None
        return float(self.forecast["p_yes"])

    @property
    def brier(self) -> float:
        """(p - o)^2 on a 0-1 scale; the uniform forecast scores 0.25."""
        return (self.p_yes - self.outcome) ** 2

    @property
    def log_score(self) -> float:
        """log2 of the probability given to what happened; the uniform forecast scores -1."""
        return _log2_of(self.p_yes, self.outcome)

    @property
    def prior_log_score(self) -> float:
        """The log score of the prior-only forecast sum_h pi_h P(yes | h)."""
        assert self.forecast is not None
        return _log2_of(float(self.forecast["prior_p_yes"]), self.outcome)

    @property
    def prior_brier(self) -> float:
        """The Brier score of the prior-only forecast."""
        assert self.forecast is not None
        return (float(self.forecast["prior_p_yes"]) - self.outcome) ** 2

    def hypothesis_log_scores(self) -> dict[str, float]:
        """Per hypothesis, log2 P(what happened | h): how well each explanation forecast it."""
        assert self.forecast is not None
        given = self.forecast["p_yes_given"]
        return {h: _log2_of(float(p), self.outcome) for h, p in given.items()}


def _log2_of(p_yes: float, outcome: int) -> float:
    return math.log2(p_yes if outcome else 1.0 - p_yes)


def with_resolutions(spec: Spec, events: list[Event]) -> Spec:
    """``spec`` with every question the ledger resolved marked resolved, with its date.

    An outcome claim's resolution stands as it is; the ledger fills in the questions
    resolved without one (``forecast resolve`` without ``--as-evidence``), so they are shown
    as resolved, no longer ranked as things to watch, and no longer forecast.
    """
    from dataclasses import replace

    recorded = {
        e.body["question"]: e.body for e in of_model(events, spec.name) if e.kind == RESOLUTION
    }
    if not recorded:
        return spec
    questions = tuple(
        replace(
            q,
            resolution=recorded[q.id]["outcome"],
            resolved_on=dt.date.fromisoformat(recorded[q.id]["date"]),
        )
        if q.resolution is None and q.id in recorded
        else q
        for q in spec.questions
    )
    return replace(spec, questions=questions)


def of_model(events: list[Event], model: str) -> list[Event]:
    """The events of one model's questions (a project may hold several models)."""
    return [e for e in events if e.body.get("model", model) == model]


def scored(events: list[Event], *, retrospective: bool) -> list[Scored]:
    """Each resolved question with the forecast the firewall lets be scored.

    The last forecast recorded strictly before the outcome date D (by the clock, at 00:00
    UTC of D) whose evidence cutoff is known and strictly before D. A retrospective
    question is left out, or with ``retrospective`` scored as a backtest: its forecasts were
    recorded after the outcome by construction, so only the cutoff rule applies.
    """
    forecasts = [e.body for e in events if e.kind == FORECAST]
    out = []
    for event in events:
        if event.kind != RESOLUTION:
            continue
        body = event.body
        question, outcome = body["question"], int(body["outcome"] == "yes")
        date = dt.date.fromisoformat(body["date"])
        start_of_day = dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC)
        mine = [f for f in forecasts if f["question"] == question]
        backtest = any(f["retrospective"] for f in mine)
        if backtest and not retrospective:
            continue

        def in_time(
            f: dict[str, Any], backtest: bool = backtest, start: dt.datetime = start_of_day
        ) -> bool:
            return backtest or dt.datetime.fromisoformat(f["recorded_at"]) < start

        def known_before(f: dict[str, Any], date: dt.date = date) -> bool:
            cutoff = f["evidence_cutoff"]
            return cutoff is not None and dt.date.fromisoformat(cutoff) < date

        eligible = [f for f in mine if in_time(f) and known_before(f)]
        if eligible:
            out.append(Scored(question, outcome, date, eligible[-1]))
            continue
        if not mine:
            reason = "no forecast was recorded"
        elif not any(in_time(f) for f in mine):
            reason = f"every forecast was recorded on or after the outcome date {date}"
        else:
            reason = f"no forecast made in time has an evidence cutoff known to be before {date}"
        out.append(Scored(question, outcome, date, None, reason))
    return out


def changed_after_resolution(spec: Spec, events: list[Event], ledger: str) -> list[Problem]:
    """A located problem at each question whose version differs from its resolution's."""
    index = {q.id: i for i, q in enumerate(spec.questions)}
    problems = []
    for event in of_model(events, spec.name):
        if event.kind != RESOLUTION or event.body["question"] not in index:
            continue
        i = index[event.body["question"]]
        question = spec.questions[i]
        if question.version == event.body["version"]:
            continue
        where = question.where
        problems.append(
            Problem(
                where.path,
                where.line,
                f"questions[{i}]",
                f"changed after it was resolved ({event.body['outcome']} on "
                f"{event.body['date']}, {ledger} event {event.seq}): restore its wording and "
                "judgments, or ask a new question under a new id",
            )
        )
    return problems


def overlapping(spec: Spec, question_id: str) -> tuple[str, ...]:
    """Questions already entered as evidence whose wording overlaps this one's.

    Two outcomes of nested or overlapping questions are not independent given H; entering
    both as evidence counts what they share twice. Overlap is judged from the wording (words
    shared, Jaccard at least OVERLAP_SIMILARITY), so this warns and does not refuse.
    """
    import re

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z0-9]+", text.lower()))

    questions = {q.id: q for q in spec.questions}
    mine = words(questions[question_id].text)
    out = []
    for q in spec.questions:
        if q.id == question_id or q.resolution is None:
            continue
        theirs = words(q.text)
        similarity = len(mine & theirs) / max(len(mine | theirs), 1)
        if similarity >= OVERLAP_SIMILARITY:
            out.append(
                f"{question_id} shares {similarity:.0%} of its words with {q.id}, already "
                "entered as evidence: if one is nested in the other or they overlap, their "
                "outcomes count what they share twice"
            )
    return tuple(out)
