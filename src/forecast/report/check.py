"""What ``forecast check`` reports about a validated spec; no heavy imports until ``.table()``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forecast.constants import ADMIRALTY_GRADES, CLAIM_KINDS, EVIDENCE_ANALYST
from forecast.report.base import Report
from forecast.report.words import count
from forecast.spec.schema import Spec

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class CheckReport(Report):
    """Counts, documents and verified quote locations for a spec that passed every rule."""

    spec: Spec
    ledger_warnings: tuple[str, ...] = ()

    @property
    def warnings(self) -> list[str]:
        """The spec's warnings (file, line, field), then the ledger's."""
        return [str(w) for w in self.spec.warnings] + list(self.ledger_warnings)

    @property
    def claims_by_kind(self) -> dict[str, int]:
        """Number of claims of each kind."""
        counts = Counter(c.kind for c in self.spec.claims)
        return {kind: counts.get(kind, 0) for kind in CLAIM_KINDS}

    @property
    def attestations_by_document(self) -> dict[str, tuple[int, int]]:
        """Per document: (verified attestations, attestations that enter the likelihood)."""
        out = {doc_id: [0, 0] for doc_id in self.spec.documents}
        for attestation in self.spec.attestations:
            out[attestation.document_id][0] += 1
            out[attestation.document_id][1] += int(attestation.counted)
        return {doc_id: (n, k) for doc_id, (n, k) in out.items()}

    def _claims(self) -> list[dict[str, Any]]:
        """Per claim: its kind as treated, and its witnesses after organisations and restates."""
        spec = self.spec
        out = []
        for claim in spec.claims:
            witnesses: dict[str, list[str]] = {}
            for a in claim.counted_attestations:
                witnesses.setdefault(a.witness_id, [])
            for a in claim.attestations:
                if a.witness_id in witnesses and a.witness_id != a.source_id:
                    witnesses[a.witness_id].append(a.source_id)
            named = [
                f"{w} (through {', '.join(sorted(set(members)))})" if members else w
                for w, members in witnesses.items()
            ]
            if claim.fact is not None:
                kind = (
                    f"{claim.kind} in fact {claim.fact} (if it holds {claim.if_true:g}, "
                    f"if not {claim.if_false:g})"
                )
            elif claim.kind == "outcome":
                kind = "outcome: observed, no witnesses"
            elif claim.is_opinion and claim.kind != "opinion":
                reliabilities = ", ".join(
                    f"{spec.sources[w].judgment_reliability:g}" for w in witnesses
                )
                kind = (
                    f"{claim.kind} treated as an opinion (its judgments are all 0 or 1): "
                    f"judgment reliability {reliabilities or '—'} applies"
                )
            else:
                kind = claim.kind
            counted_as = (
                kind
                if claim.kind == "outcome"
                else f"{kind}; witnesses: " + (", ".join(named) or "(none)")
            )
            out.append(
                {"claim": claim.id, "kind": claim.kind, "fact": claim.fact,
                 "opinion": claim.is_opinion, "witnesses": list(witnesses),
                 "counted_as": counted_as}
            )  # fmt: skip
        return out

    def _rows(self) -> list[dict[str, Any]]:
        spec = self.spec
        kinds = {c.id: c.kind for c in spec.claims}
        return [
            {
                "attestation": a.id,
                "claim": a.claim_id,
                "kind": kinds[a.claim_id],
                "source": a.source_id,
                "document": a.document_id,
                "title": spec.documents[a.document_id].document.title,
                "path": spec.documents[a.document_id].display_path,
                "found_at": a.found_at,
                "witness": a.witness_id,
                "counted": a.counted,
                "not_counted_because": a.not_counted_because,
            }
            for a in sorted(spec.attestations, key=lambda a: a.id)
        ]

    def table(self) -> pd.DataFrame:
        """One row per verified attestation: claim, source, document and where it was found."""
        import pandas as pd

        return pd.DataFrame(self._rows()).set_index("attestation")

    def to_dict(self) -> dict[str, Any]:
        """The spec's summary as data: hypotheses, sources, documents, quotes, warnings."""
        spec = self.spec
        by_document = self.attestations_by_document
        return {
            "ok": True,
            "model": spec.name,
            "title": spec.title,
            "explanandum": spec.explanandum,
            "as_of": str(spec.as_of()) if spec.as_of() else None,
            "hypotheses": [
                {"id": h.id, "label": h.label, "prior": h.prior} for h in spec.hypotheses
            ],
            "sources": [
                {
                    "id": s.id,
                    "grade": s.source.grade,
                    "fixed_reliability": s.fixed_reliability,
                    "alpha": s.alpha,
                    "beta": s.beta,
                    "judgment_reliability": s.judgment_reliability,
                    "speaks_for": s.source.speaks_for,
                }
                for s in spec.sources.values()
            ],
            "claims_by_kind": self.claims_by_kind,
            "directly_asserting": [c.id for c in spec.claims if c.directly_asserts],
            "claims": self._claims(),
            "facts": [
                {"id": f.id, "text": f.text, "phi": list(f.phi), "claims": list(f.claims)}
                for f in spec.facts
            ],
            "documents": [
                {
                    "id": doc_id,
                    "title": record.document.title,
                    "author": record.document.author,
                    "date": str(record.document.date) if record.document.date else None,
                    "path": record.display_path,
                    "derived_from": record.document.derived_from,
                    "verified": by_document[doc_id][0],
                    "counted": by_document[doc_id][1],
                }
                for doc_id, record in spec.documents.items()
            ],
            "attestations": self._rows(),
            "warnings": self.warnings,
        }

    def text(self) -> str:
        """The summary as printed by ``forecast check``, ending in one ``OK:`` line."""
        spec = self.spec
        attestations = spec.attestations
        counted = sum(a.counted for a in attestations)
        lines = [
            f"Model {spec.name}: {spec.title}",
            f"Explanandum: {spec.explanandum}",
            f"As of: {spec.as_of() or 'undated'}",
            "",
            f"Hypotheses ({len(spec.hypotheses)}):",
        ]
        lines += [f"  {h.id:<18} prior {h.prior:.3f}  {h.label}" for h in spec.hypotheses]
        lines += ["", f"Sources ({len(spec.sources)}):"]
        for source in spec.sources.values():
            grade = ADMIRALTY_GRADES[source.source.grade]
            prior = (
                f"fixed {source.fixed_reliability:.2f}"
                if source.fixed_reliability is not None
                else f"Beta({source.alpha:g}, {source.beta:g}) mean {source.prior_mean:.2f}"
            )
            organisation = source.source.speaks_for
            if organisation:
                lines.append(
                    f"  {source.id:<18} speaks for {organisation}: counted as {organisation}, "
                    f"with its reliability (its own grade {grade.grade} is not used)"
                )
                continue
            lines.append(
                f"  {source.id:<18} {grade.grade} ({grade.label}); reliability {prior}; "
                f"on judgment {source.judgment_reliability:.2f}"
            )
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.claims_by_kind.items())
        lines += ["", f"Claims ({len(spec.claims)}): {kinds}"]
        for fact in spec.facts:
            phi = ", ".join(
                f"{h} {p:g}" for h, p in zip(spec.hypothesis_ids, fact.phi, strict=True)
            )
            lines.append(f"Fact {fact.id} (P holds: {phi}), signs: {', '.join(fact.claims)}")
        direct = [c.id for c in spec.claims if c.directly_asserts]
        lines.append(f"Directly asserts a hypothesis: {', '.join(direct) if direct else '(none)'}")
        lines += ["", "Claims as counted (kind as treated; the witnesses that count):"]
        lines += [f"  {c['claim']:<32} {c['counted_as']}" for c in self._claims()]
        if spec.analysts:
            lines += ["", f"Analysts ({len(spec.analysts) + 1}):"]
            names = ", ".join(spec.evidence_judged_by)
            lines.append(f"  {EVIDENCE_ANALYST:<18} {names} (the evidence files' judgments)")
            units = len(spec.judgeable)
            for analyst in spec.analysts:
                blind = "blind" if analyst.blind else "not blind"
                prior = "; own priors" if analyst.prior is not None else ""
                lines.append(
                    f"  {analyst.id:<18} {analyst.judged_by}, {analyst.judged_on}, {blind}; "
                    f"judged {len(analyst.judged)} of {units} claims and facts{prior} "
                    f"({analyst.path})"
                )
        if spec.questions or spec.indicators:
            retrospective = sum(q.retrospective for q in spec.questions)
            resolved = sum(q.resolution is not None for q in spec.questions)
            cutoff = spec.evidence_cutoff() or "unknown (a document is undated)"
            lines += [
                "",
                f"Forecast questions ({len(spec.questions)}): {retrospective} retrospective, "
                f"{len(spec.questions) - retrospective} forward-looking, {resolved} resolved "
                f"(forecast resolve, or an outcome claim); indicators ({len(spec.indicators)}); "
                "evidence cutoff "
                f"{cutoff}.",
            ]
        lines += ["", f"Documents ({len(spec.documents)}):"]
        for doc_id, (n, k) in self.attestations_by_document.items():
            record = spec.documents[doc_id]
            derived = record.document.derived_from
            byline = record.document.author + (
                f", {record.document.date}" if record.document.date else ""
            )
            lines.append(f"  {doc_id}: {record.document.title} ({byline})")
            note = f"; derived from {derived}" if derived else ""
            lines.append(f"    {record.display_path}: {n} verified, {k} counted{note}")
        lines += [
            "",
            f"Quotes verified ({len(attestations)}; {counted} counted, "
            f"{len(attestations) - counted} restated, repeated or endorsed), as attestation, "
            "source, document line:column:",
        ]
        for row in self._rows():
            status = "" if row["counted"] else f"  [not counted: {row['not_counted_because']}]"
            lines.append(
                f"  {row['attestation']:<40} {row['source']:<16} "
                f"{row['document']} {row['found_at']}{status}"
            )
        if self.warnings:
            lines += ["", f"Warnings ({len(self.warnings)}):"]
            lines += [f"  warning: {w}" for w in self.warnings]
        counts = [
            count(len(spec.hypotheses), "hypothesis", "hypotheses"),
            count(len(spec.sources), "source"),
            count(len(spec.claims), "claim"),
            f"{count(len(attestations), 'quote')} verified in "
            + count(len(spec.documents), "document"),
        ]
        if self.warnings:
            counts.append(count(len(self.warnings), "warning"))
        lines += ["", f"OK: {spec.name} passes every check ({', '.join(counts)})."]
        return "\n".join(lines)
