"""Declared dependence: organisations that speak with one voice, and endorsements."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import edit, fix_reliabilities, tree_hash
from forecast.model.exact import exact_posterior
from forecast.model.likelihood import evidence_arrays
from forecast.spec.rules import load_spec

M = "models/mini.yaml"
E = "evidence/mini.yaml"
STRIKE_QUOTE = "        quote: Dock workers said the crew had been on strike.\n"


def posterior(root):
    return exact_posterior(evidence_arrays(load_spec(root / M))).posterior


def add_source(root, block: str) -> None:
    text = (root / M).read_text()
    (root / M).write_text(text.rstrip("\n") + "\n" + block)


def add_attestation(root, after: str, block: str) -> None:
    edit(root / E, after, after + block)


UNION = (
    "  - id: union\n    name: Dockers' union\n    grade: C\n    grade_rationale: The union.\n"
    "  - id: steward\n    name: A shop steward\n    grade: F\n    grade_rationale: Unknown.\n"
    "    speaks_for: union\n"
)
STEWARD_STRIKE = (
    "      - id: a-strike-steward\n        source: steward\n        document: harbour-report\n"
    "        quote: the crew had been on strike\n"
)


#: The union with a fixed reliability, so that the exact engine is closed form.
FIXED_UNION = UNION.replace(
    "grade_rationale: The union.\n", "grade_rationale: The union.\n    reliability: 0.45\n"
)


def test_two_members_of_one_organisation_count_as_one_witness(mini_project):
    fix_reliabilities(mini_project)
    add_source(mini_project, FIXED_UNION)
    # The dockers speak for the union too.
    edit(mini_project / M, "    grade_rationale: Cannot be judged.\n    reliability: 0.5\n",
         "    grade_rationale: Cannot be judged.\n    speaks_for: union\n")  # fmt: skip
    one_member = posterior(mini_project)
    add_attestation(mini_project, STRIKE_QUOTE, STEWARD_STRIKE)
    spec = load_spec(mini_project / M)
    strike = next(c for c in spec.claims if c.id == "crew-strike")
    assert [(a.id, a.witness_id, a.counted) for a in strike.attestations] == [
        ("a-strike-dockers", "union", True),
        ("a-strike-steward", "union", False),
    ]
    assert strike.attestations[1].not_counted_because == (
        "speaks for union, already counted for this claim via a-strike-dockers"
    )
    np.testing.assert_allclose(posterior(mini_project), one_member, rtol=1e-12)


def test_a_member_testifies_with_the_organisations_reliability(mini_project):
    fix_reliabilities(mini_project)
    add_source(mini_project, FIXED_UNION)
    edit(mini_project / M, "    grade_rationale: Cannot be judged.\n    reliability: 0.5\n",
         "    grade_rationale: Cannot be judged.\n    reliability: 0.45\n")  # fmt: skip
    as_itself = posterior(mini_project)
    edit(mini_project / M, "    grade_rationale: Cannot be judged.\n    reliability: 0.45\n",
         "    grade_rationale: Cannot be judged.\n    reliability: 0.9\n    speaks_for: union\n")  # fmt: skip
    as_member = posterior(mini_project)
    # The member's own 0.9 is not used: the union's 0.45 is, so nothing moves.
    np.testing.assert_allclose(as_member, as_itself, rtol=1e-12)


def test_an_endorsement_changes_nothing(mini_project):
    fix_reliabilities(mini_project)
    before = posterior(mini_project)
    add_attestation(
        mini_project,
        "        quote: the strike was organised by the shipping company itself\n",
        "      - id: a-company-officials\n        source: officials\n        document: harbour-report\n"
        "        quote: Our correspondent believes the strike\n        restates: a-company-correspondent\n",
    )
    spec = load_spec(mini_project / M)
    endorsement = next(a for a in spec.attestations if a.id == "a-company-officials")
    assert not endorsement.counted
    assert endorsement.not_counted_because == (
        "repeats or endorses a-company-correspondent (correspondent): not a witness"
    )
    np.testing.assert_allclose(posterior(mini_project), before, rtol=1e-12)


def test_check_shows_how_each_claim_is_counted(mini_project, cli):
    add_source(mini_project, UNION)
    add_attestation(mini_project, STRIKE_QUOTE, STEWARD_STRIKE)
    edit(mini_project / E, "      storm: very likely\n      strike: unlikely\n      other: [0.3, 0.5]\n",
         "      otherwise: 0\n")  # fmt: skip
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert (
        "  steward            speaks for union: counted as union, with its reliability (its own "
        "grade F is not used)"
    ) in result.stdout
    assert (
        "  crew-strike                      act; witnesses: dockers, union (through steward)"
        in result.stdout
    )
    assert (
        "  storm-said                       statement treated as an opinion (its judgments are "
        "all 0 or 1): judgment reliability 0.1 applies; witnesses: officials"
    ) in result.stdout


def test_a_reliability_that_applies_to_nothing_is_a_warning(mini_project, cli):
    # The cab-problem trap: a witness written as a statement with 0/1 judgments is an opinion,
    # so its reporting reliability silently stops applying.
    edit(mini_project / M, "    grade_rationale: Interested party.\n",
         "    grade_rationale: Interested party.\n    reliability: 0.6\n")  # fmt: skip
    edit(mini_project / E, "      storm: very likely\n      strike: unlikely\n      other: [0.3, 0.5]\n",
         "      otherwise: 0\n")  # fmt: skip
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert (
        "  warning: models/mini.yaml:43: sources[1].reliability: reliability is set but applies "
        "to no attestation: none of its counted attestations is an act or a statement"
    ) in result.stdout


def test_speaks_for_and_restates_change_the_spec_hash(mini_project):
    base = load_spec(mini_project / M).sha256
    add_source(mini_project, UNION)
    with_union = load_spec(mini_project / M).sha256
    assert with_union != base
    add_attestation(mini_project, STRIKE_QUOTE, STEWARD_STRIKE)
    with_member = load_spec(mini_project / M).sha256
    assert with_member != with_union
    edit(mini_project / E, STEWARD_STRIKE, STEWARD_STRIKE + "        restates: a-strike-dockers\n")
    assert load_spec(mini_project / M).sha256 != with_member


def attestation(aid: str, source: str, restates: str, quote: str = "the crew had been on strike"):
    """An attestation of the crew-strike claim that restates another."""
    return (
        f"      - id: {aid}\n        source: {source}\n        document: harbour-report\n"
        f"        quote: {quote}\n        restates: {restates}\n"
    )


REFUSED = {
    "unknown_organisation": (
        [(M, UNION.replace("speaks_for: union", "speaks_for: unoin"), None)],
        "models/mini.yaml:{line}: sources[5].speaks_for: unknown source 'unoin' (did you mean 'union'?)",
    ),
    "speaks_for_itself": (
        [(M, UNION.replace("speaks_for: union", "speaks_for: steward"), None)],
        "models/mini.yaml:{line}: sources[5].speaks_for: a source does not speak for itself",
    ),
    "two_levels": (
        [
            (
                M,
                UNION.replace(
                    "grade_rationale: The union.\n",
                    "grade_rationale: The union.\n    speaks_for: officials\n",
                ),
                None,
            )
        ],
        "models/mini.yaml:{line}: sources[5].speaks_for: 'union' speaks for 'officials' itself: "
        "one level only (let 'steward' speak for 'officials')",
    ),
    "two_rates_in_one_organisation": (
        [
            (M, UNION, None),
            (E, STRIKE_QUOTE, STRIKE_QUOTE + STEWARD_STRIKE + "        say_anyway: 0.4\n"),
            (
                M,
                "    grade_rationale: Cannot be judged.\n",
                "    grade_rationale: Cannot be judged.\n    speaks_for: union\n",
            ),
        ],
        "evidence/mini.yaml:48: claims[2].attestations[1].say_anyway: organisation 'union' "
        "(through 'dockers') has rate 0.2 for claim 'crew-strike' in 'a-strike-dockers'; one "
        "(organisation, claim) pair has one rate",
    ),
    "restates_another_claim": (
        [(E, STRIKE_QUOTE, STRIKE_QUOTE + attestation("a-x", "officials", "a-storm-officials"))],
        "evidence/mini.yaml:48: claims[2].attestations[1].restates: 'a-storm-officials' attests "
        "claim 'storm-said', not 'crew-strike'",
    ),
    "restates_the_same_source_outside_a_copy": (
        [(E, STRIKE_QUOTE, STRIKE_QUOTE + attestation("a-again", "dockers", "a-strike-dockers"))],
        "evidence/mini.yaml:48: claims[2].attestations[1].restates: 'a-strike-dockers' is by the "
        "same source 'dockers': outside a copy, a source does not restate itself (its repeated "
        "reports of a claim count once anyway)",
    ),
    "restates_a_restatement": (
        [
            (M, UNION, None),
            (
                E,
                STRIKE_QUOTE,
                STRIKE_QUOTE
                + attestation("a-strike-steward", "steward", "a-strike-dockers")
                + attestation(
                    "a-strike-officials", "officials", "a-strike-steward", "crew had been"
                ),
            ),
        ],
        "evidence/mini.yaml:53: claims[2].attestations[2].restates: 'a-strike-steward' itself "
        "restates 'a-strike-dockers': name the attestation that counts",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_dependence_is_one_located_line(mini_project, cli, case):
    edits, expected = REFUSED[case]
    for path, old, new in edits:
        if new is None:
            add_source(mini_project, old)
        else:
            edit(mini_project / path, old, new)
    # The line of the steward's own speaks_for: the last one in the model file.
    lines = (mini_project / M).read_text().splitlines()
    line = 1 + max((i for i, text in enumerate(lines) if "speaks_for" in text), default=-1)
    before = tree_hash(mini_project)
    result = cli("check")
    assert result.exit_code == 2, result.output
    assert result.stderr.rstrip("\n") == expected.format(line=line)
    assert tree_hash(mini_project) == before
