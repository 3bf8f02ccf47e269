"""``forecast init``: a new project folder that passes ``check`` and ``fit`` as written."""

from __future__ import annotations

import os
import re
import shutil
from importlib import resources
from pathlib import Path

from forecast.errors import UsageError
from forecast.spec.layout import MODEL_ID, display_path

#: The skeleton's files, relative to the new project; ``{name}`` stands for the model's id.
SKELETON = ("models/model.yaml", "evidence/example.yaml", "seeds/council-notice.txt")


def model_name_for(folder: Path) -> str:
    """A model id made from a folder name: lowercase, with runs of other characters as '-'."""
    return re.sub(r"[^a-z0-9_-]+", "-", folder.name.lower()).strip("-_") or "model"


def create_project(target: Path, name: str | None = None) -> Path:
    """Write a new project skeleton into ``target`` (absent or empty); return the model file.

    The skeleton is written into a temporary folder beside ``target`` and renamed into place,
    so an interrupted ``init`` leaves nothing behind. An existing non-empty folder is refused.
    """
    given = str(target)
    target = Path(target).absolute()
    name = name if name is not None else model_name_for(target)
    if not MODEL_ID.match(name) or len(name) > 80:
        raise UsageError(f"--name: {name!r} is not an id (lowercase letters, digits, '-', '_')")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{given} exists and is not empty; choose a new folder")
    if not target.parent.is_dir():
        raise UsageError(f"{display_path(target.parent)}: no such folder")
    staging = target.with_name(f".{target.name}.init-{os.getpid()}")
    staging.mkdir()  # mode from the umask, like any folder the user makes
    try:
        template = resources.files("forecast.store").joinpath("templates", "project")
        for relative in SKELETON:
            text = template.joinpath(relative).read_text(encoding="utf-8")
            out = staging / relative.replace("model.yaml", f"{name}.yaml")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text.replace("{name}", name), encoding="utf-8")
        os.replace(staging, target)  # onto an absent or empty folder: atomic
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target / "models" / f"{name}.yaml"
