"""Forecast questions and the outcome claims that resolve them: rules, counts and likelihood."""

from __future__ import annotations

import pytest

from forecast.spec.rules import load_spec

M = "models/mini.yaml"
E = "evidence/mini.yaml"

QUESTION = (
    "questions:\n"
    "  - id: ferry-on-time\n"
    "    text: Will the ferry leave on time on 1 April 2025?\n"
    "    resolve_by: 2025-04-01\n"
    "    judgments:\n"
    "      storm: likely\n"
    "      strike: 0.2\n"
    "      other: 0.5\n"
)

#: The outcome claim, appended to the mini evidence file: claims[5], from line 67.
OUTCOME = (
    "  - id: ferry-left-on-time\n"
    "    kind: outcome\n"
    "    text: The ferry left on time on 1 April 2025.\n"
    "    date: 2025-04-01\n"
    "    question: ferry-on-time\n"
    "    resolution: yes\n"
)


def add_question(root) -> None:
    path = root / M
    path.write_text(path.read_text() + QUESTION)


def add_outcome(root, text: str = OUTCOME) -> None:
    path = root / E
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize(("written", "read"), [("yes", "yes"), ("'no'", "no"), ("no", "no")])
def test_resolution_is_read_as_the_word_written(mini_project, written, read):
    # YAML 1.1 reads an unquoted yes/no as a boolean.
    add_question(mini_project)
    add_outcome(mini_project, OUTCOME.replace("resolution: yes", f"resolution: {written}"))
    spec = load_spec(mini_project / M)
    (outcome,) = [c for c in spec.claims if c.kind == "outcome"]
    assert outcome.resolution == read
    assert outcome.attestations == ()
