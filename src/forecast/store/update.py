"""``forecast update``: add new evidence atomically, refit, report before and after, record it.

Order of writes (see ``docs/updates.md``):

1. validate the new file against the model and all existing evidence (nothing written);
2. fit the model with the new evidence and stage its results (an unpublished run folder);
3. journal the files about to be created, with their sha256, in the ledger;
4. create the source-text copies in ``seeds/``, then the stored evidence file in ``evidence/``
   (each a new file, written to a temporary name and renamed into place);
5. reload the project from disk and check it hashes to the spec that was fitted;
6. in one SQLite transaction, append the update to the ledger and clear the journal;
7. publish the staged results (one atomic rename of the ``results/<model>`` link).

Any failure before step 6, Ctrl-C included, removes what steps 2 to 4 created and clears
the journal, so ``evidence/``, ``seeds/``, ``results/`` and the ledger are as before. A crash
that kills the process is repaired by :func:`recover` at the next update or fit: a journal
row means "remove these files"; a committed update whose results were not published is
published then.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from forecast.errors import (
    EvidenceError,
    ForecastError,
    Interrupted,
    Problem,
    ResultsError,
    SpecError,
)
from forecast.spec.layout import SEEDS_DIR, Layout, display_path, temporary_name
from forecast.spec.loading import LoadedYaml, Loc, dump_yaml, load_yaml, parse_yaml, replace_entries
from forecast.spec.rules import EvidenceInput, load_spec, parse_file
from forecast.spec.schema import EvidenceFile, Spec
from forecast.store.ledger import Ledger, sha256_file


@dataclass(frozen=True)
class NewFile:
    """A file the update will create: its path in the project and its exact bytes."""

    path: Path
    content: bytes

    @property
    def sha256(self) -> str:
        """sha256 of the content."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class UpdatePlan:
    """A validated update: the specs before and after, and the files it would create."""

    layout: Layout
    model_path: Path
    evidence_path: Path
    evidence_sha256: str
    before: Spec
    after: Spec
    new_files: tuple[NewFile, ...]
    items: dict[str, list[str]] = field(default_factory=dict)
    judged_by: str | None = None


def _unique(path: Path, content: bytes, taken: set[Path]) -> Path | None:
    """``path``, or ``name-2.ext``… if taken by other content; None if identical content exists."""
    candidate, n = path, 1
    while candidate.exists() or candidate in taken:
        if candidate.exists() and candidate.read_bytes() == content:
            return None
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _stored_text(loaded: LoadedYaml, rewrites: dict[Loc, tuple[str, Any]], data: Any) -> str:
    """The update file as written, with its document entries rewritten to the copies in seeds/.

    Comments, key order and quoting are the analyst's and stay. Should the edited text not read
    back as ``data`` (a document entry written through a YAML alias, say), the data is dumped
    instead: the stored copy must hold exactly the evidence that was fitted.
    """
    text = replace_entries(loaded, rewrites)
    with contextlib.suppress(SpecError):
        if parse_yaml(text, loaded.display).data == data:
            return text
    return dump_yaml(data)


def plan_update(
    layout: Layout,
    model_path: Path,
    evidence_path: Path,
    today: dt.date | None = None,
    stored_stem: str | None = None,
) -> UpdatePlan:
    """Validate ``evidence_path`` against the model and work out what an update would write.

    Every rule of ``forecast check`` applies, plus: ids already used and quotes a source already
    attests are rejected naming the existing item (the duplicate rules of the validator).
    The stored copy is ``evidence/<judged_on>-<stem>.yaml``, the stem FILE's own unless
    ``stored_stem`` is given.
    """
    model_path = Path(model_path)
    evidence_path = Path(evidence_path)
    before = load_spec(model_path)
    if not evidence_path.is_file():
        raise EvidenceError([Problem(display_path(evidence_path), 1, "(file)", "file not found")])
    try:
        after = load_spec(
            model_path, [EvidenceInput(evidence_path, evidence_path.parent.resolve())]
        )
    except SpecError as exc:
        raise EvidenceError(exc.problems) from None

    loaded = load_yaml(evidence_path, display_path(evidence_path), spans=True)
    parsed = parse_file(loaded, EvidenceFile)
    data = dict(loaded.data)
    taken: set[Path] = set()
    new_files: list[NewFile] = []
    documents = []
    rewrites: dict[Loc, tuple[str, Any]] = {}
    for index, (raw, document) in enumerate(
        zip(data.get("documents", []), parsed.documents, strict=True)
    ):
        raw = dict(raw)
        if document.text is not None:
            content = document.text.encode("utf-8")
            target = layout.seeds / f"{document.id}.txt"
        else:
            assert document.path is not None
            source = (evidence_path.parent / document.path).resolve()
            content = source.read_bytes()
            target = layout.seeds / source.name
        unique = _unique(target, content, taken)
        if unique is not None:
            taken.add(unique)
            new_files.append(NewFile(unique, content))
            target = unique
        seed_path = f"{SEEDS_DIR}/{target.name}"
        written_as = "text" if document.text is not None else "path"
        rewrites[("documents", index, written_as)] = ("path", seed_path)
        raw.pop("text", None)
        raw["path"] = seed_path
        documents.append(raw)
    if documents:
        data["documents"] = documents

    sha = sha256_file(evidence_path)
    today = today or dt.date.today()
    header = (
        f"# Stored by forecast update on {today.isoformat()} from {evidence_path.name} "
        f"(sha256 {sha}).\n"
    )
    stored = (header + _stored_text(loaded, rewrites, data)).encode("utf-8")
    stored_path = _unique(
        layout.evidence
        / f"{parsed.judged_on.isoformat()}-{stored_stem or evidence_path.stem}.yaml",
        b"",
        taken,
    )
    assert stored_path is not None
    new_files.append(NewFile(stored_path, stored))

    items = {
        "claims": sorted({c.id for c in after.claims} - {c.id for c in before.claims}),
        "attestations": sorted(
            {a.id for a in after.attestations} - {a.id for a in before.attestations}
        ),
        "documents": sorted(set(after.documents) - set(before.documents)),
        "sources": sorted(set(after.sources) - set(before.sources)),
    }
    return UpdatePlan(
        layout, model_path, evidence_path, sha, before, after, tuple(new_files), items,
        parsed.judged_by,
    )  # fmt: skip


