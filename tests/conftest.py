"""Shared fixtures: throwaway copies of the seed project and of a small fixture project."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _matplotlib_config(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "mpl"))


def copy_project(source: Path, target: Path, parts=("models", "evidence", "seeds")) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for part in parts:
        if (source / part).exists():
            shutil.copytree(source / part, target / part)
    return target


@pytest.fixture
def seed_project(tmp_path, monkeypatch) -> Path:
    """A copy of the repository's model, evidence and seeds; the working directory."""
    root = copy_project(REPO, tmp_path / "project")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def mini_project(tmp_path, monkeypatch) -> Path:
    """A copy of tests/fixtures/mini (three hypotheses, one derived document); the cwd."""
    root = copy_project(FIXTURES / "mini", tmp_path / "mini")
    monkeypatch.chdir(root)
    return root


def tree_hash(root: Path) -> dict[str, str]:
    """sha256 of every file below root (symlinks by target), to prove nothing was written."""
    out = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "link:" + os.readlink(path)
        elif path.is_file():
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[key] = "dir"
    return out


@pytest.fixture
def cli():
    """Run the forecast CLI in-process; returns the click Result."""
    from forecast.cli import app

    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return run


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    """Replace text in a fixture file, failing loudly if the text is not there."""
    text = path.read_text()
    assert text.count(old) >= count, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def fix_reliabilities(root: Path) -> None:
    """Give every mini source a fixed reliability: the model has no free parameter."""
    for path, rationale, value in [
        ("models/mini.yaml", "Local reporter.", 0.6),
        ("models/mini.yaml", "Interested party.", 0.35),
        ("models/mini.yaml", "Cannot be judged.", 0.5),
        ("models/mini.yaml", "Copies others.", 0.1),
        ("evidence/port.yaml", "Runs the harbour and reports on its own operations.", 0.55),
    ]:
        edit(
            root / path,
            f"    grade_rationale: {rationale}\n",
            f"    grade_rationale: {rationale}\n    reliability: {value}\n",
        )


def prepare_exact_updates(root: Path) -> Path:
    """Fix every reliability and copy the update files, their new source's reliability fixed too.

    The model then has no free parameter: fits and updates use the exact engine, no sampling.
    """
    fix_reliabilities(root)
    shutil.copytree(FIXTURES / "updates", root / "incoming")
    edit(
        root / "incoming/gale.yaml",
        "    grade_rationale: Keeps the official log.\n",
        "    grade_rationale: Keeps the official log.\n    reliability: 0.7\n",
    )
    return root


@pytest.fixture
def exact_project(mini_project) -> Path:
    """The mini project, prepared by :func:`prepare_exact_updates`; the working directory."""
    return prepare_exact_updates(mini_project)


def make_judgments_uniform(root: Path) -> None:
    """Give every mini claim (and fact) the same judgment under every hypothesis."""
    path = root / "evidence/mini.yaml"
    text = path.read_text()
    for old in [
        "      storm: very likely\n      strike: unlikely\n      other: [0.3, 0.5]\n",
        "      strike: very likely\n      otherwise: 0.1\n",
        "      storm: 0.05\n      otherwise: 0.5\n",
        "      strike: 1\n      otherwise: 0\n",
    ]:
        assert old in text
        text = text.replace(old, "      otherwise: 0.3\n")
    path.write_text(text)
    # The fact holds equally likely under every hypothesis: its signs move nothing.
    edit(root / "evidence/harbour.yaml", "      storm: likely\n      otherwise: unlikely\n",
         "      otherwise: 0.4\n")  # fmt: skip


def drop_claim(root: Path, claim_id: str) -> None:
    """Remove one claim (with its attestations) from the mini evidence file."""
    import yaml

    path = root / "evidence/mini.yaml"
    data = yaml.safe_load(path.read_text())
    data["claims"] = [c for c in data["claims"] if c["id"] != claim_id]
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG file's header (and a check that it is a PNG)."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
