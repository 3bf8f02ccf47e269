"""Fuzz: a few hundred random mutations of a project's files never crash `check` or `fit`.

Each mutation changes one file of the mini project (the model, the evidence or a source text):
a line deleted or duplicated, a value swapped for another type or a huge number, random bytes
inserted, the file truncated, odd Unicode added. Every run of ``forecast check`` and ``forecast
fit --method exact`` must end with exit 0, 1 or 2 and a message, never an unexpected error,
and nothing outside ``results/`` may change.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import FIXTURES, tree_hash
from forecast.cli import app

FILES = ("models/mini.yaml", "evidence/mini.yaml", "seeds/report.txt")
VALUES = (
    "[1, 2]", "{a: 1}", "1e308", "-1e308", "1.0e-320", ".inf", ".nan", "-1", "0", "''", "null",
    "true", "~", "'\\u202e'", "!!binary aGVsbG8=", "*nothing", "&a [*a]", "2025-02-30",
    "99999999999999999999999999", "\"\\x00\"", "|\n  block", "- a\n- b",
)  # fmt: skip
ODD = ("\u202e", "\ufeff", "\u0301", "\U0001f600", "\u00a0", "\u2028", "\x00", "\t", "\r")


@st.composite
def mutations(draw) -> tuple[str, bytes]:
    """One file of the project and its mutated bytes."""
    name = draw(st.sampled_from(FILES))
    data = (FIXTURES / "mini" / name).read_bytes()
    lines = data.split(b"\n")
    kind = draw(
        st.sampled_from(["delete", "duplicate", "swap", "bytes", "truncate", "unicode", "indent"])
    )
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "delete":
        del lines[at]
    elif kind == "duplicate":
        lines.insert(at, lines[at])
    elif kind == "swap" and b":" in lines[at]:
        key = lines[at].split(b":", 1)[0]
        lines[at] = key + b": " + draw(st.sampled_from(VALUES)).encode()
    elif kind == "indent":
        lines[at] = b" " * draw(st.integers(1, 7)) + lines[at]
    elif kind == "unicode":
        line = lines[at].decode("utf-8", "replace")
        cut = draw(st.integers(0, len(line)))
        lines[at] = (line[:cut] + draw(st.sampled_from(ODD)) + line[cut:]).encode()
    mutated = b"\n".join(lines)
    if kind == "bytes":
        cut = draw(st.integers(0, len(mutated)))
        mutated = mutated[:cut] + draw(st.binary(min_size=1, max_size=8)) + mutated[cut:]
    elif kind == "truncate":
        mutated = mutated[: draw(st.integers(0, len(mutated)))]
    return name, mutated


def outside_results(root: Path) -> dict[str, str]:
    return {k: v for k, v in tree_hash(root).items() if not k.startswith("results")}


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=mutations())
def test_mutated_projects_end_in_one_clear_message(tmp_path_factory, mutation):
    name, content = mutation
    root = tmp_path_factory.mktemp("fuzz") / "mini"
    shutil.copytree(FIXTURES / "mini", root)
    (root / name).write_bytes(content)
    before = outside_results(root)
    runner = CliRunner()
    for command in (["check"], ["fit", "--method", "exact", "--no-plots"]):
        result = runner.invoke(app, [*command, "--project", str(root)], catch_exceptions=False)
        assert result.exit_code in (0, 1, 2), (name, command, result.output)
        assert "Error: unexpected" not in result.stderr, (name, command, result.stderr)
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            assert result.stdout.strip()
        else:
            assert result.stderr.strip() and not result.stdout.strip(), result.output
        assert outside_results(root) == before, (name, command)
