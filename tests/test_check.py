"""`forecast check`: every bad input gives exit 2, one located line per problem, nothing written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import edit, tree_hash

M = "models/mini.yaml"
E = "evidence/mini.yaml"

BAD_INPUTS = {
    "yaml_syntax": (
        [
            (
                E,
                "    judgments:\n      otherwise: almost certain",
                "    judgments: [unclosed\n      otherwise: almost certain",
            )
        ],
        "evidence/mini.yaml:10: (file): YAML syntax error: did not find expected ',' or ']'",
    ),
    "python_tag_is_not_executed": (
        [
            (
                M,
                "    title: Harbour report\n",
                '    title: !!python/object/apply:os.system ["touch pwned"]\n',
            )
        ],
        "models/mini.yaml:26: documents[0].title: YAML tag "
        "'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
    ),
    "unknown_field": (
        [
            (
                M,
                "    grade_rationale: Local reporter.\n",
                "    grade_rationale: Local reporter.\n    colour: red\n",
            )
        ],
        "models/mini.yaml:39: sources[0].colour: unknown field (valid: id, name, role, grade, "
        "grade_rationale, reliability, judgment_reliability, speaks_for)",
    ),
    "unknown_top_level_field": (
        [(E, "judged_by: Test analyst\n", "judged_by: Test analyst\nreviewed_by: Someone\n")],
        "evidence/mini.yaml:3: reviewed_by: unknown field (valid: model, judged_by, judged_on, "
        "documents, sources, facts, claims, attestations)",
    ),
    "misspelt_field": (
        [(M, "    prior_rationale: Strikes happen.\n", "    prior_rationalle: Strikes happen.\n")],
        "models/mini.yaml:12: hypotheses[1].prior_rationale: missing field\n"
        "models/mini.yaml:17: hypotheses[1].prior_rationalle: unknown field (did you mean "
        "'prior_rationale'? valid: id, label, description, proposed_in, prior, prior_rationale)",
    ),
    "missing_field": (
        [(M, "    prior_rationale: Catch-all.\n", "")],
        "models/mini.yaml:18: hypotheses[2].prior_rationale: missing field",
    ),
    "duplicate_key": (
        [(M, "    prior: 0.2\n", "    prior: 0.2\n    prior: 0.3\n")],
        "models/mini.yaml:22: hypotheses[2].prior: duplicate key",
    ),
    "unknown_hypothesis": (
        [(E, "      strike: very likely", "      strik: very likely")],
        "evidence/mini.yaml:37: claims[2].judgments.strik: unknown hypothesis 'strik' "
        "(did you mean 'strike'?)",
    ),
    "unknown_source": (
        [(E, "        source: dockers", "        source: dockerz")],
        "evidence/mini.yaml:41: claims[2].attestations[0].source: unknown source 'dockerz' "
        "(did you mean 'dockers'?)",
    ),
    "unknown_source_like_no_other": (
        [(E, "        source: dockers", "        source: harbourmaster")],
        "evidence/mini.yaml:41: claims[2].attestations[0].source: unknown source 'harbourmaster'",
    ),
    "unknown_document": (
        [
            (
                E,
                "        document: syndicated\n        quote: the weather",
                "        document: syndicate\n        quote: the weather",
            )
        ],
        "evidence/mini.yaml:54: claims[3].attestations[0].document: unknown document 'syndicate' "
        "(did you mean 'syndicated'?)",
    ),
    "unknown_contradicted_claim": (
        [(E, "contradicts: [storm-said]", "contradicts: [storm-sayed]")],
        "evidence/mini.yaml:47: claims[3].contradicts[0]: unknown claim 'storm-sayed' "
        "(did you mean 'storm-said'?)",
    ),
    "unknown_judgment_key_like_otherwise": (
        [(E, "      otherwise: 0.1", "      otherwis: 0.1")],
        "evidence/mini.yaml:36: claims[2].judgments: claim has no judgment for storm, other "
        "(give one, or 'otherwise')\n"
        "evidence/mini.yaml:38: claims[2].judgments.otherwis: unknown hypothesis 'otherwis' "
        "(did you mean 'otherwise'?)",
    ),
    "unknown_parent_document": (
        [(M, "derived_from: harbour-report", "derived_from: harbor-report")],
        # Without its parent, the copy's restatement of another source is an endorsement, which
        # is allowed anywhere: only the unknown parent is a problem.
        "models/mini.yaml:33: documents[1].derived_from: unknown document 'harbor-report' "
        "(did you mean 'harbour-report'?)",
    ),
    "unknown_document_proposing_a_hypothesis": (
        [(M, "proposed_in: [harbour-report]", "proposed_in: [harbour-reports]")],
        "models/mini.yaml:9: hypotheses[0].proposed_in[0]: unknown document 'harbour-reports' "
        "(did you mean 'harbour-report'?)",
    ),
    "unknown_restated_attestation": (
        [(E, "restates: a-late-correspondent", "restates: a-late-corespondent")],
        "evidence/mini.yaml:20: claims[0].attestations[1].restates: unknown attestation "
        "'a-late-corespondent' (did you mean 'a-late-correspondent'?)",
    ),
    "unknown_claim_of_an_attestation": (
        [
            (
                E,
                "        quote: the strike was organised by the shipping company itself\n",
                "        quote: the strike was organised by the shipping company itself\n"
                "attestations:\n  - id: a-late-dockers\n    claim: late-departur\n"
                "    source: dockers\n    document: harbour-report\n"
                "    quote: two hours late\n",
            )
        ],
        "evidence/mini.yaml:69: attestations[0].claim: unknown claim 'late-departur' "
        "(did you mean 'late-departure'?)",
    ),
    "document_date_not_iso": (
        [(M, "    date: 2025-03-03\n", "    date: 3 March 2025\n")],
        "models/mini.yaml:28: documents[0].date: date '3 March 2025' is not an ISO date (YYYY-MM-DD)",
    ),
    "claim_date_not_a_calendar_date": (
        [(E, "    date: 2025-03-03\n", "    date: 2025-02-30\n")],
        "evidence/mini.yaml:8: claims[0].date: date '2025-02-30' is not a calendar date "
        "(day is out of range for month)",
    ),
    "judged_on_not_iso": (
        [(E, "judged_on: 2025-03-04\n", "judged_on: 4/3/2025\n")],
        "evidence/mini.yaml:3: judged_on: date '4/3/2025' is not an ISO date (YYYY-MM-DD)",
    ),
    "window_end_not_iso": (
        [(M, "background:", "window:\n  start: 2025-03-01\n  end: 2025-3-5\nbackground:")],
        "models/mini.yaml:6: window.end: date '2025-3-5' is not an ISO date (YYYY-MM-DD)",
    ),
    "date_with_a_time": (
        [(E, "    date: 2025-03-03\n", "    date: 2025-03-03 06:00:00\n")],
        "evidence/mini.yaml:8: claims[0].date: date '2025-03-03 06:00:00' is not an ISO date "
        "(YYYY-MM-DD)",
    ),
    "judgment_above_one": (
        [(E, "      otherwise: 0.1", "      otherwise: 1.1")],
        "evidence/mini.yaml:38: claims[2].judgments.otherwise: probability 1.1 is outside [0, 1]",
    ),
    "say_anyway_zero": (
        [
            (
                E,
                "        quote: Dock workers said the crew had been on strike.",
                "        quote: Dock workers said the crew had been on strike.\n        say_anyway: 0",
            )
        ],
        "evidence/mini.yaml:44: claims[2].attestations[0].say_anyway: rate 0 is outside [1e-06, 1]",
    ),
    "fixed_reliability_one": (
        [
            (
                M,
                "    grade_rationale: Cannot be judged.\n",
                "    grade_rationale: Cannot be judged.\n    reliability: 1.0\n",
            )
        ],
        "models/mini.yaml:47: sources[2].reliability: reliability 1.0 is outside [0, 1)",
    ),
    "range_reversed": (
        [(E, "other: [0.3, 0.5]", "other: [0.5, 0.3]")],
        "evidence/mini.yaml:27: claims[1].judgments.other: range [0.5, 0.3] has lo > hi",
    ),
    "unknown_word_suggests_nearest": (
        [(E, "storm: very likely", "storm: very likly")],
        "evidence/mini.yaml:25: claims[1].judgments.storm: unknown ICD-203 word 'very likly' "
        "(did you mean 'very likely'?)",
    ),
    "quote_not_in_source": (
        [
            (
                E,
                "Dock workers said the crew had been on strike.",
                "Dock workers said the crew had been on holiday.",
            )
        ],
        "evidence/mini.yaml:43: claims[2].attestations[0].quote: quote not found in seeds/report.txt; "
        "closest passage (line 3, similarity 0.88): 'Dock workers said the crew had been on strike.'",
    ),
    "absolute_path": (
        [(M, "path: seeds/copy.txt", "path: /etc/passwd")],
        "models/mini.yaml:30: documents[1].path: document path '/etc/passwd' must be relative",
    ),
    "dotdot_path": (
        [(M, "path: seeds/copy.txt", "path: seeds/../seeds/copy.txt")],
        "models/mini.yaml:30: documents[1].path: document path 'seeds/../seeds/copy.txt' must not contain '..'",
    ),
    "path_outside_seeds": (
        [(M, "path: seeds/copy.txt", "path: models/mini.yaml")],
        "models/mini.yaml:30: documents[1].path: document path 'models/mini.yaml' leaves seeds/",
    ),
    "missing_judgment": (
        [(E, "      strike: very likely\n      otherwise: 0.1\n", "      strike: very likely\n")],
        "evidence/mini.yaml:36: claims[2].judgments: claim has no judgment for storm, other "
        "(give one, or 'otherwise')",
    ),
    "priors_do_not_sum_to_one": (
        [(M, "    prior: 0.2\n", "    prior: 0.25\n")],
        "models/mini.yaml:5: hypotheses: priors sum to 1.05, not 1",
    ),
    "contradicting_claims_sum_above_one": (
        [(E, "      storm: 0.05", "      storm: 0.5")],
        "evidence/mini.yaml:47: claims[3].contradicts[0]: judgments of 'fine-weather' and "
        "'storm-said' sum above 1 for storm",
    ),
    "copy_attests_without_restating": (
        [
            (
                E,
                '        quote: The ferry "Aurora" left the harbour at dawn\n        restates: a-late-correspondent\n',
                '        quote: The ferry "Aurora" left the harbour at dawn\n',
            )
        ],
        "evidence/mini.yaml:16: claims[0].attestations[1].restates: claim 'late-departure' is attested "
        "in 'harbour-report', which 'syndicated' derives from ('a-late-correspondent'): cite it with "
        "'restates'",
    ),
    "restates_in_a_document_that_is_not_derived": (
        [
            (
                E,
                "        quote: the weather was fine all week\n",
                "        quote: the weather was fine all week\n        restates: a-late-correspondent\n",
            )
        ],
        "evidence/mini.yaml:56: claims[3].attestations[0].restates: 'a-late-correspondent' attests "
        "claim 'late-departure', not 'fine-weather'",
    ),
    "same_quote_twice_by_one_source": (
        [
            (
                E,
                "        quote: Dock workers said the crew had been on strike.\n",
                "        quote: Dock workers said the crew had been on strike.\n"
                "      - id: a-strike-dockers-again\n        source: dockers\n        document: harbour-report\n"
                "        quote: Dock  workers said the\u00a0CREW had been on strike.\n",
            )
        ],
        "evidence/mini.yaml:47: claims[2].attestations[1].quote: source 'dockers' already attests this "
        "quote in 'a-strike-dockers' (claim 'crew-strike', evidence/mini.yaml:40): one witness counted twice",
    ),
    "two_rates_for_one_source_and_claim": (
        [
            (
                E,
                "        quote: Dock workers said the crew had been on strike.\n",
                "        quote: Dock workers said the crew had been on strike.\n"
                "      - id: a-strike-dockers-again\n        source: dockers\n        document: harbour-report\n"
                "        quote: the crew had been on strike\n        say_anyway: 0.9\n",
            )
        ],
        "evidence/mini.yaml:48: claims[2].attestations[1].say_anyway: source 'dockers' has rate 0.2 for "
        "claim 'crew-strike' in 'a-strike-dockers'; one (source, claim) pair has one rate",
    ),
    "opinion_stronger_than_cap": (
        [
            (
                M,
                "    grade_rationale: Cannot be judged.\n",
                "    grade_rationale: Cannot be judged.\n",
            ),
            (
                M,
                "    grade_rationale: Local reporter.\n",
                "    grade_rationale: Local reporter.\n    judgment_reliability: 0.6\n",
            ),
        ],
        "evidence/mini.yaml:59: claims[4].judgments: opinion's likelihood ratio 4.00 exceeds the cap 3.0 "
        "(lower the sources' judgment reliability or raise say_anyway)",
        # The same 4.00 is at, not over, the per-source cap: no second line.
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_check_rejects_bad_input_with_located_message(case, mini_project, cli):
    edits, expected = BAD_INPUTS[case]
    for path, old, new in edits:
        edit(mini_project / path, old, new)
    before = tree_hash(mini_project)
    result = cli("check")
    assert result.exit_code == 2, result.output
    assert result.stderr.rstrip("\n") == expected
    assert result.stdout == ""
    assert tree_hash(mini_project) == before


def test_check_reports_every_problem_not_only_the_first(mini_project, cli):
    edit(mini_project / E, "storm: very likely", "storm: very likly")
    edit(mini_project / E, "      otherwise: 0.1", "      otherwise: 1.1")
    edit(mini_project / M, "    prior: 0.2\n", "    prior: 0.25\n")
    edit(mini_project / M, "path: seeds/copy.txt", "path: seeds/missing.txt")
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "evidence/mini.yaml:25: claims[1].judgments.storm: unknown ICD-203 word 'very likly' "
        "(did you mean 'very likely'?)",
        "evidence/mini.yaml:38: claims[2].judgments.otherwise: probability 1.1 is outside [0, 1]",
        "models/mini.yaml:5: hypotheses: priors sum to 1.05, not 1",
        "models/mini.yaml:30: documents[1].path: seeds/missing.txt: document not found",
    ]


def test_unknown_field_in_a_reliability_prior_is_located_at_the_field(mini_project, cli):
    edit(
        mini_project / M,
        "    grade_rationale: Cannot be judged.\n",
        "    grade_rationale: Cannot be judged.\n    reliability:\n      alpha: 2\n"
        "      beta: 2\n      gamma: 1\n",
    )
    result = cli("check")
    assert result.exit_code == 2
    # The reliability is a number or {alpha, beta}: pydantic reports both readings.
    assert (
        "models/mini.yaml:50: sources[2].reliability.gamma: unknown field (valid: alpha, beta)"
        in result.stderr.splitlines()
    )


def test_source_opinions_are_capped_together(mini_project, cli):
    # Each opinion alone is under the per-claim cap; together they exceed the per-source cap.
    edit(
        mini_project / M,
        "    grade_rationale: Local reporter.\n",
        "    grade_rationale: Local reporter.\n    judgment_reliability: 0.45\n",
    )
    edit(
        mini_project / E,
        "        quote: the strike was organised by the shipping company itself\n",
        "        quote: the strike was organised by the shipping company itself\n"
        "  - id: strike-planned\n    kind: opinion\n    text: The strike was planned.\n"
        "    judgments: {strike: 1, otherwise: 0}\n    attestations:\n"
        "      - id: a-planned-correspondent\n        source: correspondent\n"
        "        document: harbour-report\n        quote: Our correspondent believes the strike\n",
    )
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == (
        "models/mini.yaml:39: sources[0].judgment_reliability: opinions of 'correspondent' together "
        "have likelihood ratio 6.95, over the per-source cap 4.0"
    )


def test_statement_with_zero_one_judgments_is_an_opinion(mini_project, cli):
    edit(
        mini_project / M,
        "    grade_rationale: Interested party.\n",
        "    grade_rationale: Interested party.\n    judgment_reliability: 0.8\n",
    )
    edit(
        mini_project / E,
        "      storm: very likely\n      strike: unlikely\n      other: [0.3, 0.5]\n",
        "      storm: 1\n      otherwise: 0\n",
    )
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "evidence/mini.yaml:24: claims[1].judgments: opinion's likelihood ratio 9.00"
    )


def test_act_with_zero_one_judgments_is_listed_as_directly_asserting(mini_project, cli):
    edit(
        mini_project / E,
        "      strike: very likely\n      otherwise: 0.1\n",
        "      strike: 1\n      otherwise: 0\n",
    )
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "Directly asserts a hypothesis: crew-strike" in result.stdout


def test_duplicate_ids_across_files_name_the_first(mini_project, cli):
    (mini_project / "evidence" / "more.yaml").write_text(
        "model: mini\njudged_by: B\njudged_on: 2025-03-05\nclaims:\n"
        "  - id: late-departure\n    kind: act\n    text: Late.\n    judgments: {otherwise: 0.9}\n"
        "    attestations:\n      - id: a-x\n        source: dockers\n        document: harbour-report\n"
        "        quote: customs office was closed\n"
    )
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == (
        "evidence/more.yaml:5: claims[0].id: claim id 'late-departure' is already used at "
        "evidence/mini.yaml:5"
    )


def test_evidence_file_without_claims_or_attestations(mini_project, cli):
    (mini_project / "evidence" / "empty.yaml").write_text(
        "model: mini\njudged_by: B\njudged_on: 2025-03-05\n"
    )
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.rstrip("\n") == (
        "evidence/empty.yaml:1: (file): evidence file has neither claims nor attestations"
    )


def test_file_over_size_limit(mini_project, cli):
    from forecast.constants import MAX_SPEC_BYTES

    path = mini_project / E
    path.write_text(path.read_text() + "#" * MAX_SPEC_BYTES + "\n")
    result = cli("check")
    assert result.exit_code == 2
    size = path.stat().st_size
    assert result.stderr.rstrip("\n") == (
        f"evidence/mini.yaml:1: (file): file is {size} bytes, over the {MAX_SPEC_BYTES}-byte limit"
    )


def test_python_tag_is_never_executed(mini_project, cli):
    edit(
        mini_project / M,
        "    title: Harbour report\n",
        '    title: !!python/object/apply:os.system ["touch pwned"]\n',
    )
    cli("check")
    assert not (mini_project / "pwned").exists()


def test_near_duplicate_quotes_across_documents_warn(mini_project, cli):
    edit(
        mini_project / E,
        "        quote: the weather was fine all week\n",
        "        quote: the weather was fine all week\n"
        "      - id: a-storm-wire\n        source: wire\n        document: syndicated\n"
        "        quote: Officials said the delay was caused by a storm. Our editors add\n",
    )
    # The wire's quote attests a different claim from the officials' quote it copies.
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert (
        "warning: evidence/mini.yaml:59: claims[3].attestations[1].quote: near-duplicate of "
        "'a-storm-officials' in 'harbour-report' (shingle similarity 0.62): is one a copy of the other?"
    ) in result.stdout


def test_claim_dated_after_the_window_warns(mini_project, cli):
    edit(
        mini_project / M,
        "background:",
        "window:\n  start: 2025-03-01\n  end: 2025-03-02\nbackground:",
    )
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert (
        "\nWarnings (1):\n"
        "  warning: evidence/mini.yaml:8: claims[0].date: claim dated 2025-03-03, after the "
        "model's window (ends 2025-03-02); it moves the as-of date\n"
    ) in result.stdout
    assert result.stdout.endswith("in 3 documents, 1 warning).\n")


def test_claim_dated_on_the_window_end_does_not_warn(mini_project, cli):
    edit(
        mini_project / M,
        "background:",
        "window:\n  start: 2025-03-01\n  end: 2025-03-03\nbackground:",
    )
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "Warnings" not in result.stdout


def test_without_a_window_no_claim_is_late(mini_project, cli):
    edit(mini_project / E, "    date: 2025-03-03\n", "    date: 2099-12-31\n")
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert "Warnings" not in result.stdout
    assert "As of: 2099-12-31" in result.stdout


def test_check_summary_of_mini_project(mini_project, cli):
    result = cli("check")
    assert result.exit_code == 0
    out = result.stdout
    assert "Claims (7): act 5, statement 1, opinion 1, outcome 0" in out
    assert (
        "Fact harbour-shut (P holds: storm 0.675, strike 0.325, other 0.325), signs: "
        "customs-closed, departures-held\n"
    ) in out
    assert (
        "Documents (3):\n"
        "  harbour-report: Harbour report (A correspondent, 2025-03-03)\n"
        "    seeds/report.txt: 5 verified, 5 counted\n"
        "  syndicated: Syndicated harbour report (Wire desk)\n"
        "    seeds/copy.txt: 2 verified, 1 counted; derived from harbour-report\n"
        "  port-notice: Port authority notice (Port authority, 2025-03-03)\n"
        "    seeds/notice.txt: 4 verified, 2 counted\n"
    ) in out
    assert "Quotes verified (11; 8 counted, 3 restated, repeated or endorsed)" in out
    assert (
        "  customs-closed                   act in fact harbour-shut (if it holds 0.8, if not "
        "0.2); witnesses: correspondent\n"
    ) in out
    assert (
        "  late-departure                   act; witnesses: correspondent, port-authority "
        "(through duty-officer, spokesperson)\n"
    ) in out
    assert (
        "  a-storm-port                             port-authority   port-notice 4:27  [not "
        "counted: repeats or endorses a-storm-officials (officials): not a witness]"
    ) in out
    assert (
        "  a-late-wire                              wire             syndicated 2:1  [not counted: restates a-late-correspondent from a parent document]"
        in out
    )
    assert "  a-company-correspondent                  correspondent    harbour-report 4:28" in out
    assert out.endswith(
        "\n\nOK: mini passes every check (3 hypotheses, 7 sources, 7 claims, 11 quotes verified "
        "in 3 documents).\n"
    )


def test_seed_model_passes_check_with_required_coverage(seed_project, cli):
    from forecast.report.check import CheckReport
    from forecast.spec.rules import load_spec

    result = cli("check")
    assert result.exit_code == 0, result.stderr
    spec = load_spec(seed_project / "models" / "azerbaijan-2025.yaml")
    summary = CheckReport(spec)
    assert len(spec.attestations) >= 30
    assert all(n > 0 for n, _ in summary.attestations_by_document.values())
    assert set(summary.attestations_by_document) == {
        "korybko-aliyev-image",
        "nc-powerplay",
        "kremlin-certain-forces",
        "kobakhidze-oped",
        "soarez-powerplay",
    }
    assert len(spec.claims) >= 15
    assert summary.claims_by_kind["act"] >= 5
    # The catch-all is two answers: an unnamed driver, and several drivers with none principal.
    assert len(spec.hypotheses) >= 7
    assert {"other_driver", "no_principal_driver"} <= set(spec.hypothesis_ids)
    commenters = {"polar-socialist", "gm", "maxwell-johnston", "wall"}
    assert commenters <= {a.source_id for a in spec.attestations}
    # The 004 copy never testifies: each of its attestations restates 001 or is its own source's.
    for attestation in spec.attestations:
        if attestation.document_id == "soarez-powerplay":
            assert attestation.source_id == "soarez"
            assert attestation.restates is not None or attestation.counted


@pytest.mark.parametrize(
    "command", [["--help"], ["check", "--model", "tests/fixtures/mini/models/mini.yaml"]]
)
def test_help_and_check_do_not_import_heavy_libraries(command):
    from conftest import REPO

    code = (
        "import sys\n"
        "from forecast.cli import app\n"
        "try:\n"
        f"    app({command!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = sorted(m for m in ('pymc', 'pytensor', 'arviz', 'matplotlib', 'pandas') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
