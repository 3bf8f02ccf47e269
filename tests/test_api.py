"""The library API: one project root for every command, progress, `init`, and the examples."""

from __future__ import annotations

import doctest
import json

import pytest

from conftest import FIXTURES, REPO, copy_project, tree_hash
from forecast import Project, UsageError
from forecast.report.base import render


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory that is not inside any project."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def mini_root(tmp_path):
    return copy_project(FIXTURES / "mini", tmp_path / "mini")


def test_fit_from_another_directory_writes_results_under_the_project(mini_root, elsewhere, cli):
    result = cli("fit", "--model", str(mini_root / "models/mini.yaml"), "--method", "exact")
    assert result.exit_code == 0, result.stderr
    assert (mini_root / "results" / "mini" / "summary.json").is_file()
    assert list(elsewhere.iterdir()) == []


def test_project_option_finds_the_model_and_writes_under_it(mini_root, elsewhere, cli):
    result = cli("fit", "--project", str(mini_root), "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert (mini_root / "results" / "mini" / "summary.json").is_file()
    assert list(elsewhere.iterdir()) == []
    by_name = cli("check", "--project", str(mini_root), "--model", "mini")
    assert by_name.exit_code == 0 and "OK: mini passes every check" in by_name.stdout


def test_root_is_found_walking_up_from_a_subfolder(mini_root, monkeypatch, cli):
    monkeypatch.chdir(mini_root / "seeds")
    result = cli("fit", "--method", "exact", "--no-plots")
    assert result.exit_code == 0, result.stderr
    assert (mini_root / "results" / "mini").is_symlink()
    assert not (mini_root / "seeds" / "results").exists()


def test_no_project_here_is_one_line_and_exit_2(elsewhere, cli):
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: no project here: no models/ folder in . or above; give --project\n"
    )


def test_model_outside_the_project_models_folder_is_refused(mini_root, tmp_path, cli):
    stray = tmp_path / "stray.yaml"
    stray.write_text((mini_root / "models/mini.yaml").read_text())
    result = cli("check", "--project", str(mini_root), "--model", str(stray))
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "is not in" in result.stderr
    alone = cli("check", "--model", str(stray))
    assert alone.exit_code == 2
    assert "is not in a project's models/ folder; give --project" in alone.stderr


def test_fit_without_publishing_writes_nothing(mini_root):
    before = tree_hash(mini_root)
    report = Project.open(mini_root).fit(method="exact", publish=False)
    assert report.published is None
    assert tree_hash(mini_root) == before
    assert report.table().loc["storm", "exact"] == pytest.approx(
        report.table().loc["storm", "mean"]
    )


def test_progress_is_reported_through_the_callback_only(mini_root, capsys):
    messages: list[str] = []
    Project.open(mini_root).fit(method="exact", plots=False, progress=messages.append)
    assert messages == [
        "Loading…",
        "Computing the exact posterior…",
        "Checking robustness…",
        "Writing results…",
    ]
    assert capsys.readouterr() == ("", "")


@pytest.mark.slow
def test_sampling_fit_reports_each_step(mini_root):
    messages: list[str] = []
    Project.open(mini_root).fit(
        draws=50, tune=50, chains=2, plots=False, progress=messages.append, publish=False
    )
    assert messages == [
        "Loading…",
        "Compiling the model (can take about 30 s the first time)…",
        "Sampling 2 chains…",
        "Exact cross-check…",
        "Checking robustness…",
    ]


def test_cli_progress_goes_to_stderr_and_stdout_stays_the_data(mini_root, cli):
    result = cli(
        "fit", "--project", str(mini_root), "--method", "exact", "--no-plots", "--format",
        "json", "--progress",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "Loading…",
        "Computing the exact posterior…",
        "Checking robustness…",
        "Writing results…",
    ]
    data = json.loads(result.stdout)
    assert data["model"] == "mini" and data["schema_version"] == 2
    quiet = cli("fit", "--project", str(mini_root), "--method", "exact", "--no-plots")
    assert quiet.stderr == ""


