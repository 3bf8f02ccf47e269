"""What ``forecast check`` reports about a validated spec: plain text, no heavy imports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from forecast.constants import ADMIRALTY_GRADES
from forecast.spec import Spec


@dataclass(frozen=True)
class CheckSummary:
    """Counts and verified quote locations for a spec that passed every rule."""

    spec: Spec

    @property
    def claims_by_kind(self) -> dict[str, int]:
        """Number of claims of each kind."""
        counts = Counter(c.kind for c in self.spec.claims)
        return {kind: counts.get(kind, 0) for kind in ("act", "statement", "opinion", "outcome")}

    @property
    def attestations_by_document(self) -> dict[str, tuple[int, int]]:
        """Per document: (verified attestations, attestations that enter the likelihood)."""
        out = {doc_id: [0, 0] for doc_id in self.spec.documents}
        for attestation in self.spec.attestations:
            out[attestation.document_id][0] += 1
            out[attestation.document_id][1] += int(attestation.counted)
        return {doc_id: (n, k) for doc_id, (n, k) in out.items()}

    def text(self) -> str:
        """The summary as printed by ``forecast check``."""
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
            lines.append(
                f"  {source.id:<18} {grade.grade} ({grade.label}); reliability {prior}; "
                f"on judgment {source.judgment_reliability:.2f}"
            )
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.claims_by_kind.items())
        lines += ["", f"Claims ({len(spec.claims)}): {kinds}"]
        direct = [c.id for c in spec.claims if c.directly_asserts]
        lines.append(f"Directly asserts a hypothesis: {', '.join(direct) if direct else '(none)'}")
        lines += [
            "",
            f"Attestations ({len(attestations)} verified; {counted} counted, "
            f"{len(attestations) - counted} restated or repeated):",
        ]
        for doc_id, (n, k) in self.attestations_by_document.items():
            derived = spec.documents[doc_id].document.derived_from
            note = f"  (derived from {derived})" if derived else ""
            lines.append(f"  {doc_id:<24} {n:>3} verified, {k:>3} counted{note}")
        lines += ["", "Quotes verified (attestation, source, document:line:column):"]
        for a in sorted(attestations, key=lambda a: a.id):
            path = spec.documents[a.document_id].display_path
            status = "" if a.counted else f"  [not counted: {a.not_counted_because}]"
            lines.append(f"  {a.id:<40} {a.source_id:<16} {path}:{a.found_at}{status}")
        if spec.warnings:
            lines += ["", f"Warnings ({len(spec.warnings)}):"]
            lines += [f"  warning: {w}" for w in spec.warnings]
        return "\n".join(lines)
