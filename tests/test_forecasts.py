"""Forecasts in the event log, `forecast resolve`, and scores behind the hindsight firewall."""

from __future__ import annotations

import json
import math

import pytest

from conftest import edit, png_size, tree_hash
from forecast.spec.layout import display_path
from forecast.store.forecasts import FORECAST, RESOLUTION, scored
from forecast.store.ledger import Event
from test_questions import INDICATOR, P_YES, M, add_question


def _event(seq: int, kind: str, body: dict) -> Event:
    return Event(seq, kind, body, "", "")


def _forecast(p: float, recorded_at: str, cutoff: str | None, **extra) -> dict:
    return {
        "question": "q",
        "version": "v1",
        "spec_sha256": "s",
        "recorded_at": recorded_at,
        "evidence_cutoff": cutoff,
        "latest_judged_on": None,
        "retrospective": False,
        "p_yes": p,
        "prior_p_yes": 0.5,
        "p_yes_given": {"a": 0.8, "b": 0.2},
        **extra,
    }


def _resolution(outcome: str, date: str) -> dict:
    return {"question": "q", "outcome": outcome, "date": date, "note": None, "version": "v1"}


def test_brier_and_log_scores_are_the_hand_computed_ones():
    from forecast.report.score import ScoreReport

    events = [
        _event(1, FORECAST, _forecast(0.7, "2025-03-01T10:00:00+00:00", "2025-02-20")),
        _event(2, RESOLUTION, _resolution("no", "2025-04-01")),
    ]
    [result] = scored(events, retrospective=False)
    assert result.brier == pytest.approx(0.49)  # (0.7 - 0)^2
    assert result.log_score == pytest.approx(math.log2(0.3))
    assert result.hypothesis_log_scores() == pytest.approx(
        {"a": math.log2(0.2), "b": math.log2(0.8)}
    )
    summary = ScoreReport("m", (result,)).summary()
    assert summary["brier_skill_vs_uniform"] == pytest.approx(1 - 0.49 / 0.25)
    assert summary["log_skill_vs_uniform_bits"] == pytest.approx(math.log2(0.3) + 1)
    assert summary["log_skill_vs_prior_bits"] == pytest.approx(math.log2(0.3) - math.log2(0.5))
    [row] = ScoreReport("m", (result,)).calibration()
    assert (row["band"], row["count"], row["observed"]) == ("likely", 1, 0.0)
    # Nothing happened, so the interval reaches 0 (Brown, Cai and DasGupta 2001); its upper
    # end is Beta(0.5, 1.5)'s 97.5 % point.
    assert row["jeffreys_low"] == 0.0
    assert row["jeffreys_high"] == pytest.approx(0.8533, abs=1e-4)


def test_the_last_forecast_made_in_time_is_scored_and_later_ones_never():
    events = [
        _event(1, FORECAST, _forecast(0.6, "2025-03-01T10:00:00+00:00", "2025-02-20")),
        _event(2, FORECAST, _forecast(0.7, "2025-03-20T10:00:00+00:00", "2025-03-15")),
        # Recorded on the outcome date, before anyone ran resolve: not before D, not scored.
        _event(3, FORECAST, _forecast(0.99, "2025-04-01T08:00:00+00:00", "2025-03-15")),
        _event(4, FORECAST, _forecast(0.98, "2025-05-01T08:00:00+00:00", "2025-03-15")),
        _event(5, RESOLUTION, _resolution("yes", "2025-04-01")),
    ]
    [result] = scored(events, retrospective=False)
    assert result.p_yes == 0.7


def test_a_forecast_whose_evidence_reaches_the_outcome_date_is_not_scored():
    events = [
        _event(1, FORECAST, _forecast(0.6, "2025-03-01T10:00:00+00:00", "2025-02-20")),
        # Recorded in time, but built on a document dated on the outcome date.
        _event(2, FORECAST, _forecast(0.9, "2025-03-31T10:00:00+00:00", "2025-04-01")),
        _event(3, RESOLUTION, _resolution("yes", "2025-04-01")),
    ]
    [result] = scored(events, retrospective=False)
    assert result.p_yes == 0.6
    undated = [
        _event(1, FORECAST, _forecast(0.6, "2025-03-01T10:00:00+00:00", None)),
        _event(2, RESOLUTION, _resolution("yes", "2025-04-01")),
    ]
    [result] = scored(undated, retrospective=False)
    assert result.forecast is None
    assert result.reason == (
        "no forecast made in time has an evidence cutoff known to be before 2025-04-01"
    )


