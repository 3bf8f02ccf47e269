"""The spec with one item taken out: what a refit would see had the item never been written.

Each function returns a new :class:`~forecast.spec.schema.Spec` with the same counting rules
applied to what is left, so a leave-one-out figure equals a refit of the project with the
item deleted from its files:

- an attestation that restates (repeats, endorses or copies) a removed one goes with it;
- a source's second attestation of a claim, or another member of its organisation, counts
  once the first has gone;
- a claim left with no counted witness is dropped (it was evidence only through them), and a
  fact left with no claim is dropped.

The spec hash is kept: these specs are never written or published.
"""

from __future__ import annotations

from dataclasses import replace

from forecast.spec.schema import AttestationRecord, ClaimRecord, Spec


def without_attestations(spec: Spec, removed: set[str]) -> Spec:
    """The spec without the attestations in ``removed`` and those that restate them."""
    claims = []
    for claim in spec.claims:
        kept = [a for a in claim.attestations if a.id not in removed and a.restates not in removed]
        if len(kept) == len(claim.attestations):
            claims.append(claim)
            continue
        recounted = _recount(kept)
        if claim.counted_attestations and not any(a.counted for a in recounted):
            continue
        claims.append(replace(claim, attestations=recounted))
    return with_claims(spec, claims)


def without_source(spec: Spec, source_id: str) -> Spec:
    """Without a source's attestations; an organisation's go with its members' ones."""
    removed = {a.id for a in spec.attestations if source_id in (a.source_id, a.witness_id)}
    return without_attestations(spec, removed)


def without_document(spec: Spec, document_id: str) -> Spec:
    """Without a document's attestations and those of every document derived from it."""
    documents = {document_id} | descendants(spec, document_id)
    return without_attestations(
        spec, {a.id for a in spec.attestations if a.document_id in documents}
    )


def without_claim(spec: Spec, claim_id: str) -> Spec:
    """Without one claim (a fact keeps its other claims)."""
    return with_claims(spec, [c for c in spec.claims if c.id != claim_id])


def without_fact(spec: Spec, fact_id: str) -> Spec:
    """Without a fact and all its claims."""
    return with_claims(spec, [c for c in spec.claims if c.fact != fact_id])


def fact_ungrouped(spec: Spec, fact_id: str) -> Spec:
    """A fact's claims as plain claims, each with its implied theta: the fact undeclared."""
    claims = [
        replace(c, fact=None, if_true=None, if_false=None) if c.fact == fact_id else c
        for c in spec.claims
    ]
    return with_claims(spec, claims)


def descendants(spec: Spec, document_id: str) -> set[str]:
    """Every document derived, directly or through others, from ``document_id``."""
    out: set[str] = set()
    frontier = {document_id}
    while frontier:
        frontier = {
            d.id
            for d in spec.documents.values()
            if d.document.derived_from in frontier and d.id not in out
        }
        out |= frontier
    return out


def _recount(attestations: list[AttestationRecord]) -> tuple[AttestationRecord, ...]:
    """The first attestation of each witness counts; a restatement never does."""
    seen: dict[str, str] = {}
    out = []
    for a in sorted(attestations, key=lambda a: a.id):
        if a.restates is not None:
            out.append(a)
        elif a.witness_id in seen:
            out.append(a if not a.counted else replace(a, counted=False))
        else:
            seen[a.witness_id] = a.id
            out.append(a if a.counted else replace(a, counted=True, not_counted_because=None))
    return tuple(out)


def with_claims(spec: Spec, claims: list[ClaimRecord]) -> Spec:
    """The spec with these claims, and only the facts that still have one."""
    in_use = {c.fact for c in claims if c.fact is not None}
    facts = tuple(
        replace(f, claims=tuple(c.id for c in claims if c.fact == f.id))
        for f in spec.facts
        if f.id in in_use
    )
    return replace(spec, claims=tuple(claims), facts=facts)
