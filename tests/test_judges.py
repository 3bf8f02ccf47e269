"""Several analysts: judgment files, their checks, templates, per-analyst and pooled posteriors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import FIXTURES, edit, tree_hash
from forecast.spec.rules import load_spec

M = "models/mini.yaml"
SECOND = "judgments/second.yaml"


@pytest.fixture
def two_analysts(mini_project):
    """The mini project with a second, blind analyst in judgments/second.yaml."""
    (mini_project / "judgments").mkdir()
    shutil.copy(FIXTURES / "analysts" / "second.yaml", mini_project / SECOND)
    return mini_project


def test_a_judgment_file_is_one_more_analyst(two_analysts, cli):
    spec = load_spec(two_analysts / M)
    [second] = spec.analysts
    assert (second.id, second.judged_by, second.blind) == ("second", "Second analyst", True)
    assert second.theta["storm-said"][0] == (0.675, 0.325, 0.4)  # likely, unlikely, 0.4
    assert second.signs == {"customs-closed": ((0.85, 0.85, 0.85), (0.2, 0.2, 0.2))}
    assert second.phi["harbour-shut"][0] == (0.675, 0.325, 0.325)
    assert second.prior == (0.4, 0.4, 0.2)
    # late-departure is all null in the file: not judged.
    assert second.judged == {"storm-said", "crew-strike", "customs-closed", "harbour-shut"}
    out = cli("check").stdout
    assert "  evidence           Test analyst (the evidence files' judgments)" in out
    assert (
        "  second             Second analyst, 2025-03-06, blind; judged 4 of 8 claims and facts; "
        "own priors (judgments/second.yaml)" in out
    )
    # The spec's hash covers judgment files; without one it is what it was.
    with_file = spec.sha256
    (two_analysts / SECOND).unlink()
    assert load_spec(two_analysts / M).sha256 != with_file
    shutil.copy(FIXTURES / "analysts" / "second.yaml", two_analysts / SECOND)
    edit(two_analysts / SECOND, "    other: 0.4\n", "    other: 0.45\n")
    assert load_spec(two_analysts / M).sha256 != with_file


REFUSED = {
    "unknown claim": (
        ("  storm-said:\n", "  storm-sayd:\n"),
        "judgments/second.yaml:6: claims.storm-sayd: unknown claim 'storm-sayd' "
        "(did you mean 'storm-said'?)",
    ),
    "unknown fact": (
        ("  harbour-shut:\n", "  harbour-shot:\n"),
        "judgments/second.yaml:21: facts.harbour-shot: unknown fact 'harbour-shot' "
        "(did you mean 'harbour-shut'?)",
    ),
    "outside [0, 1]": (
        ("    other: 0.4\n", "    other: 1.4\n"),
        "judgments/second.yaml:9: claims.storm-said.other: probability 1.4 is outside [0, 1]",
    ),
    "unknown word": (
        ("    strike: likely\n", "    strike: likly\n"),
        "judgments/second.yaml:11: claims.crew-strike.strike: unknown ICD-203 word 'likly' "
        "(did you mean 'likely'?)",
    ),
    "priors not summing to 1": (
        ("  other: {prior: 0.2,", "  other: {prior: 0.3,"),
        "judgments/second.yaml:24: priors: priors sum to 1.1, not 1",
    ),
    "partly judged": (
        ("    strike: null\n", "    strike: 0.5\n"),
        "judgments/second.yaml:16: claims.late-departure: judge every value or none "
        "(all null: not judged)",
    ),
    "a sign judged per hypothesis": (
        ("    if_true: 0.85\n    if_false: 0.2\n", "    storm: 0.85\n    otherwise: 0.2\n"),
        "judgments/second.yaml:13: claims.customs-closed: 'customs-closed' is a sign of fact "
        "'harbour-shut': judge it with 'if_true' and 'if_false' only",
    ),
    "contradicts": (
        (
            "  late-departure:\n",
            "  fine-weather:\n    storm: 0.5\n    otherwise: 0.5\n  late-departure:\n",
        ),
        "judgments/second.yaml:16: claims.fine-weather: judgments of 'fine-weather' and "
        "'storm-said' (which it contradicts) sum above 1 for storm",
    ),
}


def _check_with_judged(root, cli, claim: str, *judgments: str):
    """``forecast check`` after the second analyst also judges ``claim`` (on line 16)."""
    lines = "".join(f"    {j}\n" for j in judgments)
    edit(root / SECOND, "  late-departure:\n", f"  {claim}:\n{lines}  late-departure:\n")
    return cli("check")


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_bad_judgment_file_is_refused_with_one_located_line(two_analysts, cli, case):
    (old, new), message = REFUSED[case]
    edit(two_analysts / SECOND, old, new)
    before = tree_hash(two_analysts)
    result = cli("fit", "--method", "exact")
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert tree_hash(two_analysts) == before


def test_two_files_with_one_judged_by_are_refused(two_analysts, cli):
    shutil.copy(two_analysts / SECOND, two_analysts / "judgments" / "third.yaml")
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "judgments/third.yaml:2: judged_by: 'Second analyst' already judges in "
        "judgments/second.yaml: one file per analyst"
    )


def test_an_analysts_opinion_beyond_the_cap_is_refused_at_its_judgment(two_analysts, cli):
    # A moderate opinion in the evidence passes; the analyst's 1 / 0 for it does not.
    edit(
        two_analysts / "evidence/mini.yaml",
        "      strike: 1\n      otherwise: 0\n",
        "      strike: 0.6\n      otherwise: 0.4\n",
    )
    edit(
        two_analysts / M,
        "    grade_rationale: Local reporter.\n",
        "    grade_rationale: Local reporter.\n    judgment_reliability: 0.6\n",
    )
    assert cli("check").exit_code == 0
    result = _check_with_judged(two_analysts, cli, "company-organised", "strike: 1", "otherwise: 0")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "judgments/second.yaml:16: claims.company-organised: opinion's likelihood ratio 4.00 "
        "exceeds the cap 3.0 with these judgments"
    )


def test_a_judgment_file_of_no_model_is_a_warning_and_of_another_model_belongs_to_it(
    two_analysts, cli
):
    edit(two_analysts / SECOND, "model: mini\n", "model: minni\n")
    result = cli("check")
    assert result.exit_code == 0
    assert (
        "warning: judgments/second.yaml:1: model: names model 'minni', which no file in models/ "
        "defines (did you mean 'mini'?); this file is not read" in result.stdout
    )
    assert load_spec(two_analysts / M).analysts == ()


# --- the template --------------------------------------------------------------------------


def _fill(text: str, name: str) -> str:
    """Fill every null of a template: 'unlikely' per hypothesis, 0.8 / 0.2 for signs."""
    import yaml

    data = yaml.safe_load(text)
    data["judged_by"], data["judged_on"] = name, "2025-03-07"
    for judgments in [*data["claims"].values(), *data.get("facts", {}).values()]:
        for key in judgments:
            judgments[key] = {"if_true": 0.8, "if_false": 0.2}.get(key, "unlikely")
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize("blind", [True, False])
def test_template_then_fill_then_check(mini_project, cli, blind):
    import yaml

    args = ["judge", "template", "--out", "third.yaml"] + (["--blind"] if blind else [])
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    text = (mini_project / "third.yaml").read_text()
    spec = load_spec(mini_project / M)
    data = yaml.safe_load(text)
    assert data["model"] == "mini" and data["blind"] is blind
    assert data["judged_by"] is None and data["judged_on"] is None
    judgeable = {c.id for c in spec.claims if c.kind != "outcome"}
    assert set(data["claims"]) == judgeable and set(data["facts"]) == {"harbour-shut"}
    assert all(v is None for j in data["claims"].values() for v in j.values())
    assert data["claims"]["customs-closed"] == {"if_true": None, "if_false": None}
    for claim in spec.claims:  # every quote is there, with its source and document
        for att in claim.attestations:
            assert f"({att.source_id}, in {att.document_id})" in text
    # Blind: no analyst's number anywhere; otherwise the evidence judgments are shown as
    # written: a word as the word, a range as a range.
    assert ("evidence judgments" in text) is not blind
    if not blind:
        assert "# evidence judgments: storm very likely, strike unlikely, other [0.3, 0.5]" in text
        assert "# evidence judgments: storm likely, strike unlikely, other unlikely" in text
    if blind:
        for number in ("0.05", "0.1", "0.3", "0.5", "0.675", "0.8", "0.2", "0.4"):
            assert number not in text
    (mini_project / "judgments").mkdir()
    (mini_project / "judgments" / "third.yaml").write_text(_fill(text, "Third analyst"))
    checked = cli("check")
    assert checked.exit_code == 0, checked.stderr
    [third] = load_spec(mini_project / M).analysts
    assert third.judged == set(spec.judgeable)


def test_template_refuses_an_existing_file_without_force(mini_project, cli):
    (mini_project / "third.yaml").write_text("kept\n")
    result = cli("judge", "template", "--out", "third.yaml")
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: --out: third.yaml exists; give --force to replace it"
    assert (mini_project / "third.yaml").read_text() == "kept\n"
    assert cli("judge", "template", "--out", "third.yaml", "--force").exit_code == 0
    assert (mini_project / "third.yaml").read_text().startswith("# Judgments of model mini")


# --- posteriors per analyst, and the pool -----------------------------------------------------

DISSENT = """\
model: mini
judged_by: Dissenting analyst
judged_on: 2025-03-08
blind: true
claims:
  crew-strike:
    strike: unlikely
    otherwise: likely
  storm-said:
    storm: very likely
    otherwise: very unlikely
