"""Robustness: leave-one-out, prior variants and flips, against hand formulas and refits."""

from __future__ import annotations

import json
import math
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import FIXTURES, tree_hash
from forecast.analysis.robustness import sensitivity
from forecast.model.exact import exact_posterior
from forecast.model.likelihood import evidence_arrays
from forecast.spec import perturb
from forecast.spec.rules import load_spec

# --- a toy whose every figure is a hand formula ---------------------------------------------

TEXT = "The bridge was closed. The mayor resigned. The river rose."


def toy_project(root: Path, priors=(0.6, 0.4), c1=(0.8, 0.2), c2=(0.3, 0.6)) -> Path:
    """Hypotheses a, b; claim c1 by s1 (fixed r 0.6), c2 by s2 (fixed r 0.5); a = 0.2."""
    (root / "models").mkdir(parents=True)
    (root / "evidence").mkdir()
    (root / "seeds").mkdir()
    (root / "seeds" / "text.txt").write_text(TEXT)
    (root / "models" / "toy.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: toy
            title: Toy
            explanandum: Why.
            background: A toy.
            hypotheses:
              - {{id: a, label: A, description: A., prior: {priors[0]}, prior_rationale: Base.}}
              - {{id: b, label: B, description: B., prior: {priors[1]}, prior_rationale: Base.}}
            documents:
              - {{id: d1, path: seeds/text.txt, title: Text, author: Someone}}
            sources:
              - {{id: s1, name: S1, grade: C, grade_rationale: Toy., reliability: 0.6}}
              - {{id: s2, name: S2, grade: C, grade_rationale: Toy., reliability: 0.5}}
            """
        )
    )
    (root / "evidence" / "toy.yaml").write_text(
        textwrap.dedent(
            f"""\
            model: toy
            judged_by: Tester
            judged_on: 2025-01-01
            claims:
              - id: c1
                kind: act
                text: The bridge was closed.
                judgments: {{a: {c1[0]}, b: {c1[1]}}}
                attestations:
                  - {{id: t1, source: s1, document: d1, quote: The bridge was closed}}
              - id: c2
                kind: act
                text: The mayor resigned.
                judgments: {{a: {c2[0]}, b: {c2[1]}}}
                attestations:
                  - {{id: t2, source: s2, document: d1, quote: The mayor resigned}}
            """
        )
    )
    return root / "models" / "toy.yaml"


def witness(theta: float, r: float, rate: float = 0.2) -> float:
    """P(one attestation | h) = theta (r + (1 - r) a) + (1 - theta) (1 - r) a."""
    return theta * (r + (1 - r) * rate) + (1 - theta) * (1 - r) * rate


def p_a(prior_a: float, like_a: float, like_b: float) -> float:
    return prior_a * like_a / (prior_a * like_a + (1 - prior_a) * like_b)


def change(result, kind, item, what="removed"):
    found = [c for c in result.changes if (c.kind, c.id, c.change) == (kind, item, what)]
    assert len(found) == 1, (kind, item, what)
    return found[0]


def test_leave_one_out_and_priors_match_hand_formulas(tmp_path):
    result = sensitivity(load_spec(toy_project(tmp_path)))
    l1 = {"a": witness(0.8, 0.6), "b": witness(0.2, 0.6)}  # 0.56, 0.20
    l2 = {"a": witness(0.3, 0.5), "b": witness(0.6, 0.5)}  # 0.25, 0.40
    assert math.isclose(l1["a"], 0.56) and math.isclose(l2["b"], 0.40)
    base = p_a(0.6, l1["a"] * l2["a"], l1["b"] * l2["b"])
    assert math.isclose(base, 21 / 29)
    np.testing.assert_allclose(result.posterior, [base, 1 - base], rtol=1e-12)
    expected = {
        ("source", "s1"): p_a(0.6, l2["a"], l2["b"]),  # 15/31: c1 loses its only witness
        ("source", "s2"): p_a(0.6, l1["a"], l1["b"]),  # 21/26
        ("claim", "c1"): p_a(0.6, l2["a"], l2["b"]),
        ("claim", "c2"): p_a(0.6, l1["a"], l1["b"]),
        ("document", "d1"): 0.6,  # no evidence left: the prior
    }
    assert math.isclose(expected[("source", "s1")], 15 / 31)
    for (kind, item), p in expected.items():
        np.testing.assert_allclose(change(result, kind, item).posterior[0], p, rtol=1e-12)
    like = (l1["a"] * l2["a"], l1["b"] * l2["b"])
    uniform = change(result, "prior", "uniform", "uniform").posterior[0]
    np.testing.assert_allclose(uniform, p_a(0.5, *like), rtol=1e-12)  # 7/11
    for power in (0.5, 2.0):
        weight = (0.6**power, 0.4**power)
        p = weight[0] * like[0] / (weight[0] * like[0] + weight[1] * like[1])
        got = change(result, "prior", f"power-{power:g}", f"power {power:g}").posterior[0]
        np.testing.assert_allclose(got, p, rtol=1e-12)
    split = result.prior_split
    assert (split.leader, split.runner_up) == ("a", "b")
    np.testing.assert_allclose(split.log_prior_odds, math.log(0.6 / 0.4))
    np.testing.assert_allclose(split.log_bayes_factor, math.log(like[0] / like[1]))
    np.testing.assert_allclose(split.log_posterior_odds, math.log(base / (1 - base)))


@pytest.mark.parametrize(
    ("priors", "c1", "c2", "verdict"),
    [
        # Evidence favours b (likelihood ratio 0.6), a strong prior on a makes a lead.
        ((0.9, 0.1), (0.3, 0.5), (0.5, 0.5), "the prior decides the leader"),
        # Strong evidence for a, a mild prior: the answer stands under every prior.
        ((0.55, 0.45), (0.95, 0.05), (0.9, 0.1), "evidence-driven"),
        # The leader stays, but its word moves when the prior is squared.
        ((0.7, 0.3), (0.6, 0.4), (0.5, 0.5), "prior-sensitive"),
    ],
)
def test_prior_verdicts(tmp_path, priors, c1, c2, verdict):
    result = sensitivity(load_spec(toy_project(tmp_path, priors, c1, c2)))
    assert result.prior_verdict == verdict


# --- a leave-one-out figure equals a refit with the item deleted from the files --------------


def _load_yaml(path: Path):
    return yaml.safe_load(path.read_text())


def _edit_project(root: Path, kind: str, item: str) -> None:
    """Delete an item from the project's files, as an analyst would, with what depends on it."""
    files = {p: _load_yaml(p) for p in (root / "evidence").glob("*.yaml")}
    model_path = next((root / "models").glob("*.yaml"))
    model = _load_yaml(model_path)
    documents = {d["id"]: d for d in model.get("documents", [])}
    sources = {s["id"]: s for s in model.get("sources", [])}
    for data in files.values():
        documents |= {d["id"]: d for d in data.get("documents", [])}
        sources |= {s["id"]: s for s in data.get("sources", [])}

    def attestations():
        for data in files.values():
            for claim in data.get("claims", []):
                for att in claim.get("attestations", []):
                    yield claim["id"], att
            for att in data.get("attestations", []):
                yield att["claim"], att

    dropped_claims: set[str] = set()
    dropped_atts: set[str] = set()
    if kind == "source":
        voices = {item} | {s for s, v in sources.items() if v.get("speaks_for") == item}
        dropped_atts = {a["id"] for _, a in attestations() if a["source"] in voices}
    elif kind == "document":
        family = {item}
        while more := {d for d, v in documents.items() if v.get("derived_from") in family} - family:
            family |= more
        dropped_atts = {a["id"] for _, a in attestations() if a["document"] in family}
    elif kind == "claim":
        dropped_claims = {item}
    elif kind == "fact":
        dropped_claims = {
            c["id"]
            for data in files.values()
            for c in data.get("claims", [])
            if c.get("fact") == item
        }
    dropped_atts |= {a["id"] for _, a in attestations() if a.get("restates") in dropped_atts}
    had = {cid for cid, _ in attestations()}
    left = {cid for cid, a in attestations() if a["id"] not in dropped_atts}
    dropped_claims |= had - left
    for data in files.values():
        for claim in data.get("claims", []):
            claim["attestations"] = [
                a for a in claim.get("attestations", []) if a["id"] not in dropped_atts
            ]
            claim["contradicts"] = [
                c for c in claim.get("contradicts", []) if c not in dropped_claims
            ]
        data["claims"] = [c for c in data.get("claims", []) if c["id"] not in dropped_claims]
        data["attestations"] = [
            a
            for a in data.get("attestations", [])
            if a["id"] not in dropped_atts and a["claim"] not in dropped_claims
        ]
        used = {c.get("fact") for d in files.values() for c in d.get("claims", [])}
        data["facts"] = [f for f in data.get("facts", []) if f["id"] in used]
    model["facts"] = [
        f
        for f in model.get("facts", [])
        if f["id"] in {c.get("fact") for d in files.values() for c in d.get("claims", [])}
    ]
    for path, data in files.items():
        if not data["claims"] and not data["attestations"]:
            path.unlink()  # nothing left in it: an analyst deletes the file
            continue
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    model_path.write_text(yaml.safe_dump(model, sort_keys=False, allow_unicode=True))


def _items(spec):
    attested = {a.source_id for a in spec.attestations} | {a.witness_id for a in spec.attestations}
    return (
        [("source", s) for s in spec.sources if s in attested]
        + [("document", d) for d in spec.documents]
        + [("claim", c.id) for c in spec.claims]
        + [("fact", f.id) for f in spec.facts]
    )


def test_every_leave_one_out_equals_a_refit_without_the_item(tmp_path):
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    result = sensitivity(spec)
    items = _items(spec)
    assert {kind for kind, _ in items} == {"source", "document", "claim", "fact"}
    assert ("source", "port-authority") in items and ("document", "harbour-report") in items
    for kind, item in items:
        root = tmp_path / f"{kind}-{item}"
        shutil.copytree(FIXTURES / "mini", root, ignore=shutil.ignore_patterns("results"))
        _edit_project(root, kind, item)
        refit = exact_posterior(evidence_arrays(load_spec(root / "models" / "mini.yaml")))
        np.testing.assert_allclose(
            change(result, kind, item).posterior, refit.posterior, rtol=1e-9, err_msg=item
        )


def test_a_fact_ungrouped_equals_its_claims_written_with_their_implied_theta(tmp_path):
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    result = sensitivity(spec)
    root = tmp_path / "ungrouped"
    shutil.copytree(FIXTURES / "mini", root, ignore=shutil.ignore_patterns("results"))
    implied = {c.id: c.theta for c in spec.claims if c.fact == "harbour-shut"}
    path = root / "evidence" / "harbour.yaml"
    data = _load_yaml(path)
    for claim in data["claims"]:
        del claim["fact"]
        claim["judgments"] = dict(zip(spec.hypothesis_ids, implied[claim["id"]], strict=True))
    data["facts"] = []
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    refit = exact_posterior(evidence_arrays(load_spec(root / "models" / "mini.yaml")))
    ungrouped = change(result, "fact", "harbour-shut", "ungrouped")
    np.testing.assert_allclose(ungrouped.posterior, refit.posterior, rtol=1e-9)
    # Declaring the dependence changes the answer: the two signs no longer count twice.
    assert np.abs(ungrouped.posterior - result.posterior).max() > 0.01


# --- the counting rules after a removal --------------------------------------------------------


def test_removing_an_organisation_removes_its_members_and_a_member_only_itself():
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    late = next(c for c in spec.claims if c.id == "late-departure")
    counted = {a.id for a in late.counted_attestations}
    assert "a-late-duty-officer" in counted and "a-late-spokesperson" not in counted
    without_org = perturb.without_source(spec, "port-authority")
    late_after = next(c for c in without_org.claims if c.id == "late-departure")
    assert {a.source_id for a in late_after.attestations} == {"correspondent", "wire"}
    # The departures claim had only the authority's witness: it is dropped, and the fact keeps
    # its other claim.
    assert "departures-held" not in {c.id for c in without_org.claims}
    assert without_org.facts[0].claims == ("customs-closed",)
    # Without the duty officer, the spokesperson's attestation now counts for the authority.
    without_member = perturb.without_source(spec, "duty-officer")
    late_after = next(c for c in without_member.claims if c.id == "late-departure")
    assert {a.id for a in late_after.counted_attestations} == {
        "a-late-correspondent",
        "a-late-spokesperson",
    }


def test_a_restatement_goes_with_what_it_restates_and_a_copy_with_its_parent():
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    without = perturb.without_source(spec, "officials")
    assert "storm-said" not in {c.id for c in without.claims}  # the endorsement went too
    assert "a-storm-port" not in {a.id for a in without.attestations}
    assert perturb.descendants(spec, "harbour-report") == {"syndicated"}
    without_doc = perturb.without_document(spec, "harbour-report")
    assert not {a.document_id for a in without_doc.attestations} & {"harbour-report", "syndicated"}


# --- flips, ranges and the command ------------------------------------------------------------


def test_flips_and_the_robust_range_on_the_mini_model():
    result = sensitivity(load_spec(FIXTURES / "mini" / "models" / "mini.yaml"))
    lead = result.hypothesis_ids[result.leader]
    assert lead == "strike"
    dockers = change(result, "source", "dockers")
    assert int(np.argmax(dockers.posterior)) != result.leader and result.is_flip(dockers)
    low, high = result.robust_range()[result.leader]
    assert low == min(c.posterior[result.leader] for c in result.changes if c.kind != "prior")
    assert low <= result.posterior[result.leader] <= high
    assert dockers in result.flips
    # Removing the wire desk's only counted claim barely moves anything: not a flip.
    quiet = [c for c in result.changes if abs(c.posterior - result.posterior).max() < 0.01]
    assert quiet and not any(result.is_flip(c) for c in quiet)


def test_seed_report_names_the_most_influential_source(seed_project, cli):
    """The report's leader and its most influential source are the computed ones."""
    result = cli("sensitivity", "--top", "5")
    assert result.exit_code == 0, result.stderr
    computed = sensitivity(load_spec(seed_project / "models" / "azerbaijan-2025.yaml"))
    lead = computed.hypothesis_ids[computed.leader]
    removals = [c for c in computed.changes if c.kind == "source"]
    strongest = max(
        removals,
        key=lambda c: abs(c.posterior[computed.leader] - computed.posterior[computed.leader]),
    )
    effects = result.stdout.split(f"Largest effects on P({lead}):")[1].splitlines()
    assert any(f"without source {strongest.id}:" in line for line in effects[:6])
    assert f"{lead} is the most probable answer" in result.stdout


def test_sensitivity_csv_has_one_row_per_change(mini_project, cli):
    result = cli("sensitivity", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "kind,change,id,storm,strike,other,leader,flip"
    expected = sensitivity(load_spec(mini_project / "models" / "mini.yaml"))
    assert len(lines) == 1 + len(expected.changes)
    kinds = {line.split(",")[0] for line in lines[1:]}
    assert kinds == {"source", "document", "claim", "fact", "band", "grade", "prior"}
    assert lines[1].startswith("source,removed,dockers,0.65")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--top", "0"], "Error: --top: must be at least 1, not 0"),
        (["--format", "xml"], "Error: --format: choose table, csv or json"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(mini_project, cli, args, message):
    before = tree_hash(mini_project)
    result = cli("sensitivity", *args)
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert tree_hash(mini_project) == before


# --- judgment bands --------------------------------------------------------------------------


def _brute_force(tmp_path, spec, claims=None):
    """P(h) at every vertex of the judgment bands (tied cells together), by refitting."""
    import itertools

    from forecast.analysis.robustness import judgment_bands

    arrays = evidence_arrays(spec)
    low, high, ties = judgment_bands(spec, arrays)
    cells = [
        (c, group)
        for c in range(len(arrays.claim_ids))
        if claims is None or arrays.claim_ids[c] in claims
        for group in np.unique(ties[c])
        if (high[c][ties[c] == group] > low[c][ties[c] == group]).any()
    ]
    out = []
    for corner in itertools.product((False, True), repeat=len(cells)):
        theta = arrays.theta.copy()
        for (c, group), up in zip(cells, corner, strict=True):
            members = ties[c] == group
            theta[c, members] = np.where(up, high[c, members], low[c, members])
        changed = exact_posterior(type(arrays)(**{**arrays.__dict__, "theta": theta})).posterior
        out.append(changed)
    return np.stack(out)


def test_bands_of_words_ranges_numbers_and_definitional_values():
    from forecast.analysis.robustness import judgment_bands

    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    arrays = evidence_arrays(spec)
    low, high, ties = judgment_bands(spec, arrays)
    row = {c: i for i, c in enumerate(arrays.claim_ids)}
    strike = row["crew-strike"]  # strike: very likely; otherwise: 0.1
    np.testing.assert_allclose(low[strike], [0.05, 0.80, 0.05])
    np.testing.assert_allclose(high[strike], [0.20, 0.95, 0.20])
    assert ties[strike][0] == ties[strike][2] != ties[strike][1]
    said = row["storm-said"]  # very likely, unlikely, [0.3, 0.5]
    np.testing.assert_allclose(low[said], [0.80, 0.20, 0.3])
    np.testing.assert_allclose(high[said], [0.95, 0.45, 0.5])
    assert len(set(ties[said])) == 3
    opinion = row["company-organised"]  # 1 and 0: definitional, fixed
    np.testing.assert_array_equal(low[opinion], high[opinion])
    for claim in ("customs-closed", "departures-held"):  # a fact's claims move with the fact
        np.testing.assert_array_equal(low[row[claim]], high[row[claim]])


def test_joint_band_extremes_equal_brute_force_over_every_vertex(tmp_path):
    # No tied cells: the two-pass corner formula is exact.
    spec = load_spec(toy_project(tmp_path, (0.5, 0.5), ("likely", "unlikely"), ([0.2, 0.5], 0.3)))
    result = sensitivity(spec)
    vertices = _brute_force(tmp_path, spec)
    assert len(vertices) == 2**4  # c1: two words; c2: a range and a number in its band
    np.testing.assert_allclose(result.joint_range[:, 0], vertices.min(0), rtol=1e-10)
    np.testing.assert_allclose(result.joint_range[:, 1], vertices.max(0), rtol=1e-10)
    low, high = result.typical_spread.T
    assert np.all(low >= vertices.min(0) - 1e-12) and np.all(high <= vertices.max(0) + 1e-12)


def test_each_claims_band_corner_equals_brute_force_over_its_vertices():
    # crew-strike has two tied cells (otherwise: 0.1) and one alone: four vertices.
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    result = sensitivity(spec)
    for claim in ("crew-strike", "storm-said", "late-departure"):
        vertices = _brute_force(None, spec, claims={claim})
        corners = np.stack(
            [c.posterior for c in result.changes if c.kind == "band" and c.id == claim]
        )
        np.testing.assert_allclose(corners.max(0), vertices.max(0), rtol=1e-10, err_msg=claim)
        np.testing.assert_allclose(corners.min(0), vertices.min(0), rtol=1e-10, err_msg=claim)
    late = [c for c in result.changes if c.kind == "band" and c.id == "late-departure"]
    assert len(late) == 2  # otherwise: almost certain, one judgment: up or down


# --- grades ----------------------------------------------------------------------------------


def test_grade_steps_at_the_ends_and_for_f():
    from forecast.analysis.robustness import grade_steps

    assert grade_steps("A") == ("B",)
    assert grade_steps("C") == ("B", "D")
    assert grade_steps("E") == ("D",)
    assert grade_steps("F") == ("C", "D")


def test_a_grade_step_equals_a_refit_with_the_grade_edited(tmp_path):
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    result = sensitivity(spec)
    grades = {(c.id, c.change) for c in result.changes if c.kind == "grade"}
    # Members of the port authority testify as it: they have no step of their own.
    assert ("officials", "D to C") in grades and ("dockers", "F to D") in grades
    assert not {source for source, _ in grades} & {"duty-officer", "spokesperson"}
    for source, old, new in (("officials", "D", "C"), ("dockers", "F", "C"), ("wire", "E", "D")):
        root = tmp_path / f"{source}-{new}"
        shutil.copytree(FIXTURES / "mini", root, ignore=shutil.ignore_patterns("results"))
        model = root / "models" / "mini.yaml"
        text = model.read_text()
        anchor = f"  - id: {source}\n"
        head, tail = text.split(anchor)
        model.write_text(head + anchor + tail.replace(f"grade: {old}", f"grade: {new}", 1))
        refit = exact_posterior(evidence_arrays(load_spec(model)))
        np.testing.assert_allclose(
            change(result, "grade", source, f"{old} to {new}").posterior,
            refit.posterior,
            rtol=1e-9,
        )


def test_a_source_with_an_explicit_reliability_has_no_grade_step(tmp_path):
    result = sensitivity(load_spec(toy_project(tmp_path)))
    assert not [c for c in result.changes if c.kind == "grade"]


# --- the confidence rule, case by case ------------------------------------------------------


def _sensitivity_with(changes, witnesses=("w1", "w2", "w3"), certified=True, base=0.7):
    """Hypotheses a, b, c; each change gives P(a), b and c share the rest equally."""
    from forecast.analysis.robustness import Change, Sensitivity

    def vector(p):
        return np.array([p, (1 - p) / 2, (1 - p) / 2])

    zero = np.zeros(3)
    made = [Change(kind, item, what, vector(p), zero) for kind, item, what, p in changes]
    return Sensitivity(
        hypothesis_ids=("a", "b", "c"),
        posterior=vector(base),
        standard_error=zero,
        log_prior=np.log([1 / 3] * 3),
        log_evidence=np.log(vector(base)),
        changes=tuple(made),
        certified=certified,
        strong_witnesses=witnesses,
    )


LOWERING = [("source", w, "removed", 0.66) for w in ("w1", "w2", "w3")]


@pytest.mark.parametrize(
    ("changes", "witnesses", "certified", "level", "reason"),
    [
        # a = 70 % (likely, band 55-80 %); b and c share the rest.
        ([*LOWERING, ("source", "x", "removed", 0.30)], None, True, "low", "b leads"),
        # Two band boundaries (55 % and 45 %) and 26 points: low; one boundary: not.
        ([*LOWERING, ("claim", "c", "removed", 0.44)], None, True, "low", "falls to 44 %"),
        ([*LOWERING, ("band", "c", "a lowest", 0.43)], None, True, "low", "falls to 43 %"),
        ([*LOWERING, ("claim", "c", "removed", 0.46)], None, True, "moderate", "falls to 46 %"),
        ([*LOWERING, ("prior", "uniform", "uniform", 0.3)], None, True, "low", "prior decides"),
        (LOWERING, None, False, "low", "not certified"),
        (LOWERING, None, True, "high", "no single change"),
        ([*LOWERING, ("grade", "w1", "C to B", 0.815)], None, True, "high", "no single change"),
        ([*LOWERING, ("grade", "w1", "C to B", 0.83)], None, True, "moderate", "outside its band"),
        # 2 points below the band's lower end (55 %) still counts as in it; 3 do not.
        ([*LOWERING, ("claim", "c", "removed", 0.53)], None, True, "high", "no single change"),
        ([*LOWERING, ("claim", "c", "removed", 0.52)], None, True, "moderate", "outside its band"),
        (LOWERING, ("w1", "w2"), True, "moderate", "2 independent witnesses"),
        (LOWERING[:2], None, True, "moderate", "2 independent witnesses"),
    ],
)
def test_the_confidence_rule(changes, witnesses, certified, level, reason):
    result = _sensitivity_with(changes, witnesses or ("w1", "w2", "w3"), certified)
    assert result.confidence.level == level
    assert any(reason in r for r in result.confidence.reasons), result.confidence.reasons


def test_the_assessment_line_states_range_confidence_and_its_reason():
    result = sensitivity(load_spec(FIXTURES / "mini" / "models" / "mini.yaml"))
    assert result.assessment() == (
        "strike is the most probable answer: roughly even chance (52 %), robust range 23–65 %, "
        "computed confidence low: without source dockers, storm leads (65 %; strike 23 %)"
    )


# --- on every fit ------------------------------------------------------------------------------


def test_fit_carries_the_robustness_and_no_robustness_skips_it(mini_project, cli):
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    out = mini_project / "results" / "mini"
    expected = sensitivity(load_spec(mini_project / "models" / "mini.yaml"))
    assert f"Assessment: {expected.assessment()}." in result.stdout
    assert "Largest effects on P(strike):" in result.stdout
    assert "without source dockers: strike 52 % -> 23 % (unlikely)" in result.stdout
    rows = (out / "sensitivity.csv").read_text().splitlines()
    assert rows[0] == "kind,change,id,storm,strike,other,leader,flip"
    assert len(rows) == 1 + len(expected.changes)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["robustness"]["confidence"]["level"] == "low"
    assert summary["robustness"]["assessment"] == expected.assessment()
    assert len(summary["robustness"]["changes"]) == len(expected.changes)
    written = result.stdout.strip().rsplit("\n\nWrote ", 1)[0]
    assert (out / "report.txt").read_text().strip() == written

    bare = cli("fit", "--method", "exact", "--no-plots", "--no-robustness")
    assert bare.exit_code == 0, bare.stderr
    assert "robust range" not in bare.stdout and "Assessment: the most probable" in bare.stdout
    assert not (out / "sensitivity.csv").exists()
    assert "robustness" not in json.loads((out / "summary.json").read_text())


# --- one claim's change by its slope ---------------------------------------------------------


@pytest.mark.parametrize("method", ["quadrature", "importance sampling"])
def test_one_claims_change_by_its_slope_equals_summing_afresh(mini_project, method):
    # Z_h is linear in each single theta[c, h]: the slope gives the same sum over the same
    # nodes as integrating the changed likelihood, for a witnessed claim and an outcome.
    from forecast.analysis.robustness import IntegratedFit
    from forecast.model.likelihood import hypothesis_log_likelihood
    from test_questions import add_outcome, add_question

    add_question(mini_project)
    add_outcome(mini_project)
    arrays = evidence_arrays(load_spec(mini_project / "models" / "mini.yaml"))
    forced = {"max_dim": 0, "max_grid": 0, "draws": 4000} if method == "importance sampling" else {}
    exact = exact_posterior(arrays, **forced)
    base = IntegratedFit(exact, arrays)
    assert any(c.integrator.method == method for c in base.components)
    rng = np.random.default_rng(7)
    checked = {"witnessed": 0, "outcome": 0}
    for component in base.components:
        part = component.part
        full = hypothesis_log_likelihood(part, component.integrator.reliabilities(part))
        np.testing.assert_allclose(component.full, full, rtol=1e-12, atol=1e-12)
        for row in range(len(component.plain)):
            theta = rng.uniform(0.05, 0.95, size=component.theta.shape[1])
            np.testing.assert_allclose(
                component.with_row(row, theta)[0],
                component._direct(row, theta),
                rtol=1e-10,
                atol=1e-12,
            )
            np.testing.assert_allclose(
                component.without_row(row)[0], component._direct(row, None), rtol=1e-10, atol=1e-12
            )
            checked["outcome" if component.direct[row] else "witnessed"] += 1
    assert checked["witnessed"] >= 4 and checked["outcome"] == 1


# --- facts' bands ------------------------------------------------------------------------------


def _with_facts(arrays, phi=None, if_true=None, if_false=None):
    changes = {"fact_phi": phi, "if_true": if_true, "if_false": if_false}
    return type(arrays)(
        **{**arrays.__dict__, **{k: v for k, v in changes.items() if v is not None}}
    )


def _fact_vertices(spec, with_phi=True, with_signs=True):
    """P(h) at every vertex of the mini fact's bands (phi by tied group, if_true, if_false)."""
    import itertools

    import forecast.analysis.robustness as robustness

    arrays = evidence_arrays(spec)
    bands = robustness.fact_bands(spec, arrays)
    groups = [bands.phi_ties[0] == label for label in np.unique(bands.phi_ties[0])]
    signs = np.flatnonzero(arrays.facts >= 0)
    out = []
    for phi_ends in itertools.product((0, 1), repeat=len(groups) if with_phi else 0):
        phi = arrays.fact_phi.copy()
        for members, end in zip(groups, phi_ends, strict=True):
            phi[0, members] = (bands.phi_low, bands.phi_high)[end][0, members]
        for ends in itertools.product((0, 1), repeat=2 * len(signs) if with_signs else 0):
            if_true, if_false = arrays.if_true.copy(), arrays.if_false.copy()
            for i, c in enumerate(signs if with_signs else []):
                if_true[c] = bands.if_true[c, ends[2 * i]]
                if_false[c] = bands.if_false[c, ends[2 * i + 1]]
            out.append(exact_posterior(_with_facts(arrays, phi, if_true, if_false)).posterior)
    return np.stack(out)


def test_a_facts_phi_corners_equal_brute_force_over_its_vertices():
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    result = sensitivity(spec)
    corners = np.stack(
        [c.posterior for c in result.changes if c.id == "harbour-shut" and c.kind == "band"]
    )
    vertices = _fact_vertices(spec, with_signs=False)
    assert len(vertices) == 4  # storm alone, strike and other tied by one word
    np.testing.assert_allclose(corners.max(0), vertices.max(0), rtol=1e-10)
    np.testing.assert_allclose(corners.min(0), vertices.min(0), rtol=1e-10)
    labels = {c.label for c in result.changes if c.id == "harbour-shut" and c.kind == "band"}
    assert (
        "fact harbour-shut's P(fact | h) at the corner of its band that most favours storm"
        in labels
    )


def test_a_signs_if_true_and_if_false_ends_equal_refits():
    from forecast.analysis.robustness import fact_bands

    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    arrays = evidence_arrays(spec)
    bands = fact_bands(spec, arrays)
    result = sensitivity(spec)
    checked = 0
    for which, ends in (("if_true", bands.if_true), ("if_false", bands.if_false)):
        for c in np.flatnonzero(ends[:, 1] > ends[:, 0]):
            claim = arrays.claim_ids[c]
            moved = {}
            for end, value in zip(("lower end", "upper end"), ends[c], strict=True):
                values = getattr(arrays, which).copy()
                values[c] = value
                refit = exact_posterior(_with_facts(arrays, **{which: values})).posterior
                [change] = [
                    x for x in result.changes if x.id == claim and x.change == f"{which} {end}"
                ]
                np.testing.assert_allclose(change.posterior, refit, rtol=1e-10)
                moved[end] = refit
                checked += 1
            # P(h) is monotone in one such value: a value inside the band lies between.
            values = getattr(arrays, which).copy()
            values[c] = ends[c].mean()
            inside = exact_posterior(_with_facts(arrays, **{which: values})).posterior
            low, high = np.minimum(*moved.values()), np.maximum(*moved.values())
            assert np.all(inside >= low - 1e-12) and np.all(inside <= high + 1e-12)
    assert checked == 8  # two signs, each with if_true and if_false, each at two ends


@pytest.mark.parametrize("limit", [10, 0])
def test_the_joint_corner_over_the_facts_values(monkeypatch, limit):
    # With every claim's theta held at its value, the joint corner is over the fact alone:
    # its phi by the two-pass rule, its signs' values by vertex enumeration (or, past the
    # limit, by a search, which can only find less). Untied, the two passes are exact.
    import dataclasses

    import forecast.analysis.robustness as robustness

    judgment_bands, fact_bands = robustness.judgment_bands, robustness.fact_bands

    def points_only(spec, arrays):
        ties = judgment_bands(spec, arrays)[2]
        return arrays.theta.copy(), arrays.theta.copy(), ties

    def untied(spec, arrays):
        bands = fact_bands(spec, arrays)
        ties = np.tile(np.arange(bands.phi.shape[1]), (bands.phi.shape[0], 1))
        return dataclasses.replace(bands, phi_ties=ties)

    monkeypatch.setattr(robustness, "judgment_bands", points_only)
    monkeypatch.setattr(robustness, "fact_bands", untied)
    monkeypatch.setattr(robustness, "JOINT_VERTICES_MAX", limit)
    spec = load_spec(FIXTURES / "mini" / "models" / "mini.yaml")
    result = sensitivity(spec)
    vertices = _fact_vertices(spec)
    assert len(vertices) == 2**3 * 2**4
    if limit:
        assert result.joint_method == "exact"
        np.testing.assert_allclose(result.joint_range[:, 0], vertices.min(0), rtol=1e-10)
        np.testing.assert_allclose(result.joint_range[:, 1], vertices.max(0), rtol=1e-10)
    else:
        assert result.joint_method == "search"
        assert np.all(result.joint_range[:, 0] >= vertices.min(0) - 1e-12)
        assert np.all(result.joint_range[:, 1] <= vertices.max(0) + 1e-12)
    low, high = result.typical_spread.T
    assert np.all(low >= vertices.min(0) - 1e-12) and np.all(high <= vertices.max(0) + 1e-12)
