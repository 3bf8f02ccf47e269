"""Interrupt an update at every step: the project ends exactly as before or exactly as after.

The fixture fixes every reliability, so an update is computed by the exact engine (no
sampling) and the whole matrix runs in well under a minute. Each step of ``commit_update``
and of publishing (see ``fault_injection.STEPS``) is interrupted just before and just after
it runs, by Ctrl-C in this process and by ``os._exit`` in a subprocess.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, copy_project, prepare_exact_updates
from fault_injection import Injector, interrupt
from forecast import EvidenceError, Interrupted, Project
from forecast.spec.layout import RUN_FOLDER, TEMPORARY, Layout
from forecast.store.ledger import Ledger
from forecast.store.recovery import recover

HERE = Path(__file__).resolve().parent
NOTHING = "nothing was changed"
RECORDED = "update 1 was recorded; its results will be published at the next command"
PUBLISHED = "update 1 was recorded and published"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state(root: Path) -> dict:
    """What a reader sees: the spec files, the published results, and the ledger's rows."""
    out: dict = {}
    for part in ("models", "evidence", "seeds"):
        for path in sorted((root / part).rglob("*")):
            out[str(path.relative_to(root))] = _sha(path)
    link = root / "results" / "mini"
    out["results"] = {p.name: _sha(p) for p in sorted(link.iterdir())} if link.exists() else None
    out["ledger"] = None
    if (root / "ledger.sqlite").exists():
        with Ledger.read(Layout(root)) as ledger:
            out["ledger"] = {
                "updates": [
                    (
                        u.id,
                        u.model,
                        u.judged_by,
                        u.source_sha256,
                        u.stored_files,
                        u.items,
                        u.spec_before,
                        u.spec_after,
                    )
                    for u in ledger.updates()
                ],
                "journal": ledger.pending() is not None,
                "chain": ledger.chain_problems(),
            }
    return out


def leftovers(root: Path) -> list[str]:
    """Temporary files, and run folders no link publishes."""
    found = [
        str(p.relative_to(root))
        for part in ("evidence", "seeds", "results")
        if (root / part).is_dir()
        for p in (root / part).iterdir()
        if TEMPORARY.match(p.name)
    ]
    runs = root / "results" / ".runs"
    live = {p.resolve() for p in (root / "results").iterdir() if p.is_symlink()}
    found += [
        p.name for p in runs.iterdir() if RUN_FOLDER.match(p.name) and p.resolve() not in live
    ]
    return found


def ledger_agrees_with_tree(root: Path) -> None:
    """Every file a committed update stored holds the bytes it recorded; the chain holds."""
    if (root / "ledger.sqlite").exists():
        report = Project.open(root).verify()
        assert report.ok, report.mismatches


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fitted mini project with fixed reliabilities, an update file, and both end states."""
    base = tmp_path_factory.mktemp("faults")
    root = prepare_exact_updates(copy_project(FIXTURES / "mini", base / "template"))
    Project.open(root).fit(plots=False)
    before = state(root)
    done = copy_with_links(root, base / "done")
    with Injector(None, "before", interrupt).installed() as counter:
        Project.open(done).update(done / "incoming/gale.yaml", plots=False)
    after = state(done)
    assert after != before and after["ledger"]["journal"] is False
    return {"root": root, "before": before, "after": after, "steps": counter.count}


PARTS = ("models", "evidence", "seeds", "incoming", "results")


def copy_with_links(source: Path, target: Path) -> Path:
    """A copy of a project whose ``results/<model>`` stays a link into its own runs."""
    for part in PARTS:
        if (source / part).exists():
            shutil.copytree(source / part, target / part, symlinks=True)
    return target


def fresh(template, tmp_path) -> Path:
    return copy_with_links(template["root"], tmp_path / "project")


def assert_ends_after_rerun(root: Path, after: dict) -> None:
    try:
        Project.open(root).update(root / "incoming/gale.yaml", plots=False)
    except EvidenceError as exc:  # already committed: the same file is a duplicate now
        assert "already used" in str(exc)
    assert state(root) == after
    assert leftovers(root) == []
    ledger_agrees_with_tree(root)


@pytest.mark.slow
def test_the_matrix_covers_every_step(template):
    assert template["steps"] >= 14


@pytest.mark.slow
@pytest.mark.parametrize("when", ["before", "after"])
def test_ctrl_c_at_every_step_leaves_before_or_after(template, tmp_path, when):
    before, after = template["before"], template["after"]
    for k in range(1, template["steps"] + 1):
        root = fresh(template, tmp_path / f"{when}-{k}")
        with (
            Injector(k, when, interrupt).installed() as injector,
            pytest.raises(Interrupted) as caught,
        ):
            Project.open(root).update(root / "incoming/gale.yaml", plots=False)
        where = f"Ctrl-C {injector.fired}"
        message = caught.value.message
        now = state(root)
        if message == NOTHING:
            assert now == before, where
            assert leftovers(root) == [], where
        elif message == RECORDED:
            assert {**now, "results": before["results"]} == {**after, "results": before["results"]}
            assert now["results"] == before["results"], where
        else:
            assert message == PUBLISHED, where
            assert now == after, where
        recover(Layout(root))
        assert state(root) in (before, after), where
        assert state(root) == (before if message == NOTHING else after), where
        assert leftovers(root) == [], where
        ledger_agrees_with_tree(root)
        assert_ends_after_rerun(root, after)


@pytest.mark.slow
def test_kill_at_every_step_is_repaired_by_the_next_command(template, tmp_path):
    before, after = template["before"], template["after"]
    runner = [sys.executable, str(HERE / "fault_runner.py")]
    cases = [(1, "before")] + [(k, "after") for k in range(1, template["steps"] + 1)]
    for k, when in cases:
        root = fresh(template, tmp_path / f"{when}-{k}")
        run = subprocess.run(
            [*runner, str(root), str(root / "incoming/gale.yaml"), str(k), when],
            capture_output=True, text=True, cwd=HERE,
        )  # fmt: skip
        assert run.returncode == 137, (k, when, run.stderr)
        recover(Layout(root))
        assert state(root) in (before, after), (k, when)
        assert leftovers(root) == [], (k, when)
        ledger_agrees_with_tree(root)
        assert_ends_after_rerun(root, after)
