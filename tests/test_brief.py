"""`forecast brief`: the page, its figures, what it may load, and where it is written."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from conftest import edit, png_size, tree_hash
from forecast.report.words import percent
from test_questions import M, add_question

FIGURES = ("p_H.png", "evidence.png", "reliability.png", "timeline.png")


def fitted(cli, *args: str) -> dict:
    result = cli("fit", "--method", "exact", "--no-plots", *args)
    assert result.exit_code == 0, result.stderr
    with open("results/mini/summary.json") as handle:
        return json.load(handle)


def test_brief_without_a_fit_of_the_current_files_exits_1_and_writes_nothing(mini_project, cli):
    before = tree_hash(mini_project)
    result = cli("brief")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: results/mini: no published results of the current model files; "
        "run forecast fit first"
    )
    assert tree_hash(mini_project) == before
    fitted(cli)
    edit(mini_project / "evidence/harbour.yaml", "if_true: 0.8", "if_true: 0.7")  # new files
    before = tree_hash(mini_project)
    assert cli("brief").exit_code == 1
    assert tree_hash(mini_project) == before


@pytest.mark.slow
def test_brief_writes_both_pages_and_every_figure_published_by_one_link(mini_project, cli):
    add_question(mini_project)
    fitted(cli)
    result = cli("brief")
    assert result.exit_code == 0, result.stderr
    folder = mini_project / "briefings" / "mini"
    assert result.stdout.strip() == (
        "Wrote briefings/mini/ (briefing.md, briefing.html, p_H.png, evidence.png, "
        "reliability.png, timeline.png, questions.png)"
    )
    assert folder.is_symlink()
    first_run = folder.resolve()
    assert first_run.parent == (mini_project / "briefings" / ".runs").resolve()
    for name in (*FIGURES, "questions.png"):
        width, height = png_size(folder / name)
        assert 700 <= width <= 1200 and 250 <= height <= 4000, (name, width, height)
    # A second briefing replaces the first: the link moves, the old run is gone.
    assert cli("brief").exit_code == 0
    assert folder.resolve() != first_run and not first_run.exists()
    assert [p.name for p in (mini_project / "briefings" / ".runs").iterdir()] == [
        folder.resolve().name
    ]


class _Resources(HTMLParser):
    """Every attribute through which a page could load something, and every link."""

    def __init__(self):
        super().__init__()
        self.loads: list[tuple[str, str, str]] = []
        self.links: list[str] = []
        self.images = 0
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if tag == "a" and name == "href":
                self.links.append(value)
            elif name in ("src", "srcset", "href", "poster", "data", "action", "background"):
                self.loads.append((tag, name, value or ""))
            elif name == "style":
                self.styles.append(value or "")
        self.images += tag == "img"
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def test_the_html_is_one_file_that_loads_nothing_from_the_network(mini_project, cli):
    add_question(mini_project)
    edit(  # a document address: shown as a link, never loaded
        mini_project / M,
        "    derived_from: harbour-report",
        "    url: https://example.org/wire\n    derived_from: harbour-report",
    )
    fitted(cli)
    assert cli("brief").exit_code == 0
    page = (mini_project / "briefings/mini/briefing.html").read_text()
    parser = _Resources()
    parser.feed(page)
    assert parser.images == 5
    for tag, name, value in parser.loads:
        assert (tag, name) == ("img", "src") and value.startswith("data:image/png;base64,"), (
            tag,
            name,
            value[:60],
        )
    assert "https://example.org/wire" in parser.links
    assert all(link.startswith(("https://", "http://", "#")) for link in parser.links)
    css = "\n".join(parser.styles)
    assert "@import" not in css and "url(" not in css
    assert "<script" not in page and "<link" not in page and "<iframe" not in page


def test_a_document_address_that_is_not_a_web_address_is_never_a_link(mini_project, cli):
    edit(
        mini_project / M,
        "    derived_from: harbour-report",
        "    url: javascript:alert(1)\n    derived_from: harbour-report",
    )
    fitted(cli)
    assert cli("brief").exit_code == 0
    page = (mini_project / "briefings/mini/briefing.html").read_text()
    assert "javascript:" not in page


def test_the_markdown_names_every_hypothesis_with_its_number_word_and_the_confidence(
    mini_project, cli
):
    add_question(mini_project)
    edit(
        mini_project / "evidence/harbour.yaml",
        "    text: The customs office was closed.\n",
        "    text: The customs office was closed.\n    rationale: Customs shuts  with the harbour.\n",
    )
    summary = fitted(cli)
    assert cli("brief").exit_code == 0
    page = (mini_project / "briefings/mini/briefing.md").read_text()
    assert "*Rationale:* Customs shuts with the harbour." in page  # the annex gives the why
    for row in summary["hypotheses"]:
        line = f"| {row['label']} ({row['hypothesis']}) | {percent(row['mean'])} | {row['word']} |"
        assert line in page
    confidence = summary["robustness"]["confidence"]["level"]
    assert f"Confidence: **{confidence}**" in page
    leader = max(summary["hypotheses"], key=lambda row: row["mean"])
    assert f"({leader['hypothesis']}) is the most probable answer: **{leader['word']} " in page
    # The question's resolve-by date has passed with no outcome recorded: the page says so.
    assert (
        "(ferry-on-time) *past its resolve-by date: outcome not recorded yet (forecast resolve)* "
        "| 2025-04-01 |"
    ) in page
    # What the answer leans on, by source and document, in the same units as the rest.
    assert "### The sources it leans on most" in page
    assert re.search(r"^- without .+: \w+ \d+ % → \d+ %", page, flags=re.MULTILINE)
    # The page's sections in the order an analyst reads them.
    headings = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    assert headings == [
        "Bottom line", "Key judgments", "What it rests on", "Forecasts", "What to watch next",
        "Caveats", "Evidence annex",
    ]  # fmt: skip


def test_sections_without_data_are_left_out_with_no_empty_heading(mini_project, cli):
    fitted(cli, "--no-robustness")
    assert cli("brief").exit_code == 0
    page = (mini_project / "briefings/mini/briefing.md").read_text()
    assert "## Forecasts" not in page and "## What to watch next" not in page
    assert "What would change the leader" not in page and "robust range" not in page
    assert "Confidence:" not in page
    # Every section has something in it before the next section of its level or above.
    headings = list(re.finditer(r"^(#{2,3}) .+$", page, flags=re.MULTILINE))
    for i, heading in enumerate(headings):
        level = len(heading.group(1))
        end = next((h.start() for h in headings[i + 1 :] if len(h.group(1)) <= level), len(page))
        assert page[heading.end() : end].strip(), heading.group(0)


@pytest.mark.slow
def test_out_writes_a_new_folder_and_never_replaces_one(mini_project, cli, tmp_path):
    fitted(cli)
    target = tmp_path / "handout"
    result = cli("brief", "--out", str(target))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in target.iterdir()) == sorted(
        ["briefing.md", "briefing.html", *FIGURES]
    )
    before = tree_hash(tmp_path)
    again = cli("brief", "--out", str(target))
    assert again.exit_code == 2
    assert "is not empty; give a new folder (nothing is replaced)" in again.stderr
    assert tree_hash(tmp_path) == before


def test_the_timeline_adds_the_claims_by_date_and_ends_at_the_posterior(mini_project):
    import numpy as np

    from forecast.analysis.analysts import pooled_exact_posterior
    from forecast.analysis.timeline import claims_timeline
    from forecast.spec.rules import load_spec

    spec = load_spec(mini_project / M)
    steps = claims_timeline(spec, seed=1)
    assert steps.index[0] == "prior"
    np.testing.assert_allclose(steps.iloc[0], spec.priors)
    dated = [s for s in steps.index[1:] if s != "undated"]
    assert dated == sorted(dated) and len(set(dated)) == len(dated)
    undated = any(c.date is None for c in spec.claims)
    assert ("undated" in steps.index) == undated
    if undated:
        assert list(steps.index).index("undated") == 1
    np.testing.assert_allclose(steps.iloc[-1], pooled_exact_posterior(spec, 1)[0])
    np.testing.assert_allclose(steps.sum(axis=1), 1.0)


def _update(number: int, before: dict, after: dict, spec_after: str):
    from forecast.store.ledger import UpdateRecord

    def posterior(values):
        return {h: {"mean": p} for h, p in values.items()}

    return UpdateRecord(
        id=number, time=f"2025-0{number}-01T00:00:00+00:00", model="mini", source_file="x.yaml",
        source_sha256="0" * 64, stored_files=[], items={}, before=posterior(before),
        after=posterior(after), spec_before="", spec_after=spec_after, seed=1, versions={},
        results_run=None,
    )  # fmt: skip


def test_with_updates_the_timeline_is_the_ledgers_then_the_published_fit(mini_project):
    from forecast.analysis.timeline import updates_timeline
    from forecast.spec.rules import load_spec

    spec = load_spec(mini_project / M)
    first = dict(zip(spec.hypothesis_ids, (0.5, 0.3, 0.2), strict=True))
    second = dict(zip(spec.hypothesis_ids, (0.6, 0.3, 0.1), strict=True))
    third = dict(zip(spec.hypothesis_ids, (0.7, 0.2, 0.1), strict=True))
    updates = [_update(1, first, second, "older"), _update(2, second, third, spec.sha256)]
    steps = updates_timeline(spec, updates, published={h: 0.0 for h in spec.hypothesis_ids})
    assert list(steps.index) == [
        "before update 1", "update 1 (2025-01-01)", "update 2 (2025-02-01)"
    ]  # fmt: skip
    assert steps.iloc[-1].tolist() == [0.7, 0.2, 0.1]
    # The published fit is of a later spec than the last update: it is the last step.
    updates[-1] = _update(2, second, third, "older")
    published = dict(zip(spec.hypothesis_ids, (0.8, 0.1, 0.1), strict=True))
    steps = updates_timeline(spec, updates, published=published)
    assert steps.index[-1] == "published fit" and steps.iloc[-1].tolist() == [0.8, 0.1, 0.1]


@pytest.mark.slow
def test_after_an_update_the_briefing_shows_the_ledgers_timeline(mini_project, cli):
    import shutil

    from conftest import FIXTURES

    shutil.copytree(FIXTURES / "updates", mini_project / "incoming")
    small = ["--draws", "200", "--tune", "200", "--chains", "2", "--no-plots"]
    assert cli("fit", *small).exit_code == 0
    assert cli("update", "--evidence", "incoming/gale.yaml", *small).exit_code == 0
    result = cli("brief")
    assert result.exit_code == 0, result.stderr
    page = (mini_project / "briefings/mini/briefing.md").read_text()
    assert "P(H) before the first update and after each, as the ledger recorded them" in page
    assert "The sampler behaved well" in page or "NOT satisfactory" in page