def package_versions() -> dict[str, str]:
    """Versions of the packages a posterior depends on, for the ledger."""
    import platform

    out = {"python": platform.python_version()}
    for name in ("forecast", "pymc", "pytensor", "arviz", "numpy", "scipy"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _write_new(path: Path, content: bytes) -> None:
    """Create ``path`` with ``content`` via a temporary file and a rename; never overwrite."""
    if path.exists():
        raise ForecastError(f"{display_path(path)} already exists; an update never overwrites")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "xb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails if path appeared meanwhile, unlike os.replace
    finally:
        tmp.unlink(missing_ok=True)


def commit_update(
    plan: UpdatePlan,
    result: Any,
    before_summary: dict[str, Any],
    after_summary: dict[str, Any],
    *,
    plots: bool = True,
    sensitivity: Any = None,
    report: str | None = None,
    fit_report: Any = None,
    extra_events: tuple[tuple[str, dict[str, Any]], ...] = (),
) -> int:
    """Write the update's files, record it in the ledger and publish its results.

    The journal (every file about to be created, with its sha256, and the staged run) is
    written before any file. If anything fails or is interrupted, what is true is decided from
    the ledger alone (:func:`~forecast.store.recovery.settle`): before the ledger commit the
    update is undone; after it, the update counts as done and its results are published at
    the next command. An interrupt raises :class:`~forecast.errors.Interrupted` saying which.
    ``report``, the update report's text, is kept in the update's event. ``extra_events``
    (a resolution, say) are appended in the same transaction as the update's event.
    """
    from forecast.store.recovery import settle
    from forecast.store.results import points_to, stage_results

    layout = plan.layout
    ledger_was_new = not layout.ledger.exists()
    staged, updates_before = None, None
    try:
        with Ledger.open(layout) as ledger:
            updates_before = ledger.last_update_id()
            staged = stage_results(
                result, layout, plots=plots, sensitivity=sensitivity, report=fit_report
            )
            run = layout.relative(staged.run_dir)
            files = [{"path": layout.relative(f.path), "sha256": f.sha256} for f in plan.new_files]
            ledger.begin(files, run)
            for new in plan.new_files:
                _write_new(new.path, new.content)
            if load_spec(plan.model_path).sha256 != plan.after.sha256:
                raise ForecastError(
                    "the project on disk does not match the fitted spec after writing; "
                    "nothing was kept"
                )
            update_id = ledger.commit(
                {
                    "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "model": plan.after.name,
                    "judged_by": plan.judged_by,
                    "source_file": str(plan.evidence_path),
                    "source_sha256": plan.evidence_sha256,
                    "stored_files": files,
                    "items": plan.items,
                    "before": before_summary,
                    "after": after_summary,
                    "spec_before": plan.before.sha256,
                    "spec_after": plan.after.sha256,
                    "seed": result.options.seed,
                    "versions": package_versions(),
                    "results_run": run,
                    "report": report,
                },
                extra_events,
            )
        staged.publish()
        return update_id
    except BaseException as exc:
        # Until the count of updates is read, nothing but an empty ledger can have been written.
        committed = (
            None if updates_before is None else settle(layout, updates_before, ledger_was_new)
        )
        if committed is None:
            if updates_before is None and ledger_was_new:
                layout.ledger.unlink(missing_ok=True)
            if staged is not None:
                staged.discard()
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("nothing was changed") from None
            raise
        if isinstance(exc, KeyboardInterrupt):
            if staged is not None and points_to(staged.link, staged.run_dir):
                raise Interrupted(f"update {committed} was recorded and published") from None
            raise Interrupted(
                f"update {committed} was recorded; its results will be published at the next "
                "command"
            ) from None
        raise ForecastError(
            f"update {committed} was recorded, but publishing its results failed ({exc}); "
            "they will be published at the next command"
        ) from exc


def posterior_summary(table: Any) -> dict[str, Any]:
    """Per hypothesis: mean, sd, HDI and word, as the ledger and the report keep them."""
    out = {}
    for hid, row in table.iterrows():
        out[str(hid)] = {
            "mean": float(row["mean"]),
            "sd": None if np.isnan(row["sd"]) else float(row["sd"]),
            "hdi_low": None if np.isnan(row["hdi_low"]) else float(row["hdi_low"]),
            "hdi_high": None if np.isnan(row["hdi_high"]) else float(row["hdi_high"]),
            "word": str(row["word"]),
        }
    return out


def before_posterior(plan: UpdatePlan, options: Any) -> dict[str, Any]:
    """The posterior before the update: the published results if they match, else a new fit.

    Reusing the published summary (matched by the spec's sha256) saves a whole fit.
    """
    from forecast.model.sample import fit
    from forecast.report.posterior import FitReport
    from forecast.store.results import load_summary

    with contextlib.suppress(ResultsError):
        summary = load_summary(plan.layout, plan.before.name)
        if summary.get("spec_sha256") == plan.before.sha256:
            return {
                h["hypothesis"]: {k: h[k] for k in ("mean", "sd", "hdi_low", "hdi_high", "word")}
                for h in summary["hypotheses"]
            }
    return posterior_summary(FitReport(fit(plan.before, options)).table())