def test_retrospective_questions_are_scored_only_as_a_labelled_backtest():
    from forecast.report.score import BACKTEST, ScoreReport

    late = _forecast(0.8, "2026-11-30T10:00:00+00:00", "2025-07-04", retrospective=True)
    events = [_event(1, FORECAST, late), _event(2, RESOLUTION, _resolution("yes", "2025-10-09"))]
    assert scored(events, retrospective=False) == []
    [result] = scored(events, retrospective=True)
    assert result.p_yes == 0.8  # recorded after the outcome, by construction
    assert BACKTEST in ScoreReport("m", (result,), retrospective=True).text()


def add_dated_question(root) -> None:
    """The ferry question, with every document dated so the evidence cutoff is known
    (2025-03-04)."""
    add_question(root)
    edit(
        root / M,
        "    derived_from: harbour-report",
        "    date: 2025-03-04\n    derived_from: harbour-report",
    )


def _at(monkeypatch, when: str) -> None:
    monkeypatch.setattr("forecast.store.ledger.now", lambda: when)


def test_resolve_then_score_round_trip(mini_project, cli, monkeypatch):
    add_dated_question(mini_project)
    _at(monkeypatch, "2025-03-10T09:00:00+00:00")
    fitted = cli("fit", "--method", "exact", "--no-plots")
    assert fitted.exit_code == 0, fitted.stderr
    summary = json.loads((mini_project / "results/mini/summary.json").read_text())
    p_yes = summary["questions"]["questions"][0]["p_yes"]
    # A second fit of the same spec and question records nothing new.
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    resolved = cli("resolve", "ferry-on-time", "--outcome", "yes", "--date", "2025-04-01")
    assert resolved.exit_code == 0, resolved.stderr
    assert resolved.stdout.strip() == (
        "Resolved ferry-on-time: yes on 2025-04-01 (recorded 2025-04-02T12:00:00+00:00)."
    )
    scoring = cli("score", "--format", "json")
    assert scoring.exit_code == 0, scoring.stderr
    report = json.loads(scoring.stdout)
    [row] = report["questions"]
    assert row["scored"] and row["p_yes"] == pytest.approx(p_yes)
    assert row["brier"] == pytest.approx((p_yes - 1) ** 2)
    assert row["log_score_bits"] == pytest.approx(math.log2(p_yes))
    assert report["figure"] == str(mini_project / "results/mini/calibration.png")
    assert png_size(mini_project / "results/mini/calibration.png") == (780, 744)
    from forecast import Project
    from forecast.store.ledger import Ledger

    with Ledger.read(Project.open(mini_project).layout) as ledger:
        kinds = [e.kind for e in ledger.events()]
        assert not ledger.chain_problems()
    assert kinds == [FORECAST, RESOLUTION]
    before = tree_hash(mini_project)
    assert "Calibration figure" not in cli("score", "--no-plots").stdout
    assert tree_hash(mini_project) == before
    history = cli("history").stdout
    assert history.splitlines() == [
        "No updates recorded.",
        "Also in the ledger: 1 forecast event, 1 resolution event (forecast questions, "
        "forecast score).",
    ]


