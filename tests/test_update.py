"""`forecast update` and `forecast history`: validated, atomic, audited, serialized."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, edit, tree_hash
from forecast.spec.layout import Layout
from forecast.store.ledger import Ledger, project_lock

SMALL = ["--draws", "200", "--tune", "200", "--chains", "2", "--no-plots"]


@pytest.fixture
def updates(mini_project) -> Path:
    """The update fixtures copied next to the mini project (outside its evidence/)."""
    target = mini_project / "incoming"
    shutil.copytree(FIXTURES / "updates", target)
    return target


def ledger_updates(root):
    with Ledger.open(Layout(root)) as ledger:
        return ledger.updates()


@pytest.mark.slow
def test_update_adds_evidence_copies_text_and_records_it(mini_project, updates, cli):
    assert cli("fit", *SMALL).exit_code == 0
    result = cli("update", "--evidence", "incoming/gale.yaml", *SMALL)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "1 claim, 2 attestations, 1 document, 1 source" in out
    assert "gale-logged" in out and "new claim" in out
    assert "late-departure" in out and "new attestation" in out
    assert "through shared reliabilities" in out

    stored = sorted((mini_project / "evidence").glob("*-gale.yaml"))
    assert len(stored) == 1
    copy = mini_project / "seeds" / "harbour-log.txt"
    assert copy.read_bytes() == (updates / "harbour-log.txt").read_bytes()
    assert "path: seeds/harbour-log.txt" in stored[0].read_text()

    [record] = ledger_updates(mini_project)
    assert (
        record.source_sha256
        == __import__("hashlib").sha256((updates / "gale.yaml").read_bytes()).hexdigest()
    )
    assert record.items == {
        "claims": ["gale-logged"],
        "attestations": ["a-gale-master", "a-late-master"],
        "documents": ["harbour-log"],
        "sources": ["harbour-master"],
    }
    assert {"pymc", "arviz", "python"} <= set(record.versions)
    summary = json.loads((mini_project / "results/mini/summary.json").read_text())
    assert summary["spec_sha256"] == record.spec_after
    assert {h["hypothesis"]: h["mean"] for h in summary["hypotheses"]} == {
        h: v["mean"] for h, v in record.after.items()
    }
    # The storm hypothesis gained from a gale in the official log.
    assert record.after["storm"]["mean"] > record.before["storm"]["mean"]
    check = cli("check")
    assert check.exit_code == 0 and "Claims (8)" in check.stdout


@pytest.mark.slow
def test_update_reuses_published_posterior_as_before(mini_project, updates, cli):
    assert cli("fit", *SMALL).exit_code == 0
    published = json.loads((mini_project / "results/mini/summary.json").read_text())
    assert cli("update", "--evidence", "incoming/gale.yaml", *SMALL).exit_code == 0
    [record] = ledger_updates(mini_project)
    assert {h: v["mean"] for h, v in record.before.items()} == {
        h["hypothesis"]: h["mean"] for h in published["hypotheses"]
    }


@pytest.mark.slow
def test_dry_run_changes_nothing(mini_project, updates, cli):
    before = tree_hash(mini_project)
    result = cli("update", "--evidence", "incoming/gale.yaml", "--dry-run", *SMALL)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip().endswith("Dry run: nothing was written.")
    assert "gale-logged" in result.stdout
    assert tree_hash(mini_project) == before


def test_rejected_file_exits_2_and_leaves_tree_identical(mini_project, updates, cli):
    edit(updates / "gale.yaml", "Wind force 9 at dawn;", "Wind force 10 at dawn;")
    before = tree_hash(mini_project)
    result = cli("update", "--evidence", "incoming/gale.yaml", *SMALL)
    assert result.exit_code == 2
    assert result.stderr == (
        "incoming/gale.yaml:27: claims[0].attestations[0].quote: quote not found in incoming/harbour-log.txt; "
        "closest passage (line 2, similarity 0.97): 'Wind force 9 at dawn; all departures held for two hours.'\n"
    )
    assert tree_hash(mini_project) == before


def test_document_outside_the_files_folder_is_rejected(mini_project, updates, cli):
    edit(updates / "gale.yaml", "path: harbour-log.txt", "path: ../seeds/report.txt")
    before = tree_hash(mini_project)
    result = cli("update", "--evidence", "incoming/gale.yaml", *SMALL)
    assert result.exit_code == 2
    assert result.stderr == (
        "incoming/gale.yaml:6: documents[0].path: document path '../seeds/report.txt' must not contain '..'\n"
    )
    assert tree_hash(mini_project) == before


def test_duplicate_id_is_rejected_naming_the_original(mini_project, updates, cli):
    edit(updates / "gale.yaml", "  - id: gale-logged", "  - id: crew-strike")
    result = cli("update", "--evidence", "incoming/gale.yaml", *SMALL)
    assert result.exit_code == 2
    assert result.stderr == (
        "incoming/gale.yaml:16: claims[0].id: claim id 'crew-strike' is already used at evidence/mini.yaml:33\n"
    )


def test_same_quote_by_same_source_is_rejected_naming_the_original(mini_project, updates, cli):
    (updates / "again.yaml").write_text(
        "model: mini\njudged_by: B\njudged_on: 2025-03-05\nclaims:\n"
        "  - id: strike-again\n    kind: act\n    text: A strike.\n    judgments: {strike: 0.9, otherwise: 0.2}\n"
        "    attestations:\n      - id: a-strike-again\n        source: dockers\n        document: harbour-report\n"
        "        quote: Dock workers said the crew had been on strike.\n"
    )
    result = cli("update", "--evidence", "incoming/again.yaml", *SMALL)
    assert result.exit_code == 2
    assert result.stderr == (
        "incoming/again.yaml:13: claims[0].attestations[0].quote: source 'dockers' already attests this "
        "quote in 'a-strike-dockers' (claim 'crew-strike', evidence/mini.yaml:40): one witness counted twice\n"
    )


@pytest.mark.slow
def test_crash_after_evidence_written_before_ledger_commit_leaves_state_as_before(
    mini_project, updates, cli, monkeypatch
):
    assert cli("fit", *SMALL).exit_code == 0
    before = tree_hash(mini_project)
    written = []
    real_commit = Ledger.commit

    def crash(self, record, extra=()):
        written.extend(p.name for p in (mini_project / "evidence").glob("*-gale.yaml"))
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "commit", crash)
    result = cli("update", "--evidence", "incoming/gale.yaml", *SMALL)
    assert result.exit_code == 130
    assert written, "the crash was injected after the evidence file was written"
    assert tree_hash(mini_project) == before
    monkeypatch.setattr(Ledger, "commit", real_commit)
    assert not (mini_project / "ledger.sqlite").exists()


@pytest.mark.slow
def test_crash_after_ledger_commit_before_publish_is_repaired(
    mini_project, updates, cli, monkeypatch
):
    assert cli("fit", *SMALL).exit_code == 0
    import forecast.store.results

    real_publish = forecast.store.results.StagedResults.publish

    def crash(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(forecast.store.results.StagedResults, "publish", crash)
    assert cli("update", "--evidence", "incoming/gale.yaml", *SMALL).exit_code == 130
    monkeypatch.setattr(forecast.store.results.StagedResults, "publish", real_publish)
    # Evidence and ledger agree: the update is committed; the results are the old ones.
    [record] = ledger_updates(mini_project)
    assert len(list((mini_project / "evidence").glob("*-gale.yaml"))) == 1
    stale = json.loads((mini_project / "results/mini/summary.json").read_text())
    assert stale["spec_sha256"] == record.spec_before
    # The next command that writes repairs it by publishing the committed update's results.
    result = cli("update", "--evidence", "incoming/union.yaml", "--dry-run", *SMALL)
    assert result.exit_code == 0
    from forecast.store.recovery import recover

    assert recover(Layout(mini_project)) == ["published the results of update 1"]
    fresh = json.loads((mini_project / "results/mini/summary.json").read_text())
    assert fresh["spec_sha256"] == record.spec_after


@pytest.mark.slow
def test_killed_update_is_rolled_back_from_the_journal(mini_project, updates, cli):
    """A process killed between writing files and committing leaves a journal row."""
    before = tree_hash(mini_project)
    stray = mini_project / "evidence" / "2025-03-05-gale.yaml"
    stray.write_text("model: mini\n")
    import hashlib

    with Ledger.open(Layout(mini_project)) as ledger:
        ledger.begin(
            [
                {
                    "path": "evidence/2025-03-05-gale.yaml",
                    "sha256": hashlib.sha256(b"model: mini\n").hexdigest(),
                }
            ],
            None,
        )
    result = cli("fit", *SMALL)
    assert result.exit_code == 0, result.stderr
    assert "Recovered: rolled back an unfinished update" in result.stdout
    assert not stray.exists()
    assert ledger_updates(mini_project) == []
    assert {
        k: v for k, v in tree_hash(mini_project).items() if not k.startswith(("results", "ledger"))
    } == {k: v for k, v in before.items()}


def test_second_update_waits_for_the_lock_or_stops_clearly(mini_project, updates, cli):
    with project_lock(mini_project, timeout=1):
        result = cli("update", "--evidence", "incoming/gale.yaml", "--lock-timeout", "0.3", *SMALL)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {mini_project}: another update or fit is writing to this project; waited 0.3 s. "
        "Try again when it has finished.\n"
    )
    assert not list((mini_project / "evidence").glob("*-gale.yaml"))


@pytest.mark.slow
def test_two_concurrent_updates_serialize(mini_project, updates):
    env = dict(os.environ)
    command = [sys.executable, "-m", "forecast", "update", *SMALL, "--evidence"]
    first = subprocess.Popen(
        [*command, "incoming/gale.yaml"],
        cwd=mini_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = subprocess.Popen(
        [*command, "incoming/union.yaml"],
        cwd=mini_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    one, two = ledger_updates(mini_project)
    # Serialized: the second update started from the first one's result.
    assert two.spec_before == one.spec_after
    assert {h: v["mean"] for h, v in two.before.items()} == {
        h: v["mean"] for h, v in one.after.items()
    }


@pytest.mark.slow
def test_history_lists_updates_in_order_with_their_figures(mini_project, updates, cli):
    assert cli("update", "--evidence", "incoming/gale.yaml", *SMALL).exit_code == 0
    assert cli("update", "--evidence", "incoming/union.yaml", *SMALL).exit_code == 0
    one, two = ledger_updates(mini_project)
    table = cli("history")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[1].split()[0] == "1" and "incoming/gale.yaml" in lines[1]
    assert lines[2].split()[0] == "2" and "incoming/union.yaml" in lines[2]
    rows = cli("history", "--format", "csv").stdout.splitlines()
    assert (
        rows[0]
        == "update,time,model,file,sha256,claims,attestations,leader_before,p_before,leader_after,p_after,seed"
    )
    leader = max(two.after, key=lambda h: two.after[h]["mean"])
    assert rows[2].startswith(f"2,{two.time},mini,incoming/union.yaml,{two.source_sha256},1,1,")
    assert rows[2].endswith(f",{leader},{round(two.after[leader]['mean'], 4)},20250705")
    data = json.loads(cli("history", "--format", "json").stdout)["updates"]
    assert [d["id"] for d in data] == [1, 2]
    assert data[0]["after"] == one.after and data[1]["after"] == two.after
    assert data[0]["items"]["claims"] == ["gale-logged"]
    assert data[1]["items"]["documents"] == ["union-statement"]
    assert (
        (mini_project / "seeds" / "union-statement.txt")
        .read_text()
        .startswith("The union confirms")
    )


def test_history_without_ledger(mini_project, cli):
    result = cli("history")
    assert result.exit_code == 0 and result.stdout == "No updates recorded.\n"
    assert not (mini_project / "ledger.sqlite").exists()


ANNOTATED = """\
# Harbour evidence, gathered on the morning of 5 March.
# Both texts were read in full.
model: mini
judged_by: Test analyst
judged_on: 2025-03-05
documents:
  - id: harbour-log
    path: harbour-log.txt   # the master's own copy
    title: "Harbour master's log"
    author: Harbour master
    date: 2025-03-03
  - id: union-statement
    title: Dockers' union statement
    text: |
      The union confirms that its members stopped work on the morning of 3 March.
      It gave no reason.

    author: Dockers' union
    date: 2025-03-04
