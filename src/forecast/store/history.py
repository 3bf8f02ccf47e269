"""``forecast history``: the ledger's timeline of updates, as a report."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from forecast.errors import UnsafePathError, UsageError
from forecast.report.base import Report
from forecast.report.words import count
from forecast.spec.layout import Layout
from forecast.store.ledger import GENESIS, SCHEMA_VERSION, Ledger, UpdateRecord, sha256_file

if TYPE_CHECKING:
    import pandas as pd

FIELDS = [
    "update", "time", "model", "file", "sha256", "claims", "attestations",
    "leader_before", "p_before", "leader_after", "p_after", "seed",
]  # fmt: skip


def _leader(summary: dict) -> tuple[str, float]:
    hid = max(summary, key=lambda h: summary[h]["mean"])
    return hid, summary[hid]["mean"]


@dataclass(frozen=True)
class HistoryReport(Report):
    """Every committed update, oldest first."""

    records: tuple[UpdateRecord, ...]
    #: How many events of each other kind the ledger holds (forecasts, resolutions).
    others: tuple[tuple[str, int], ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per update: when, what file, what it added, how the leader moved."""
        rows = []
        for record in self.records:
            before, after = _leader(record.before), _leader(record.after)
            rows.append(
                {
                    "update": record.id,
                    "time": record.time,
                    "model": record.model,
                    "file": record.source_file,
                    "sha256": record.source_sha256,
                    "claims": len(record.items.get("claims", [])),
                    "attestations": len(record.items.get("attestations", [])),
                    "leader_before": before[0],
                    "p_before": round(before[1], 4),
                    "leader_after": after[0],
                    "p_after": round(after[1], 4),
                    "seed": record.seed,
                }
            )
        return rows

    def table(self) -> pd.DataFrame:
        """One row per update, indexed by update number."""
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=FIELDS).set_index("update")

    def to_dict(self) -> dict[str, Any]:
        """Every update with all it recorded: files, ids, posteriors, hashes, versions."""
        return {"updates": [asdict(r) for r in self.records], "other_events": dict(self.others)}

    def text(self) -> str:
        """The timeline as a table a person reads."""
        rows = self.rows()
        header = f"{'#':>3}  {'time (UTC)':<25} {'file':<40} {'+claims':>7} {'+att.':>5}  leader"
        lines = [header] if rows else ["No updates recorded."]
        for row in rows:
            lines.append(
                f"{row['update']:>3}  {row['time']:<25} {row['file'][-40:]:<40} "
                f"{row['claims']:>7} {row['attestations']:>5}  {row['leader_before']} "
                f"{row['p_before']:.3f} -> {row['leader_after']} {row['p_after']:.3f}"
            )
        if self.others:
            counts = ", ".join(f"{n} {kind} event{'s' * (n != 1)}" for kind, n in self.others)
            lines.append(f"Also in the ledger: {counts} (forecast questions, forecast score).")
        return "\n".join(lines)


@dataclass(frozen=True)
class RecordedUpdateReport(Report):
    """One recorded update as ``forecast history --show N`` prints it: its report as printed."""

    record: UpdateRecord

    def table(self) -> pd.DataFrame:
        """Per hypothesis: the posterior mean before and after, as recorded."""
        import pandas as pd

        rows = [
            {
                "hypothesis": h,
                "before_mean": self.record.before[h]["mean"],
                "after_mean": self.record.after.get(h, {}).get("mean"),
            }
            for h in self.record.before
        ]
        return pd.DataFrame(rows).set_index("hypothesis")

    def to_dict(self) -> dict[str, Any]:
        """Everything the ledger recorded for the update, its report's text included."""
        return asdict(self.record)

    def text(self) -> str:
        """The update's report as it was printed when it was recorded."""
        record = self.record
        head = f"Update {record.id}, recorded {record.time} ({record.model}, {record.source_file})"
        if record.report is not None:
            return f"{head}\n\n{record.report}"
        lines = [
            head,
            "",
            "Recorded before update reports were kept; the posterior means it recorded:",
        ]
        lines += [
            f"  {h:<18} {row.before_mean:.3f} -> {row.after_mean:.3f}"
            for h, row in self.table().iterrows()
        ]
        return "\n".join(lines)


def read_update(layout: Layout, number: int) -> RecordedUpdateReport:
    """Update ``number`` as recorded; a :class:`UsageError` if the ledger holds no such update."""
    records = read_history(layout).records
    for record in records:
        if record.id == number:
            return RecordedUpdateReport(record)
    held = {0: "no update", 1: "update 1"}.get(len(records), f"updates 1 to {len(records)}")
    raise UsageError(f"--show: no update {number} (the ledger holds {held})")


