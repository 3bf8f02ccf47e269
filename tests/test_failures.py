"""Every failure is one line and an exit code, never a traceback, and nothing half-written."""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import FIXTURES, copy_project, edit, tree_hash
from forecast.spec.layout import Layout
from forecast.store.ledger import Ledger

M = "models/mini.yaml"
E = "evidence/mini.yaml"


@pytest.mark.parametrize(
    ("path", "old", "new", "expected"),
    [
        (
            E,
            "        quote: Dock workers said the crew had been on strike.\n",
            "        quote: Dock workers said the crew had been on strike.\n"
            "        say_anyway: 1.0e-320\n",
            "evidence/mini.yaml:44: claims[2].attestations[0].say_anyway: rate 1e-320 is "
            "outside [1e-06, 1]",
        ),
        (
            M,
            "    grade_rationale: Cannot be judged.\n",
            "    grade_rationale: Cannot be judged.\n"
            "    reliability: {alpha: 1.0e+308, beta: 1.0e+308}\n",
            "models/mini.yaml:47: sources[2].reliability.alpha: parameter 1e+308 is outside "
            "[0.01, 10000]\n"
            "models/mini.yaml:47: sources[2].reliability.beta: parameter 1e+308 is outside "
            "[0.01, 10000]",
        ),
        (
            M,
            "    grade_rationale: Cannot be judged.\n",
            "    grade_rationale: Cannot be judged.\n"
            "    reliability: {alpha: 1.0e-300, beta: 0.5}\n",
            "models/mini.yaml:47: sources[2].reliability.alpha: parameter 1e-300 is outside "
            "[0.01, 10000]",
        ),
        (
            E,
            "judged_by: Test analyst\n",
            "judged_by: Test\x00analyst\n",
            "evidence/mini.yaml:2: (file): character U+0000 is not allowed in YAML",
        ),
        (
            M,
            "name: mini\n",
            "name: &a [*a]\n",
            "models/mini.yaml:1: name[0]: an alias refers to a node that contains it (a cycle)",
        ),
        (
            E,
            "judged_by: Test analyst\n",
            "judged_by: " + "[" * 70 + "]" * 70 + "\n",
            "evidence/mini.yaml:2: judged_by" + "[0]" * 63 + ": nested more than 64 levels deep",
        ),
    ],
    ids=["tiny_rate", "huge_beta", "tiny_beta", "nul_byte", "alias_cycle", "deep_nesting"],
)
def test_check_refuses_what_fit_cannot_compute(mini_project, cli, path, old, new, expected):
    edit(mini_project / path, old, new)
    before = tree_hash(mini_project)
    for command in (["check"], ["fit", "--method", "exact"]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert result.stderr.rstrip("\n") == expected
        assert tree_hash(mini_project) == before


def test_reliability_prior_lines_locate_the_parameter(mini_project, cli):
    # pydantic also tries the number form of `reliability`; its line comes first, as before.
    edit(
        mini_project / M,
        "    grade_rationale: Cannot be judged.\n",
        "    grade_rationale: Cannot be judged.\n    reliability: {alpha: 2, beta: 0}\n",
    )
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "models/mini.yaml:47: sources[2].reliability.beta: parameter 0 is outside [0.01, 10000]"
    )


def test_a_model_without_evidence_is_refused(mini_project, cli):
    for path in (mini_project / "evidence").glob("*.yaml"):
        path.unlink()
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr == (
        "models/mini.yaml:1: name: model 'mini' has no claims: add an evidence file "
        "(evidence/*.yaml) whose 'model:' is 'mini'\n"
    )


def test_a_document_path_that_is_a_folder_or_a_fifo_is_refused_before_it_is_opened(
    mini_project, cli
):
    (mini_project / "seeds" / "copy.txt").unlink()
    (mini_project / "seeds" / "copy.txt").mkdir()
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "models/mini.yaml:30: documents[1].path: seeds/copy.txt: document is not a regular file"
    )
    (mini_project / "seeds" / "copy.txt").rmdir()
    os.mkfifo(mini_project / "seeds" / "copy.txt")
    result = cli("check")  # would block for ever if the FIFO were opened
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "models/mini.yaml:30: documents[1].path: seeds/copy.txt: document is not a regular file"
    )


def test_evidence_naming_no_model_is_a_warning_naming_the_file(mini_project, cli):
    text = (mini_project / E).read_text().replace("model: mini\n", "model: minni\n")
    (mini_project / "evidence" / "typo.yaml").write_text(text.replace("id: ", "id: t-"))
    result = cli("check")
    assert result.exit_code == 0, result.stderr
    assert (
        "  warning: evidence/typo.yaml:1: model: names model 'minni', which no file in models/ "
        "defines (did you mean 'mini'?); this file is not read"
    ) in result.stdout


def test_evidence_of_another_model_belongs_to_that_model(mini_project, cli):
    other = (mini_project / M).read_text().replace("name: mini\n", "name: other\n")
    (mini_project / "models" / "other.yaml").write_text(other)
    text = (mini_project / E).read_text().replace("model: mini\n", "model: other\n")
    (mini_project / "evidence" / "other.yaml").write_text(text)
    for name in ("mini", "other"):  # each model reads its own file, without a warning
        result = cli("check", "--model", name)
        assert result.exit_code == 0, result.stderr
        assert "warning" not in result.stdout
        assert f"OK: {name} passes every check" in result.stdout