sources:
  - {id: harbour-master, name: Harbour master, grade: B, grade_rationale: Keeps the official log.}
  - id: union
    name: Dockers' union
    grade: C
    grade_rationale: Party to the dispute, but speaks for its members.
claims:
  - id: gale-logged
    # Logged at dawn; the log has no later entry on the weather.
    kind: act
    text: 'A gale held all departures at dawn.'
    judgments: {storm: very likely, otherwise: unlikely}
    attestations:
      - id: a-gale-master
        source: harbour-master
        document: harbour-log
        quote: Wind force 9 at dawn; all departures held for two hours.
  - id: union-confirms-stoppage
    kind: statement
    text: The union confirmed a work stoppage on 3 March.
    judgments:
      strike: almost certain
      otherwise: unlikely
    attestations:
      - id: a-union-stoppage
        source: union
        document: union-statement
        quote: its members stopped work on the morning of 3 March
# Nothing else in the log bears on the departures.
"""


@pytest.mark.slow
def test_stored_copy_keeps_the_file_as_written(mini_project, updates, cli):
    (updates / "annotated.yaml").write_text(ANNOTATED)
    result = cli("update", "--evidence", "incoming/annotated.yaml", *SMALL)
    assert result.exit_code == 0, result.stderr

    stored = (mini_project / "evidence" / "2025-03-05-annotated.yaml").read_text()
    header, body = stored.split("\n", 1)
    sha = __import__("hashlib").sha256(ANNOTATED.encode()).hexdigest()
    assert header.startswith("# Stored by forecast update on ")
    assert header.endswith(f" from annotated.yaml (sha256 {sha}).")
    assert body == ANNOTATED.replace(
        "    path: harbour-log.txt   # the master's own copy\n",
        "    path: seeds/harbour-log.txt   # the master's own copy\n",
    ).replace(
        "    text: |\n"
        "      The union confirms that its members stopped work on the morning of 3 March.\n"
        "      It gave no reason.\n",
        "    path: seeds/union-statement.txt\n",
    )
    assert len(body.splitlines()) == len(ANNOTATED.splitlines()) - 2
    assert (mini_project / "seeds" / "union-statement.txt").read_text().rstrip("\n") == (
        "The union confirms that its members stopped work on the morning of 3 March.\n"
        "It gave no reason."
    )
    check = cli("check")
    assert check.exit_code == 0, check.stderr
    assert "Claims (9)" in check.stdout


@pytest.mark.slow
def test_stored_copy_is_named_by_judged_on_and_numbered_on_collision(mini_project, updates, cli):
    assert cli("update", "--evidence", "incoming/gale.yaml", *SMALL).exit_code == 0
    # Another file of the same name and date, from another folder.
    later = updates / "later"
    later.mkdir()
    (later / "gale.yaml").write_text(
        (updates / "union.yaml")
        .read_text()
        .replace("judged_on: 2025-03-06", "judged_on: 2025-03-05")
    )
    assert cli("update", "--evidence", "incoming/later/gale.yaml", *SMALL).exit_code == 0

    first = mini_project / "evidence" / "2025-03-05-gale.yaml"
    second = mini_project / "evidence" / "2025-03-05-gale-2.yaml"
    assert {p.name for p in (mini_project / "evidence").iterdir()} == {
        "mini.yaml",
        "port.yaml",
        "harbour.yaml",
        first.name,
        second.name,
    }
    assert "id: gale-logged" in first.read_text()
    assert "id: union-confirms-stoppage" in second.read_text()
    assert [r.stored_files[-1]["path"] for r in ledger_updates(mini_project)] == [
        "evidence/2025-03-05-gale.yaml",
        "evidence/2025-03-05-gale-2.yaml",
    ]


def test_stored_copy_written_through_an_alias_is_dumped_from_the_data(mini_project, updates):
    """A document entry that is an alias cannot be edited in place; the data is stored instead."""
    from forecast.spec.loading import parse_yaml
    from forecast.store.update import plan_update

    edit(
        updates / "union.yaml",
        "    text: |\n      The union confirms that its members stopped work on the morning of 3 March.\n",
        "    note: &statement The union confirms that its members stopped work on the morning of 3 March.\n"
        "    text: *statement\n",
    )
    plan = plan_update(
        Layout(mini_project), mini_project / "models/mini.yaml", updates / "union.yaml"
    )
    [seed, stored] = plan.new_files
    assert seed.path == mini_project / "seeds" / "union-statement.txt"
    assert b"*statement" not in stored.content
    data = parse_yaml(stored.content.decode(), "stored").data
    assert data["documents"][0]["path"] == "seeds/union-statement.txt"
    assert "text" not in data["documents"][0]
    assert data["documents"][0]["note"].startswith("The union confirms")


def test_stored_copy_edits_flow_style_and_crlf_files_in_place(mini_project, updates):
    import datetime as dt
    import hashlib

    from forecast.store.update import plan_update

    text = (updates / "gale.yaml").read_text()
    block = text[text.index("  - id: harbour-log\n") : text.index("sources:\n")]
    text = text.replace(
        block,
        "  - {id: harbour-log, title: Harbour master's log, path: harbour-log.txt,  # log\n"
        "     author: Harbour master, date: 2025-03-03}\n",
    )
    written = ("\ufeff" + text).replace("\n", "\r\n").encode()
    (updates / "gale.yaml").write_bytes(written)

    plan = plan_update(
        Layout(mini_project),
        mini_project / "models/mini.yaml",
        updates / "gale.yaml",
        today=dt.date(2025, 3, 7),
    )
    stored = plan.new_files[-1]
    assert stored.path == mini_project / "evidence" / "2025-03-05-gale.yaml"
    assert stored.content.decode() == (
        f"# Stored by forecast update on 2025-03-07 from gale.yaml "
        f"(sha256 {hashlib.sha256(written).hexdigest()}).\n"
        + text.replace("path: harbour-log.txt,", "path: seeds/harbour-log.txt,").replace(
            "\n", "\r\n"
        )
    )


# --- the update report in plain units, kept in the ledger -------------------------------------


def _odds(p):
    return p / (1 - p)


def test_update_effects_in_odds_and_points_agree_with_the_posteriors(exact_project):
    import numpy as np

    from forecast import Project
    from forecast.model.exact import exact_posterior
    from forecast.model.likelihood import evidence_arrays
    from forecast.spec.rules import load_spec

    before_spec = load_spec(exact_project / "models/mini.yaml")
    report = Project.open(exact_project).update("incoming/gale.yaml", dry_run=True)
    hypotheses = list(report.result.arrays.hypothesis_ids)
    before = np.array([report.before[h]["mean"] for h in hypotheses])
    movers = report.movers()
    assert {"gale-logged", "late-departure"} <= set(movers.index)
    for claim, row in movers.iterrows():
        change = row[[f"{h} points" for h in hypotheses]].to_numpy(float)
        alone = before + change / 100
        # The factor on h's odds weights the alternatives by the posterior before the update,
        # so that it is exactly what the claim alone does to those odds.
        np.testing.assert_allclose(
            _odds(alone) / _odds(before), np.exp(row[hypotheses].to_numpy(float)), rtol=1e-9
        )
        assert abs(change.sum()) < 1e-9, claim
    exact_before = exact_posterior(evidence_arrays(before_spec)).posterior
    exact_after = exact_posterior(report.result.arrays).posterior
    table = report.table()
    np.testing.assert_allclose(table["exact_before"], exact_before, rtol=1e-12)
    np.testing.assert_allclose(
        table["odds_ratio"], _odds(exact_after) / _odds(exact_before), rtol=1e-9
    )
    np.testing.assert_allclose(table["points"], 100 * (exact_after - exact_before), atol=1e-9)
    text = report.text()
    assert "gale-logged (new claim): storm odds ×" in text
    assert "percentage points" in text and "The whole update, exact engine" in text


def test_history_show_prints_the_report_as_it_was_printed(exact_project, cli):
    printed = cli("update", "--evidence", "incoming/gale.yaml", "--no-plots")
    assert printed.exit_code == 0, printed.stderr
    shown = cli("history", "--show", "1")
    assert shown.exit_code == 0, shown.stderr
    head, _, stored = shown.stdout.partition("\n\n")
    assert head.startswith("Update 1, recorded ") and "incoming/gale.yaml" in head
    # The stored text is what was printed, up to the line that says where it was recorded.
    assert printed.stdout.startswith(stored.rstrip("\n") + "\n\nRecorded as update 1 ")
    with Ledger.read(Layout(exact_project)) as ledger:
        [event] = ledger.events()
    assert event.body["report"] == stored.rstrip("\n")
    assert json.loads(cli("history", "--show", "1", "--format", "json").stdout)["report"]
    missing = cli("history", "--show", "2")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == "Error: --show: no update 2 (the ledger holds update 1)"
    both = cli("history", "--show", "1", "--verify")
    assert both.exit_code == 2 and "choose one" in both.stderr


def test_history_show_of_an_update_recorded_without_its_report():
    from forecast.store.history import RecordedUpdateReport
    from forecast.store.ledger import UpdateRecord

    figures = {"storm": {"mean": 0.25}, "strike": {"mean": 0.75}}
    after = {"storm": {"mean": 0.5}, "strike": {"mean": 0.5}}
    record = UpdateRecord(
        1, "2025-03-05T10:00:00+00:00", "mini", "incoming/gale.yaml", "ab" * 32, [], {},
        figures, after, "x", "y", 1, {}, None,
    )  # fmt: skip
    text = RecordedUpdateReport(record).text()
    assert "Recorded before update reports were kept" in text
    assert "storm              0.250 -> 0.500" in text
