"""The README quotes its tables from constants.py, and its commands match CI."""

from __future__ import annotations

import re

import pytest

from conftest import REPO, png_size
from forecast.constants import ADMIRALTY_GRADES, ICD203_BANDS

README = (REPO / "README.md").read_text()


def table_after(marker: str) -> list[list[str]]:
    block = README.split(marker, 1)[1].strip().split("\n\n", 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def pct(x: float) -> str:
    return f"{x * 100:g}"


def test_readme_icd203_table_matches_constants():
    expected = [[b.word, f"{pct(b.low)}–{pct(b.high)} %", f"{b.point:g}"] for b in ICD203_BANDS]
    assert table_after("<!-- icd203-table") == expected


def test_readme_admiralty_table_matches_constants():
    expected = [
        [
            g.grade,
            g.label,
            f"Beta({g.alpha:g}, {g.beta:g})",
            f"{g.mean:g}",
            f"{g.judgment_reliability:g}",
        ]
        for g in ADMIRALTY_GRADES.values()
    ]
    assert table_after("<!-- admiralty-table") == expected


def test_readme_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick, flags=re.S)
    assert len(commands) == 2
    assert commands[0].endswith("forecast fit") and "-c constraints.txt" in commands[0]
    ci = (REPO / ".ci" / "run").read_text()
    assert f"test_command='{commands[1]}'" in ci


def test_every_quote_of_the_case_extraction_is_in_its_seed_text():
    # The independent extraction pass of the seed case quotes each text verbatim.
    extraction = (REPO / "docs/case-azerbaijan-2025/extraction.md").read_text(encoding="utf-8")
    texts = {p.name[:3]: p.read_text(encoding="utf-8") for p in (REPO / "seeds").glob("*.txt")}
    current, checked = None, 0
    for line in extraction.splitlines():
        heading = re.match(r"\*\*`(\d{3})-[a-z0-9-]+`\*\*", line)
        if heading:
            current = heading.group(1)
            continue
        quoted = re.match(r'- Quote: "(.*)"$', line)
        if quoted:
            assert quoted.group(1) in texts[current], (current, quoted.group(1))
            checked += 1
    assert checked >= 200


def test_the_case_notes_after_tables_are_what_the_tool_prints_now(tmp_path, monkeypatch, cli):
    """The audited seed case's tables in the note are the tool's output, and still current."""
    from conftest import copy_project

    after = (REPO / "docs/case-azerbaijan-2025/after/fit.txt").read_text(encoding="utf-8")
    note = (REPO / "docs/case-azerbaijan-2025.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)\n```", note.split("## 7. Before and after", 1)[1], re.S)
    assert len(blocks) == 2 and all(block in after for block in blocks)

    root = copy_project(REPO, tmp_path / "seed", ("models", "evidence", "seeds", "judgments"))
    monkeypatch.chdir(root)
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr

    def pooled_and_assessment(text: str) -> list[str]:
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("Pooled over"))
        return lines[start : start + 6] + [x for x in lines if x.startswith("Assessment")]

    assert pooled_and_assessment(result.stdout) == pooled_and_assessment(after)


def _readme_excerpt() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- briefing-excerpt: docs/briefing-excerpt.md -->\n(.*?)\n<!-- end briefing-excerpt -->",
        readme,
        re.S,
    )
    assert found, "the README has no briefing excerpt"
    return found.group(1)


def test_the_readme_quotes_the_briefing_excerpt_and_shows_its_pictures():
    excerpt = (REPO / "docs/briefing-excerpt.md").read_text(encoding="utf-8")
    assert _readme_excerpt().strip() == excerpt.strip()
    for picture in ("docs/briefing.png", "docs/briefing-p_H.png"):
        assert png_size(REPO / picture)[0] >= 1000, picture


@pytest.mark.slow
def test_the_briefing_excerpt_is_what_the_seed_model_briefs_now(tmp_path, monkeypatch, cli):
    """The README's excerpt came from the tool, and the seed model still briefs the same."""
    from conftest import copy_project

    root = copy_project(REPO, tmp_path / "seed", ("models", "evidence", "seeds", "judgments"))
    monkeypatch.chdir(root)
    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    result = cli("brief")
    assert result.exit_code == 0, result.stderr
    page = (root / "briefings/azerbaijan-2025/briefing.md").read_text(encoding="utf-8")
    bottom_line = re.search(r"^## Bottom line\n(.*?)\n!\[", page, flags=re.S | re.M)
    assert bottom_line is not None
    assert bottom_line.group(1).strip() == _readme_excerpt().strip()