def os_error(code: int, path: str):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code), path)

    return fail


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_failed_write_of_results_is_one_line_and_leaves_results_as_they_were(
    mini_project, cli, monkeypatch, code
):
    import forecast.store.results

    assert cli("fit", "--method", "exact", "--no-plots").exit_code == 0
    before = tree_hash(mini_project)
    monkeypatch.setattr(forecast.store.results, "_write_run", os_error(code, "results/.runs/x"))
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 1
    assert result.stderr == f"Error: results/.runs/x: {os.strerror(code)}\n"
    assert tree_hash(mini_project) == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_an_update_that_cannot_write_its_files_changes_nothing(
    exact_project, cli, monkeypatch, code
):
    assert cli("fit", "--no-plots").exit_code == 0
    before = tree_hash(exact_project)
    monkeypatch.setattr(os, "link", os_error(code, "evidence/2025-03-05-gale.yaml"))
    result = cli("update", "--evidence", "incoming/gale.yaml", "--no-plots")
    assert result.exit_code == 1
    assert result.stderr == f"Error: evidence/2025-03-05-gale.yaml: {os.strerror(code)}\n"
    assert tree_hash(exact_project) == before


@pytest.mark.slow
def test_a_read_only_ledger_is_one_line_and_changes_nothing(exact_project, cli, monkeypatch):
    assert cli("update", "--evidence", "incoming/gale.yaml", "--no-plots").exit_code == 0
    before = tree_hash(exact_project)

    def read_only(self, *args):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(Ledger, "begin", read_only)
    result = cli("update", "--evidence", "incoming/union.yaml", "--no-plots")
    assert result.exit_code == 1
    assert result.stderr == "Error: ledger.sqlite: attempt to write a readonly database\n"
    assert tree_hash(exact_project) == before


def test_results_that_cannot_be_published_after_the_commit_say_so(exact_project, cli, monkeypatch):
    import forecast.store.results

    assert cli("fit", "--no-plots").exit_code == 0
    real = forecast.store.results.publish_run
    monkeypatch.setattr(forecast.store.results, "publish_run", os_error(errno.EACCES, "results"))
    result = cli("update", "--evidence", "incoming/gale.yaml", "--no-plots")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: update 1 was recorded, but publishing its results failed ([Errno 13] "
        "Permission denied: 'results'); they will be published at the next command\n"
    )
    with Ledger.read(Layout(exact_project)) as ledger:
        [update] = ledger.updates()
    monkeypatch.setattr(forecast.store.results, "publish_run", real)
    fit = cli("check")
    assert fit.exit_code == 0
    from forecast.store.recovery import recover

    assert recover(Layout(exact_project)) == ["published the results of update 1"]
    link = (exact_project / "results" / "mini").resolve()
    assert link.name == update.results_run.rsplit("/", 1)[1]


def test_a_non_finite_posterior_is_never_published(mini_project, cli, monkeypatch):
    import forecast.model.sample

    real = forecast.model.sample.exact_posterior

    def poisoned(arrays, **kwargs):
        result = real(arrays, **kwargs)
        result.posterior[1] = np.nan
        return result

    monkeypatch.setattr(forecast.model.sample, "exact_posterior", poisoned)
    before = tree_hash(mini_project)
    result = cli("fit", "--method", "exact")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the posterior of strike is not a finite number; nothing was written (look for "
        "extreme reliabilities or rates in the spec)\n"
    )
    assert tree_hash(mini_project) == before


def test_an_unexpected_error_is_one_line_with_a_way_to_see_more(mini_project, cli, monkeypatch):
    import forecast.report.check

    def broken(self):
        raise ValueError("something odd")

    monkeypatch.setattr(forecast.report.check.CheckReport, "text", broken)
    result = cli("check")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unexpected ValueError: something odd (set FORECAST_TRACEBACK=1 to see where)\n"
    )


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_fit_is_one_line_and_exit_130(tmp_path):
    """The console command, from the moment it has loaded (Python's own start-up is before).

    Each run is interrupted a given time after it says "Loading…", so that a slow machine
    does not move the signal into the interpreter's start-up.
    """
    from pathlib import Path

    root = copy_project(FIXTURES / "mini", tmp_path / "mini")
    forecast = str(Path(sys.executable).parent / "forecast")
    command = [forecast, "fit", "--no-plots", "--draws", "2000", "--progress"]
    for delay in (0.0, 0.2, 0.5, 1.0, 2.0, 3.5):
        run = subprocess.Popen(
            command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        first = run.stderr.readline()
        assert first == "Loading…\n", first
        time.sleep(delay)
        os.killpg(run.pid, signal.SIGINT)
        _, err = run.communicate(timeout=120)
        if run.returncode == 0:  # finished before the signal
            continue
        assert run.returncode == 130, (delay, err)
        assert err.splitlines()[-1].startswith("Interrupted: "), (delay, err)
        assert "Traceback" not in err, (delay, err)