def test_formats_map_to_text_table_and_dict(mini_root, cli):
    report = Project.open(mini_root).check()
    for fmt in ("table", "csv", "json"):
        result = cli("check", "--project", str(mini_root), "--format", fmt)
        assert result.exit_code == 0
        assert result.stdout == render(report, fmt)
    csv = cli("check", "--project", str(mini_root), "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("attestation,claim,kind,source,document,title")
    assert len(csv) == 1 + len(report.spec.attestations)


def test_bad_format_is_one_line_and_exit_2(mini_root, cli):
    result = cli("history", "--project", str(mini_root), "--format", "xml")
    assert result.exit_code == 2
    assert result.stderr == "Error: --format: choose table, csv or json\n"
    method = cli("fit", "--project", str(mini_root), "--method", "gibbs")
    assert method.stderr == "Error: --method: choose nuts or exact\n"
    assert "nuts" in cli("fit", "--help").stdout and "exact" in cli("fit", "--help").stdout


def test_init_writes_a_project_that_passes_check_and_exact_fit(tmp_path, cli):
    target = tmp_path / "Bridge closure"
    result = cli("init", str(target))
    assert result.exit_code == 0, result.stderr
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        "evidence/example.yaml",
        "models/bridge-closure.yaml",
        "seeds/council-notice.txt",
    ]
    model = (target / "models/bridge-closure.yaml").read_text()
    assert model.startswith("# The model:") and "name: bridge-closure\n" in model
    check = cli("check", "--project", str(target))
    assert check.exit_code == 0, check.stderr
    assert check.stdout.splitlines()[-1] == (
        "OK: bridge-closure passes every check (3 hypotheses, 1 source, 1 claim, 1 quote "
        "verified in 1 document)."
    )
    fit = cli("fit", "--project", str(target), "--method", "exact", "--no-plots")
    assert fit.exit_code == 0, fit.stderr
    assert list(tmp_path.iterdir()) == [target]


def test_init_refuses_a_non_empty_folder_and_writes_nothing(tmp_path, cli):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    before = tree_hash(tmp_path)
    result = cli("init", str(target), "--name", "fine")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {target} exists and is not empty; choose a new folder\n"
    assert tree_hash(tmp_path) == before


def test_init_into_an_empty_folder_with_a_name(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    project = Project.init(target, name="bridge")
    assert project.model_path == target.resolve() / "models" / "bridge.yaml"
    with pytest.raises(UsageError, match="'Bad Name' is not an id"):
        Project.init(tmp_path / "other", name="Bad Name")
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("module", ["forecast", "forecast.api"])
def test_docstring_examples_run(module, monkeypatch):
    import importlib

    monkeypatch.chdir(REPO)
    failures, tried = doctest.testmod(importlib.import_module(module), verbose=False)
    assert tried > 0 and failures == 0


@pytest.mark.slow
def test_update_report_says_how_many_movers_it_shows(mini_root, monkeypatch):
    import shutil

    import forecast.report.update

    shutil.copytree(FIXTURES / "updates", mini_root / "incoming")
    project = Project.open(mini_root)
    options = {"draws": 100, "tune": 100, "chains": 1, "dry_run": True}
    report = project.update(mini_root / "incoming/gale.yaml", **options)
    movers = report.movers()
    assert set(movers.index) == {"gale-logged", "late-departure"}
    assert movers["largest"].is_monotonic_decreasing
    heading = "Claims that moved it most"
    assert f"{heading}, each alone from the posterior before the update" in report.text()
    monkeypatch.setattr(forecast.report.update, "UPDATE_REPORT_MOVERS", 1)
    text = report.text()
    assert f"{heading}; 1 of 2 shown, each alone" in text
    shown = text.split(heading, 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    assert len(shown) == 1 and shown[0].split()[0] == report.movers().index[0]
    assert text.rstrip().endswith("Dry run: nothing was written.")