priors:
  storm: {prior: 0.8, rationale: Storms close this harbour most winters.}
  strike: {prior: 0.1, rationale: Strikes are rare here.}
  other: {prior: 0.1, rationale: Anything else.}
"""


def test_when_the_analysts_leaders_differ_the_headline_says_so_and_confidence_is_low(
    mini_project,
):
    from conftest import fix_reliabilities
    from forecast import Project

    fix_reliabilities(mini_project)
    (mini_project / "judgments").mkdir()
    (mini_project / "judgments/dissent.yaml").write_text(DISSENT)
    report = Project.open(mini_project).fit(publish=False)
    records = {r["id"]: r for r in report.to_dict()["analysts"]}
    assert (records["evidence"]["leader"], records["dissent"]["leader"]) == ("strike", "storm")
    text = report.text()
    assert (
        "Assessment (pooled over evidence, dissent): the analysts' leading answers differ "
        "(evidence -> strike (" in text
    )
    assert "; dissent -> storm (" in text and "pooled, " in text
    confidence = report.sensitivity.confidence
    assert confidence.level == "low"
    assert "the analysts' leaders differ (evidence: strike, dissent: storm)" in confidence.reasons
    summary = report.to_dict()
    pooled = {h["hypothesis"]: h["mean"] for h in summary["hypotheses"]}
    for h, value in pooled.items():
        assert value == pytest.approx(
            (records["evidence"]["posterior"][h] + records["dissent"]["posterior"][h]) / 2,
            abs=1e-12,
        )


@pytest.mark.slow
def test_the_pooled_interval_comes_from_the_draws_reweighted_for_each_analyst(two_analysts):
    from forecast import Project

    report = Project.open(two_analysts).fit(draws=500, tune=500, chains=2, publish=False)
    table = report.table()
    pooled = report.analysts
    # The draws target the evidence analyst; reweighted, they give the other's posterior.
    sizes = pooled.effective_sample_sizes()
    assert sizes[0] == pytest.approx(1000) and sizes[1] > 200
    np.testing.assert_allclose(table["mean"], table["exact"], atol=0.03)
    assert np.all(table["hdi_low"] <= table["exact"]) and np.all(
        table["exact"] <= table["hdi_high"]
    )
    for k in range(2):
        values, weights = pooled.draws[k]
        np.testing.assert_allclose(weights @ values, pooled.posteriors[k], atol=0.03)


# --- where the analysts disagree, and their agreement ------------------------------------------


def test_krippendorffs_alpha_matches_the_published_interval_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # missing values; alpha with the interval metric is 0.849.
    from forecast.analysis.judges import krippendorff_alpha

    nan = np.nan
    observers = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    assert krippendorff_alpha(observers.T) == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha(np.array([[0.2, 0.2], [0.7, 0.7], [0.5, 0.5]])) == 1.0


def test_judges_swing_equals_the_pool_of_refits_with_the_row_replaced(two_analysts, cli):
    from forecast import Project
    from forecast.analysis.analysts import analysts_of
    from forecast.model.exact import exact_posterior
    from forecast.model.likelihood import evidence_arrays

    report = Project.open(two_analysts).judges()
    result = report.result
    spec = load_spec(two_analysts / M)
    arrays = evidence_arrays(spec)
    analysts = analysts_of(spec, arrays)
    lead = list(result.hypothesis_ids).index(result.leader)
    c = arrays.claim_ids.index("crew-strike")
    [item] = [i for i in result.items if i.id == "crew-strike"]
    by_analyst = {}
    for source in analysts:
        pooled = []
        for analyst in analysts:
            theta = analyst.arrays.theta.copy()
            theta[c] = source.arrays.theta[c]
            changed = type(arrays)(**{**analyst.arrays.__dict__, "theta": theta})
            pooled.append(exact_posterior(changed).posterior)
        by_analyst[source.id] = float(np.mean(pooled, axis=0)[lead])
    assert item.swing == pytest.approx(
        (min(by_analyst.values()), max(by_analyst.values())), abs=1e-12
    )
    assert item.swing_by == (
        min(by_analyst, key=by_analyst.get),
        max(by_analyst, key=by_analyst.get),
    )
    assert item.lbf_spread > 0
    # Judged alike by both, a fact's phi does not swing (its term still differs through the
    # sign customs-closed, whose if_true the second analyst reads higher).
    [fact] = [i for i in result.items if i.id == "harbour-shut"]
    assert fact.swing[0] == fact.swing[1] and fact.lbf_spread > 0
    assert result.ranked()[0].id == "crew-strike"
    out = cli("judges")
    assert out.exit_code == 0, out.stderr
    assert "crew-strike (claim): " in out.stdout and "Krippendorff's alpha" in out.stdout
    rows = cli("judges", "--format", "csv").stdout.splitlines()
    assert rows[0] == "item,of,kind,evidence,second,lbf_spread,pooled_leader_low,pooled_leader_high"


def test_a_fit_with_analysts_writes_judges_csv_and_summary_json(two_analysts, cli):
    import json

    from conftest import fix_reliabilities

    fix_reliabilities(two_analysts)
    result = cli("fit", "--no-plots")
    assert result.exit_code == 0, result.stderr
    out = two_analysts / "results" / "mini"
    assert (out / "judges.csv").read_text().startswith("item,of,kind,evidence,second,")
    summary = json.loads((out / "summary.json").read_text())
    assert [a["id"] for a in summary["analysts"]] == ["evidence", "second"]
    assert summary["judges"]["alpha"]["not_blind"] == []
    report = (out / "report.txt").read_text()
    assert "Pooled over 2 analysts" in report
    assert "Assessment (pooled over evidence, second): strike is the most probable answer" in report


def test_fit_judge_fits_one_analyst_alone(two_analysts, cli):
    import json

    from conftest import fix_reliabilities

    fix_reliabilities(two_analysts)
    pooled = cli("fit", "--no-plots", "--format", "json")
    assert pooled.exit_code == 0, pooled.stderr
    [second] = [a for a in json.loads(pooled.stdout)["analysts"] if a["id"] == "second"]
    alone = cli("fit", "--judge", "second", "--no-plots")
    assert alone.exit_code == 0, alone.stderr
    summary = json.loads((two_analysts / "results/mini--second/summary.json").read_text())
    assert summary["model"] == "mini--second" and "analysts" not in summary
    for row in summary["hypotheses"]:
        assert row["mean"] == pytest.approx(second["posterior"][row["hypothesis"]], abs=1e-12)
        assert row["prior"] == {"storm": 0.4, "strike": 0.4, "other": 0.2}[row["hypothesis"]]
    before = tree_hash(two_analysts)
    unknown = cli("fit", "--judge", "third")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "Error: --judge: no analyst 'third' (judgments/ holds: second)"
    assert tree_hash(two_analysts) == before


def test_an_update_with_analysts_reports_and_publishes_the_pool(mini_project, cli):
    import json

    from conftest import prepare_exact_updates
    from forecast import Project
    from forecast.analysis.analysts import analysts_of
    from forecast.model.exact import exact_posterior
    from forecast.model.likelihood import evidence_arrays

    prepare_exact_updates(mini_project)
    (mini_project / "judgments").mkdir()
    shutil.copy(FIXTURES / "analysts" / "second.yaml", mini_project / SECOND)
    assert cli("fit", "--no-plots").exit_code == 0
    report = Project.open(mini_project).update("incoming/gale.yaml", plots=False)
    spec = load_spec(mini_project / M)
    analysts = analysts_of(spec, evidence_arrays(spec))
    pooled = np.mean([exact_posterior(a.arrays).posterior for a in analysts], axis=0)
    np.testing.assert_allclose(report.table()["after_mean"], pooled, atol=1e-12)
    summary = json.loads((mini_project / "results/mini/summary.json").read_text())
    np.testing.assert_allclose([h["mean"] for h in summary["hypotheses"]], pooled, atol=1e-12)
    assert [a["id"] for a in summary["analysts"]] == ["evidence", "second"]


def test_an_analysts_opinions_over_the_per_source_cap_are_refused_at_its_judgment(
    two_analysts, cli
):
    # Two opinions of one source: the evidence's moderate second opinion passes together
    # with the first; the analyst's 1 / 0 for it takes the pair over the per-source cap.
    edit(
        two_analysts / M,
        "    grade_rationale: Local reporter.\n",
        "    grade_rationale: Local reporter.\n    judgment_reliability: 0.45\n",
    )
    edit(
        two_analysts / "evidence/mini.yaml",
        "        quote: the strike was organised by the shipping company itself\n",
        "        quote: the strike was organised by the shipping company itself\n"
        "  - id: strike-planned\n    kind: opinion\n    text: The strike was planned.\n"
        "    judgments: {strike: 0.6, otherwise: 0.4}\n    attestations:\n"
        "      - id: a-planned-correspondent\n        source: correspondent\n"
        "        document: harbour-report\n        quote: Our correspondent believes the strike\n",
    )
    assert cli("check").exit_code == 0
    result = _check_with_judged(two_analysts, cli, "strike-planned", "strike: 1", "otherwise: 0")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "judgments/second.yaml:16: claims.strike-planned: with these judgments the opinions of "
        "'correspondent' together have likelihood ratio 6.95, over the per-source cap 4.0"
    )


def test_seed_judges_show_both_analysts_their_pool_and_alpha(tmp_path, monkeypatch, cli):
    """The seed case's blind second reading: both analysts, the pool of their fits, alpha."""
    import json

    from conftest import REPO, copy_project
    from forecast.analysis.analysts import analyst_spec
    from forecast.model.exact import exact_posterior
    from forecast.model.likelihood import evidence_arrays

    parts = ("models", "evidence", "seeds", "judgments")
    root = copy_project(REPO, tmp_path / "seed", parts)
    monkeypatch.chdir(root)
    result = cli("judges", "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    spec = load_spec(root / "models" / "azerbaijan-2025.yaml")
    assert [a["id"] for a in report["analysts"]] == ["evidence", "second"]
    assert [a["blind"] for a in report["analysts"]] == [None, True]  # the evidence: not stated
    # Every claim and fact judged by both: the second reading covers the final claim set.
    assert {a.id for a in spec.analysts} == {"second"}
    [second] = spec.analysts
    assert second.judged == {c.id for c in spec.claims} | {f.id for f in spec.facts}
    # The pool is the equal-weight mean of each analyst's own exact fit.
    evidence_only = load_spec(
        copy_project(REPO, tmp_path / "one") / "models" / "azerbaijan-2025.yaml"
    )
    alone = [
        exact_posterior(evidence_arrays(s)).posterior
        for s in (evidence_only, analyst_spec(spec, "second"))
    ]
    for analyst, posterior in zip(report["analysts"], alone, strict=True):
        assert list(analyst["posterior"].values()) == pytest.approx(posterior.tolist(), abs=1e-9)
    pooled = np.mean(alone, axis=0)
    assert list(report["pooled"].values()) == pytest.approx(pooled.tolist(), abs=1e-9)
    assert report["leader"] == spec.hypotheses[int(np.argmax(pooled))].id
    alpha = report["alpha"]["judgments"]
    assert -1 < alpha["alpha"] <= 1 and alpha["low"] <= alpha["alpha"] <= alpha["high"]
    assert report["alpha"]["not_blind"] == []
    table = cli("judges").stdout
    assert f"on the judgments: {alpha['alpha']:.2f}" in table
    rows = table.split("Each analyst's P(h | E) and their equal-weight pool")[1].splitlines()
    assert [row.split()[0] for row in rows[2:5]] == ["evidence", "second", "pooled"]
