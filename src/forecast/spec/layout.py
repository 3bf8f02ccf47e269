"""The layout of a project folder, in one place: where each kind of file lives, and the root.

A project is a folder holding ``models/``. Everything forecast reads or writes lies below it::

    models/<name>.yaml     the question, hypotheses with priors, documents, sources
    evidence/*.yaml        claims and attestations (every file whose ``model:`` names the model)
    judgments/<id>.yaml    another analyst's own judgments of the same claims (optional)
    seeds/                 the source texts that quotes are checked against
    results/<name>         the published fit (a link into results/.runs/)
    briefings/<name>       the published briefing (a link into briefings/.runs/)
    ledger.sqlite          the history of updates
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from forecast.constants import ID_PATTERN
from forecast.errors import LEDGER_FILE, UnsafePathError, UsageError

MODELS_DIR = "models"
EVIDENCE_DIR = "evidence"
JUDGMENTS_DIR = "judgments"
SEEDS_DIR = "seeds"
RESULTS_DIR = "results"
BRIEFINGS_DIR = "briefings"
LEDGER_NAME = LEDGER_FILE
#: Where a model's runs are staged before one is published as ``results/<name>``.
RUNS_DIR = ".runs"
#: The folders forecast writes, replaces or deletes in. Nothing outside them is ever touched,
#: whatever a file of the project (the ledger included) says.
MANAGED_DIRS: tuple[str, ...] = (
    EVIDENCE_DIR, JUDGMENTS_DIR, SEEDS_DIR, RESULTS_DIR, BRIEFINGS_DIR
)  # fmt: skip

#: The one naming rule for temporary files: ``.<name>.tmp-<pid>`` beside the file they become.
TEMPORARY = re.compile(r"^\..+\.tmp-\d+$")
#: A model's id, as ``results/<model>`` names its published run.
MODEL_ID = re.compile(f"^{ID_PATTERN}$")
#: Run folders in ``results/.runs/``: ``<model>@<time>-<pid>[-<n>]``.
RUN_FOLDER = re.compile(f"^{ID_PATTERN}@\\d{{8}}T\\d{{6}}-\\d+(-\\d+)?$")


def temporary_name(path: Path) -> Path:
    """Where ``path`` is written before it is renamed or linked into place."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def display_path(path: Path | str) -> str:
    """A path as shown in messages: relative to the working directory when that is shorter."""
    path = Path(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return relative if not relative.startswith("../../..") else str(path.absolute())


@dataclass(frozen=True)
class Layout:
    """The folders and files of one project, all below ``root`` (an absolute path)."""

    root: Path

    @property
    def models(self) -> Path:
        """``models/``: one YAML file per model."""
        return self.root / MODELS_DIR

    @property
    def evidence(self) -> Path:
        """``evidence/``: the evidence files."""
        return self.root / EVIDENCE_DIR

    @property
    def judgments(self) -> Path:
        """``judgments/``: one file per further analyst."""
        return self.root / JUDGMENTS_DIR

    @property
    def seeds(self) -> Path:
        """``seeds/``: the source texts."""
        return self.root / SEEDS_DIR

    @property
    def results(self) -> Path:
        """``results/``: published fits, one link per model."""
        return self.root / RESULTS_DIR

    @property
    def runs(self) -> Path:
        """``results/.runs/``: complete run folders, staged or published."""
        return self.results / RUNS_DIR

    @property
    def briefings(self) -> Path:
        """``briefings/``: published briefings, one link per model."""
        return self.root / BRIEFINGS_DIR

    @property
    def briefing_runs(self) -> Path:
        """``briefings/.runs/``: complete briefing folders, staged or published."""
        return self.briefings / RUNS_DIR

    @property
    def ledger(self) -> Path:
        """``ledger.sqlite``: the update history."""
        return self.root / LEDGER_NAME

    def evidence_files(self) -> list[Path]:
        """The evidence files, in name order."""
        return sorted(self.evidence.glob("*.yaml")) if self.evidence.is_dir() else []

    def judgment_files(self) -> list[Path]:
        """The judgment files, in name order."""
        return sorted(self.judgments.glob("*.yaml")) if self.judgments.is_dir() else []

    def model_files(self) -> list[Path]:
        """The model files, in name order."""
        return sorted(self.models.glob("*.yaml")) if self.models.is_dir() else []

    def contains(self, path: Path | str) -> bool:
        """Whether ``path``, with links resolved, lies inside the project folder."""
        return Path(self.root, path).resolve().is_relative_to(self.root.resolve())

    def own_folder(self, folder: Path) -> Path:
        """``folder`` (a folder forecast writes in), once it is known to be inside the project.

        A managed folder that is a link, or that leads outside the project, is refused with
        :class:`~forecast.errors.UsageError` before anything is written through it.
        """
        for path in (folder.parent, folder):
            if path != self.root and (path.is_symlink() or not self.contains(path)):
                raise UsageError(
                    f"{display_path(path)} is a link or leads outside the project; forecast "
                    "writes only inside the project: make it a plain folder"
                )
        return folder

    def relative(self, path: Path) -> str:
        """``path`` (inside the project) as the project-relative string the ledger stores."""
        return Path(path).absolute().relative_to(self.root).as_posix()

    def managed(self, path: str, *, where: str) -> Path:
        """The project path a stored ``path`` names, after checking it may be acted on.

        ``path`` is relative to the root (an absolute one is accepted only if it lies inside
        the root: rows written by 0.2.0). With links resolved it must lie inside one of
        :data:`MANAGED_DIRS`, and it may not be that folder itself. ``where`` names the
        stored field, for the error.
        """
        given = Path(path)
        if given.is_absolute():
            resolved = given.resolve()
            if not resolved.is_relative_to(self.root.resolve()):
                raise UnsafePathError(where, path, "lies outside the project")
            given = resolved.relative_to(self.root.resolve())
        if ".." in given.parts or not given.parts or given.parts[0] not in MANAGED_DIRS:
            raise UnsafePathError(where, path, "is not inside a folder forecast manages")
        root = self.root.resolve()
        folder = (self.root / given.parts[0]).resolve()
        target = (self.root / given).resolve()
        inside = folder.is_relative_to(root) and target.is_relative_to(folder)
        if target == folder or not inside:
            raise UnsafePathError(where, path, "is not inside a folder forecast manages")
        return self.root / given

    def run_folder(self, path: str, *, where: str) -> Path:
        """A run folder a stored ``path`` names: ``results/.runs/<model>@<time>-<pid>``.

        A run recorded by 0.2.0 with the absolute path of another copy of the project is
        read by its name: run folders always live in this project's ``results/.runs/``.
        """
        given = Path(path)
        if given.is_absolute() and not given.resolve().is_relative_to(self.root.resolve()):
            if given.parent.name != RUNS_DIR:
                raise UnsafePathError(where, path, "lies outside the project")
            given = Path(RESULTS_DIR, RUNS_DIR, given.name)
        run = self.managed(str(given), where=where)
        if run.parent.resolve() != self.runs.resolve() or not RUN_FOLDER.match(run.name):
            raise UnsafePathError(where, path, f"is not a run folder in {RESULTS_DIR}/{RUNS_DIR}/")
        return run

    def default_model(self) -> Path:
        """The only file in ``models/``; an error naming the choices if there are several."""
        candidates = self.model_files()
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise UsageError(f"{display_path(self.models)}/ holds no model file (*.yaml)")
        names = ", ".join(display_path(c) for c in candidates)
        raise UsageError(f"give --model: {display_path(self.models)}/ holds {names}")


def find_root(project: Path | str | None = None, model: Path | str | None = None) -> Path:
    """The project root, found the same way by every command.

    ``project`` if given; else the folder holding the ``models/`` that ``model`` lies in (when
    it is a path, not a bare name such as ``mini``); else the first folder, from the working
    directory up, that holds ``models/``.
    """
    if project is not None:
        root = Path(project).resolve()
        if not (root / MODELS_DIR).is_dir():
            raise UsageError(f"{display_path(root)} is not a project: it has no {MODELS_DIR}/")
        return root
    if model is not None and (Path(model).exists() or len(Path(model).parts) > 1):
        folder = Path(model).resolve().parent
        if folder.name != MODELS_DIR:
            raise UsageError(
                f"{display_path(model)} is not in a project's {MODELS_DIR}/ folder; give --project"
            )
        return folder.parent
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / MODELS_DIR).is_dir():
            return folder
    raise UsageError(
        f"no project here: no {MODELS_DIR}/ folder in {display_path(here)} or above; give --project"
    )


def resolve_model(layout: Layout, model: Path | str | None) -> Path:
    """The model file: ``model`` (which must lie in the project's ``models/``) or the default."""
    if model is None:
        return layout.default_model()
    given = Path(model)
    candidates = [given, layout.root / given, layout.models / given]
    candidates.append(layout.models / f"{given.name}.yaml")
    path = next((c for c in candidates if c.is_file()), given).resolve()
    if path.parent != layout.models.resolve():
        raise UsageError(f"{display_path(path)} is not in {display_path(layout.models)}/")
    if not path.is_file():
        raise UsageError(f"{display_path(path)}: model file not found")
    return path