def read_history(layout: Layout) -> HistoryReport:
    """The timeline of updates; a project without a ledger has none (and none is created)."""
    if not layout.ledger.exists():
        return HistoryReport(())
    with Ledger.read(layout) as ledger:
        kinds = Counter(e.kind for e in ledger.events() if e.kind != "update")
        return HistoryReport(tuple(ledger.updates()), tuple(sorted(kinds.items())))


@dataclass(frozen=True)
class VerifyReport(Report):
    """What ``history --verify`` found: every mismatch, the head to keep, files not covered."""

    mismatches: tuple[str, ...]
    uncovered: tuple[str, ...]
    head: tuple[int, str]
    schema: int

    @property
    def ok(self) -> bool:
        """Whether the log, the files it records and the journal all agree."""
        return not self.mismatches

    def table(self) -> pd.DataFrame:
        """One row per finding: a mismatch, or a file the log does not cover."""
        import pandas as pd

        rows = [{"finding": "mismatch", "detail": m} for m in self.mismatches]
        rows += [{"finding": "not covered", "detail": f} for f in self.uncovered]
        return pd.DataFrame(rows, columns=["finding", "detail"])

    def to_dict(self) -> dict[str, Any]:
        """The findings as data."""
        return {
            "ok": self.ok,
            "mismatches": list(self.mismatches),
            "not_covered": list(self.uncovered),
            "head": {"event": self.head[0], "hash": self.head[1]},
            "schema": self.schema,
        }

    def text(self) -> str:
        """One line per mismatch, then the head hash to keep."""
        lines = [f"MISMATCH: {m}" for m in self.mismatches]
        if self.uncovered:
            uncovered = ", ".join(self.uncovered)
            lines.append(f"Not covered by the log (never stored by an update): {uncovered}")
        if self.schema < SCHEMA_VERSION:
            lines.append(
                f"The ledger is schema {self.schema}: not yet a hash chain. The next fit or "
                "update migrates it."
            )
        verdict = (
            "OK: the log, its files and the journal agree"
            if self.ok
            else (f"{count(len(self.mismatches), 'mismatch', 'mismatches')} found")
        )
        lines.append(f"{verdict}. Head: event {self.head[0]}, {self.head[1]} (keep it to "
                     "detect a rewritten log later).")  # fmt: skip
        return "\n".join(lines)


def verify(layout: Layout) -> VerifyReport:
    """Check the chain, every stored file the log records, and the journal."""
    if not layout.ledger.exists():
        return VerifyReport((), tuple(_uncovered(layout, set())), (0, GENESIS), SCHEMA_VERSION)
    with Ledger.read(layout) as ledger:
        mismatches = ledger.chain_problems()
        recorded: set[str] = set()
        for update in ledger.updates():
            for entry in update.stored_files:
                if not isinstance(entry, dict):
                    mismatches.append(f"update {update.id}: stored_files holds {entry!r}")
                    continue
                where = f"update {update.id}: stored file {entry.get('path')!r}"
                try:
                    path = layout.managed(str(entry.get("path")), where=where)
                except UnsafePathError:
                    mismatches.append(f"{where} is not inside a folder forecast manages")
                    continue
                recorded.add(layout.relative(path))
                if not path.is_file():
                    mismatches.append(f"{where} is missing")
                elif sha256_file(path) != entry.get("sha256"):
                    mismatches.append(f"{where} was changed since it was stored")
        if ledger.pending() is not None:
            mismatches.append(
                "journal: an update was interrupted; the next fit or update rolls it back"
            )
        return VerifyReport(
            tuple(mismatches), tuple(_uncovered(layout, recorded)), ledger.head(), ledger.version
        )


def chain_warnings(layout: Layout) -> tuple[str, ...]:
    """Breaks in the ledger's hash chain, as warnings for ``forecast check`` (read-only)."""
    if not layout.ledger.exists():
        return ()
    with Ledger.read(layout) as ledger:
        problems = ledger.chain_problems()
    return tuple(f"{layout.ledger.name}: {p} (see forecast history --verify)" for p in problems)


def _uncovered(layout: Layout, recorded: set[str]) -> list[str]:
    files = [*layout.evidence_files(), *sorted(layout.seeds.glob("*"))]
    return [layout.relative(f) for f in files if f.is_file() and layout.relative(f) not in recorded]