def test_a_changed_question_is_a_new_version_with_a_new_forecast(mini_project, cli, monkeypatch):
    from forecast import Project
    from forecast.store.ledger import Ledger

    add_question(mini_project)
    _at(monkeypatch, "2025-03-10T09:00:00+00:00")
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    edit(mini_project / M, "strike: 0.2", "strike: 0.3")
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    with Ledger.read(Project.open(mini_project).layout) as ledger:
        rows = [e.body for e in ledger.events() if e.kind == FORECAST]
    assert len(rows) == 2 and rows[0]["version"] != rows[1]["version"]
    assert rows[1]["p_yes_given"]["strike"] == 0.3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ferry-late"], "Error: resolve: no question 'ferry-late' (the model has: ferry-on-time)"),
        (
            ["ferry-on-time", "--outcome", "maybe"],
            "Error: --outcome: choose yes or no, not 'maybe'",
        ),
        (
            ["ferry-on-time", "--date", "2025-03-01"],
            "Error: --date: 2025-03-01 is before the question opened (2025-03-06)",
        ),
        (
            ["ferry-on-time", "--date", "2025-05-01"],
            "Error: --date: 2025-05-01 is in the future (today is 2025-04-02)",
        ),
        (["ferry-on-time", "--date", "1 April"], "Error: --date: not a date YYYY-MM-DD: '1 April'"),
    ],
)
def test_a_refused_resolution_is_one_line_exit_2_and_writes_nothing(
    mini_project, cli, monkeypatch, args, message
):
    add_question(mini_project)
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    defaults = {"--outcome": "yes", "--date": "2025-04-01"}
    for option, value in defaults.items():
        if option not in args:
            args = [*args, option, value]
    before = tree_hash(mini_project)
    result = cli("resolve", *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert tree_hash(mini_project) == before


def test_resolving_twice_is_refused_and_writes_nothing(mini_project, cli, monkeypatch):
    add_question(mini_project)
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    args = ("resolve", "ferry-on-time", "--outcome", "no", "--date", "2025-04-01")
    assert cli(*args).exit_code == 0
    before = tree_hash(mini_project)
    again = cli(*args)
    assert again.exit_code == 2
    assert again.stderr.strip() == (
        "Error: resolve: ferry-on-time is already resolved (no on 2025-04-01, event 1)"
    )
    assert tree_hash(mini_project) == before


def test_a_question_never_forecast_is_listed_as_not_scorable(mini_project, cli, monkeypatch):
    add_question(mini_project)
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    assert (
        cli("resolve", "ferry-on-time", "--outcome", "yes", "--date", "2025-04-01").exit_code == 0
    )
    before = tree_hash(mini_project)
    result = cli("score")
    assert result.exit_code == 0
    assert "ferry-on-time: yes on 2025-04-01; not scorable: no forecast was recorded" in (
        result.stdout
    )
    assert result.stdout.splitlines()[-1] == "No calibration figure: no forecast was scored"
    assert tree_hash(mini_project) == before


def test_a_question_changed_after_its_resolution_is_refused_at_the_question(
    mini_project, cli, monkeypatch
):
    add_question(mini_project)
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    assert (
        cli("resolve", "ferry-on-time", "--outcome", "yes", "--date", "2025-04-01").exit_code == 0
    )
    assert cli("check").exit_code == 0  # unchanged: fine
    edit(mini_project / M, "strike: 0.2", "strike: 0.25")
    before = tree_hash(mini_project)
    for command in (("check",), ("fit", "--method", "exact", "--no-plots"), ("questions",)):
        result = cli(*command)
        assert result.exit_code == 2, command
        assert result.stderr.strip() == (
            "models/mini.yaml:52: questions[0]: changed after it was resolved (yes on "
            "2025-04-01, ledger.sqlite event 1): restore its wording and judgments, or ask a new "
            "question under a new id"
        )
    assert tree_hash(mini_project) == before


def test_another_models_events_are_neither_scored_nor_block_a_resolution():
    other = {**_forecast(0.9, "2025-03-01T10:00:00+00:00", "2025-02-20"), "model": "other"}
    mine = {**_forecast(0.6, "2025-03-01T10:00:00+00:00", "2025-02-20"), "model": "m"}
    events = [
        _event(1, FORECAST, mine),
        _event(2, FORECAST, other),
        _event(3, RESOLUTION, {**_resolution("yes", "2025-04-01"), "model": "m"}),
    ]
    from forecast.store.forecasts import of_model

    [result] = scored(of_model(events, "m"), retrospective=False)
    assert result.p_yes == 0.6
    assert of_model(events, "other") == [events[1]]


def test_resolve_as_evidence_adds_the_outcome_refits_and_records_both_at_once(
    mini_project, cli, monkeypatch
):
    import numpy as np

    from conftest import fix_reliabilities
    from forecast import Project
    from forecast.store.ledger import Ledger
    from test_questions import exact

    fix_reliabilities(mini_project)
    add_question(mini_project)
    before = exact(mini_project)
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    result = cli(
        "resolve", "ferry-on-time", "--outcome", "no", "--date", "2025-04-01",
        "--note", "Port log.", "--as-evidence", "--no-plots",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Resolved ferry-on-time: no on 2025-04-01")
    stored = mini_project / "evidence" / "2025-04-01-resolve-ferry-on-time.yaml"
    assert stored.is_file()
    assert not [p for p in (mini_project / "evidence").iterdir() if ".tmp-" in p.name]
    # The outcome's likelihood is 1 - P(yes | h): the posterior moves exactly so.
    expected = before * (1 - P_YES) / (before @ (1 - P_YES))
    np.testing.assert_allclose(exact(mini_project), expected, rtol=1e-9)
    with Ledger.read(Project.open(mini_project).layout) as ledger:
        events = ledger.events()
    assert [e.kind for e in events] == ["update", RESOLUTION]  # one transaction, in order
    assert events[1].body["note"] == "Port log." and events[1].body["outcome"] == "no"
    again = cli("resolve", "ferry-on-time", "--outcome", "no", "--date", "2025-04-01")
    assert again.exit_code == 2


def test_resolving_as_evidence_warns_of_an_overlapping_question_already_in(
    mini_project, cli, monkeypatch
):
    from conftest import fix_reliabilities

    fix_reliabilities(mini_project)
    add_question(mini_project)
    path = mini_project / M
    path.write_text(
        path.read_text() + "  - id: ferry-on-time-again\n"
        "    text: Will the ferry leave on time on 1 April 2025, as timetabled?\n"
        "    resolve_by: 2025-04-01\n"
        "    judgments: {storm: likely, strike: 0.2, other: 0.5}\n"
        "    criteria: The port's departure log.\n    opened: 2025-03-06\n"
        "    written_on: 2025-03-06\n"
        "    rationales: {storm: As above., strike: As above., other: As above.}\n"
    )
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    args = ("--outcome", "yes", "--date", "2025-04-01", "--as-evidence", "--no-plots")
    first = cli("resolve", "ferry-on-time", *args)
    assert first.exit_code == 0, first.stderr
    assert "warning" not in first.stderr
    second = cli("resolve", "ferry-on-time-again", *args)  # 9 of 11 distinct words shared
    assert second.exit_code == 0, second.stderr
    assert (
        "warning: ferry-on-time-again shares 82% of its words with ferry-on-time, already "
        "entered as evidence"
    ) in second.stderr


def test_the_calibration_figure_is_never_written_through_a_link_leading_outside(
    mini_project, cli, monkeypatch, tmp_path_factory
):
    add_dated_question(mini_project)
    _at(monkeypatch, "2025-03-10T09:00:00+00:00")
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    assert cli("resolve", "ferry-on-time", "--outcome", "no", "--date", "2025-04-01").exit_code == 0
    # A run-shaped folder outside the project, and the results link turned towards it.
    outside = tmp_path_factory.mktemp("elsewhere") / ".runs" / "mini@20250101T000000-1"
    outside.mkdir(parents=True)
    link = mini_project / "results/mini"
    link.unlink()
    link.symlink_to(outside)
    result = cli("score")
    assert result.exit_code == 2
    assert "results/mini leads to" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_resolved_retrospective_question_is_left_out_of_skill_and_counted(
    mini_project, cli, monkeypatch
):
    add_dated_question(mini_project)
    # Written after its outcome: retrospective.
    edit(mini_project / M, "    written_on: 2025-03-06", "    written_on: 2025-05-01")
    _at(monkeypatch, "2025-05-02T09:00:00+00:00")
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    assert (
        cli("resolve", "ferry-on-time", "--outcome", "yes", "--date", "2025-04-01").exit_code == 0
    )
    skill = cli("score", "--format", "json")
    assert skill.exit_code == 0, skill.stderr
    report = json.loads(skill.stdout)
    assert report["questions"] == [] and report["retrospective_left_out"] == 1
    assert report["figure"] is None and report["figure_note"] == "no forecast was scored"
    assert not (mini_project / "results/mini/calibration.png").exists()
    backtest = cli("score", "--retrospective")
    assert backtest.exit_code == 0, backtest.stderr
    assert backtest.stdout.splitlines()[-1] == (
        "Calibration figure: "
        + display_path(mini_project / "results/mini/calibration-retrospective.png")
    )
    assert png_size(mini_project / "results/mini/calibration-retrospective.png") == (780, 744)
    assert not (mini_project / "results/mini/calibration.png").exists()


def test_a_question_resolved_in_the_ledger_is_resolved_everywhere(mini_project, cli, monkeypatch):
    add_dated_question(mini_project)
    mini_project.joinpath(M).write_text(mini_project.joinpath(M).read_text() + INDICATOR)
    _at(monkeypatch, "2025-03-10T09:00:00+00:00")
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    assert "ferry-on-time" in cli("indicators").stdout
    _at(monkeypatch, "2025-04-02T12:00:00+00:00")
    assert cli("resolve", "ferry-on-time", "--outcome", "no", "--date", "2025-04-01").exit_code == 0
    assert "1 forward-looking, 1 resolved (forecast resolve" in cli("check").stdout
    assert "resolved no on 2025-04-01" in cli("questions").stdout
    assert "ferry-on-time" not in cli("indicators").stdout  # nothing left to watch
    # A later fit records no new forecast for it, and the briefing lists it as resolved.
    from forecast import Project
    from forecast.store.ledger import Ledger

    edit(mini_project / "evidence/harbour.yaml", "if_true: 0.8", "if_true: 0.7")
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    with Ledger.read(Project.open(mini_project).layout) as ledger:
        assert [e.kind for e in ledger.events()] == [FORECAST, RESOLUTION]
    assert cli("brief").exit_code == 0
    page = (mini_project / "briefings/mini/briefing.md").read_text()
    assert "- ferry-on-time: no on 2025-04-01; forecast " in page
