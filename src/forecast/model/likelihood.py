"""The unreliable-witness likelihood, as arrays shared by the sampler, the exact engine and reports.

For a claim c with judgments theta[c, h] = P(c true | h), attested by distinct, non-derived
sources i with reliability r_i and "would say it anyway" rate a_i:

    P(attestations of c | h) = theta[c, h] * prod_i (r_i + (1 - r_i) a_i)
                             + (1 - theta[c, h]) * prod_i ((1 - r_i) a_i)

An ``outcome`` claim (a resolved forecast question) is observed directly: its likelihood is
theta[c, h]. The claims that are signs of one fact F (P(F holds | h) = phi[F, h]) enter
together, so the one state of the world is counted once:

    P(attestations of F's claims | h) = phi[F, h] * prod_c (p1_c A_c + (1 - p1_c) B_c)
                                      + (1 - phi[F, h]) * prod_c (p0_c A_c + (1 - p0_c) B_c)

with A_c, B_c the two products above and p1_c, p0_c = P(c true | F holds / does not hold).
Likelihood terms come in units: one per claim (0 for a claim in a fact) and one per fact.
The formulas are written once, over an array namespace ``xp`` (NumPy or PyTensor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from forecast.spec.schema import Spec
from forecast.witness import R_MAX, claim_terms, witness_sums

#: log(0) as a finite number, so that a fact held certain or impossible (phi 1 or 0) stays
#: finite in every operation and gradient: exp of it is exactly 0.
LOG_ZERO = -1e300


@dataclass(frozen=True)
class EvidenceArrays:
    """The likelihood's inputs, in hypothesis order, claims sorted by id.

    Each counted (claim, source) pair is one column ``k``, ordered by claim (``pair_claim`` is
    non-decreasing, so per-claim sums are segment sums). Its reliability is the sampled
    reliability ``sampled_sources[pair_slot[k]]`` when ``pair_slot[k] >= 0``, else the fixed
    value ``pair_fixed[k]`` (a source's fixed reliability, or its judgment reliability on an
    opinion).
    """

    hypothesis_ids: tuple[str, ...]
    claim_ids: tuple[str, ...]
    log_prior: np.ndarray
    theta: np.ndarray
    pair_claim: np.ndarray
    pair_source: tuple[str, ...]
    pair_slot: np.ndarray
    pair_fixed: np.ndarray
    say_anyway: np.ndarray
    direct: np.ndarray
    sampled_sources: tuple[str, ...]
    alpha: np.ndarray
    beta: np.ndarray
    #: Per claim: the index of its fact in ``fact_ids``, or -1 (None: no claim is in a fact).
    claim_fact: np.ndarray | None = None
    #: Per claim in a fact: P(claim true | fact holds), P(claim true | fact does not hold).
    if_true: np.ndarray | None = None
    if_false: np.ndarray | None = None
    fact_ids: tuple[str, ...] = ()
    #: P(fact holds | h): shape (F, H).
    fact_phi: np.ndarray | None = None

    @property
    def n_sampled(self) -> int:
        """Number of free reliability parameters."""
        return len(self.sampled_sources)

    @property
    def unit_ids(self) -> tuple[str, ...]:
        """The likelihood's terms: every claim (a claim in a fact adds 0), then every fact."""
        return self.claim_ids + self.fact_ids

    @property
    def facts(self) -> np.ndarray:
        """Per claim: the index of its fact, or -1."""
        if self.claim_fact is None:
            return np.full(len(self.claim_ids), -1)
        return self.claim_fact

    @property
    def sampled_claims(self) -> np.ndarray:
        """Boolean mask of claims that touch a sampled reliability, with their facts' claims."""
        touched = np.zeros(len(self.claim_ids), dtype=bool)
        touched[self.pair_claim[self.pair_slot >= 0]] = True
        facts = self.facts
        touched_facts = np.unique(facts[touched & (facts >= 0)])
        touched |= np.isin(facts, touched_facts) & (facts >= 0)
        return touched

    @cached_property
    def fact_constants(self) -> dict[str, np.ndarray]:
        """Constant inputs of the fact terms (the arrays are frozen, so these are too)."""
        facts = self.facts
        in_fact = facts >= 0
        phi = np.zeros((0, len(self.hypothesis_ids))) if self.fact_phi is None else self.fact_phi
        order = np.argsort(np.where(in_fact, facts, len(self.fact_ids)), kind="stable")
        order = order[: int(in_fact.sum())]
        starts = np.flatnonzero(np.r_[True, np.diff(facts[order]) != 0]) if order.size else order
        return {
            "plain": (~in_fact).astype(float),
            "order": order,
            "starts": starts,
            **fact_judgments(
                in_fact, phi, self._or_zeros(self.if_true), self._or_zeros(self.if_false)
            ),
        }

    def _or_zeros(self, values: np.ndarray | None) -> np.ndarray:
        return np.zeros(len(self.claim_ids)) if values is None else values

    def fact_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum claim rows (..., C, K) into their facts (..., F, K)."""
        terms = self.fact_constants
        if not self.fact_ids:
            return np.zeros((*values.shape[:-2], 0, values.shape[-1]))
        return np.add.reduceat(values[..., terms["order"], :], terms["starts"], axis=-2)


def fact_judgments(
    in_fact: np.ndarray, phi: np.ndarray, if_true: np.ndarray, if_false: np.ndarray
) -> dict[str, np.ndarray]:
    """The judgment part of the fact constants: log phi, log(1 - phi), and (if_true, if_false).

    What changes when only the facts' judgments change; the claims' order does not.
    """
    with np.errstate(divide="ignore"):
        log_phi = np.where(phi > 0, np.log(phi), LOG_ZERO)
        log1m_phi = np.where(phi < 1, np.log1p(-phi), LOG_ZERO)
    if_fact = np.stack(
        [
            np.where(in_fact, np.nan_to_num(if_true), 0.0),
            np.where(in_fact, np.nan_to_num(if_false), 0.0),
        ],
        axis=1,
    )
    return {"log_phi": log_phi, "log1m_phi": log1m_phi, "if_fact": if_fact}


def evidence_arrays(spec: Spec) -> EvidenceArrays:
    """Lay a validated spec out as arrays (claims and attestations in id order)."""
    hypothesis_ids = spec.hypothesis_ids
    claims = sorted(spec.claims, key=lambda c: c.id)
    sampled: list[str] = sorted(
        {
            a.witness_id
            for c in claims
            if not c.is_opinion
            for a in c.counted_attestations
            if spec.sources[a.witness_id].sampled
        }
    )
    slot_of = {source_id: i for i, source_id in enumerate(sampled)}
    pair_claim, pair_source, pair_slot, pair_fixed, say_anyway = [], [], [], [], []
    for c_index, claim in enumerate(claims):
        for attestation in sorted(claim.counted_attestations, key=lambda a: a.id):
            # A member of an organisation testifies as the organisation, with its reliability.
            source = spec.sources[attestation.witness_id]
            pair_claim.append(c_index)
            pair_source.append(source.id)
            say_anyway.append(attestation.say_anyway)
            if claim.is_opinion:
                pair_slot.append(-1)
                pair_fixed.append(source.judgment_reliability)
            elif source.sampled:
                pair_slot.append(slot_of[source.id])
                pair_fixed.append(np.nan)
            else:
                pair_slot.append(-1)
                pair_fixed.append(source.fixed_reliability)
    n_claims = len(claims)
    fact_ids = tuple(f.id for f in spec.facts)
    fact_index = {fid: i for i, fid in enumerate(fact_ids)}
    in_facts = bool(fact_ids)
    return EvidenceArrays(
        hypothesis_ids=hypothesis_ids,
        claim_ids=tuple(c.id for c in claims),
        log_prior=np.log(np.asarray(spec.priors, dtype=float)),
        theta=np.array([c.theta for c in claims], dtype=float).reshape(
            n_claims, len(hypothesis_ids)
        ),
        pair_claim=np.asarray(pair_claim, dtype=int),
        pair_source=tuple(pair_source),
        pair_slot=np.asarray(pair_slot, dtype=int),
        pair_fixed=np.asarray(pair_fixed, dtype=float),
        say_anyway=np.asarray(say_anyway, dtype=float),
        direct=np.array([c.kind == "outcome" for c in claims], dtype=bool),
        sampled_sources=tuple(sampled),
        alpha=np.array([spec.sources[s].alpha for s in sampled], dtype=float),
        beta=np.array([spec.sources[s].beta for s in sampled], dtype=float),
        claim_fact=np.array([fact_index.get(c.fact, -1) for c in claims], dtype=int)
        if in_facts
        else None,
        if_true=np.array([np.nan if c.if_true is None else c.if_true for c in claims])
        if in_facts
        else None,
        if_false=np.array([np.nan if c.if_false is None else c.if_false for c in claims])
        if in_facts
        else None,
        fact_ids=fact_ids,
        fact_phi=np.array([f.phi for f in spec.facts], dtype=float).reshape(len(fact_ids), -1)
        if in_facts
        else None,
    )


def subset(arrays: EvidenceArrays, claim_mask: np.ndarray, members: np.ndarray) -> EvidenceArrays:
    """The arrays restricted to some claims, with sampled sources renumbered to ``members``."""
    pairs = claim_mask[arrays.pair_claim]
    claim_index = np.cumsum(claim_mask) - 1
    remap = np.full(arrays.n_sampled, -1)
    remap[members] = np.arange(len(members))
    slots = arrays.pair_slot[pairs]
    facts: dict[str, Any] = {}
    if arrays.claim_fact is not None:
        kept = np.unique(arrays.claim_fact[claim_mask & (arrays.claim_fact >= 0)])
        renumber = np.full(len(arrays.fact_ids) + 1, -1)
        renumber[kept] = np.arange(len(kept))
        facts = {
            "claim_fact": renumber[arrays.claim_fact[claim_mask]],
            "if_true": arrays.if_true[claim_mask] if arrays.if_true is not None else None,
            "if_false": arrays.if_false[claim_mask] if arrays.if_false is not None else None,
            "fact_ids": tuple(arrays.fact_ids[i] for i in kept),
            "fact_phi": arrays.fact_phi[kept] if arrays.fact_phi is not None else None,
        }
    return replace(
        arrays,
        **facts,
        claim_ids=tuple(np.asarray(arrays.claim_ids)[claim_mask]),
        theta=arrays.theta[claim_mask],
        pair_claim=claim_index[arrays.pair_claim[pairs]],
        pair_source=tuple(np.asarray(arrays.pair_source, dtype=object)[pairs]),
        pair_slot=np.array([remap[s] if s >= 0 else -1 for s in slots], dtype=int),
        pair_fixed=arrays.pair_fixed[pairs],
        say_anyway=arrays.say_anyway[pairs],
        direct=arrays.direct[claim_mask],
        sampled_sources=tuple(arrays.sampled_sources[i] for i in members),
        alpha=arrays.alpha[members],
        beta=arrays.beta[members],
    )


def segment_sum(values: np.ndarray, pair_claim: np.ndarray, n_claims: int) -> np.ndarray:
    """Sum pair values (..., K) into their claims (..., C); ``pair_claim`` is non-decreasing."""
    out = np.zeros((*values.shape[:-1], n_claims))
    if values.shape[-1]:
        starts = np.flatnonzero(np.r_[True, pair_claim[1:] != pair_claim[:-1]])
        out[..., pair_claim[starts]] = np.add.reduceat(values, starts, axis=-1)
    return out


def direct_log_likelihood(arrays: EvidenceArrays) -> np.ndarray:
    """Log theta for directly observed (outcome) claims, 0 elsewhere: shape (C, H)."""
    out = np.zeros_like(arrays.theta)
    if arrays.direct.any():
        with np.errstate(divide="ignore"):
            out[arrays.direct] = np.log(arrays.theta[arrays.direct])
    return out


def pair_reliability(arrays: EvidenceArrays, sampled_reliability: np.ndarray) -> np.ndarray:
    """Reliability of every counted pair, for reliabilities of shape (..., S)."""
    sampled_reliability = np.asarray(sampled_reliability, dtype=float)
    batch = sampled_reliability.shape[:-1]
    out = np.broadcast_to(arrays.pair_fixed, (*batch, len(arrays.pair_fixed))).copy()
    is_sampled = arrays.pair_slot >= 0
    out[..., is_sampled] = sampled_reliability[..., arrays.pair_slot[is_sampled]]
    return out


def unit_terms(
    arrays: EvidenceArrays,
    noise: Any,
    gap: Any,
    fact_sum: Callable[[Any], Any],
    xp: Any = np,
) -> tuple[Any, Any]:
    """The likelihood's terms from the per-claim sums: (claims (..., C, H), facts (..., F, H)).

    A claim in a fact contributes 0 on its own; its fact's term (:func:`fact_terms`) holds
    it. Without facts the second is None.
    """
    claims = claim_terms(arrays.theta, noise, gap, xp)
    if not arrays.fact_ids:
        return claims, None
    plain = claims * arrays.fact_constants["plain"][:, None]
    return plain, fact_terms(arrays, noise, gap, fact_sum, xp)


def fact_terms(
    arrays: EvidenceArrays,
    noise: Any,
    gap: Any,
    fact_sum: Callable[[Any], Any],
    xp: Any = np,
    judgments: dict[str, Any] | None = None,
) -> Any:
    """The facts' part of :func:`unit_terms` alone: shape (..., F, H), None without facts.

    ``judgments`` (:func:`fact_judgments`) replaces the arrays' own phi, if_true, if_false.
    """
    if not arrays.fact_ids:
        return None
    terms = arrays.fact_constants if judgments is None else judgments
    sums = fact_sum(claim_terms(terms["if_fact"], noise, gap, xp))
    return fact_mixture(arrays, sums[..., 0:1], sums[..., 1:2], xp, judgments)


def fact_mixture(
    arrays: EvidenceArrays,
    if_holds: Any,
    if_fails: Any,
    xp: Any,
    judgments: dict[str, Any] | None = None,
) -> Any:
    """log(phi * prod P(claim | fact holds) + (1 - phi) * prod P(claim | it does not)).

    ``if_holds`` and ``if_fails`` (..., F, 1) hold each fact's summed log terms of its claims
    if it holds and if it does not; the result has shape (..., F, H).
    """
    terms = arrays.fact_constants if judgments is None else judgments
    return xp.logaddexp(terms["log_phi"] + if_holds, terms["log1m_phi"] + if_fails)


def claim_log_likelihood(
    arrays: EvidenceArrays, sampled_reliability: np.ndarray | None = None
) -> np.ndarray:
    """log P(evidence of each unit | h, r): shape (..., U, H), units as ``arrays.unit_ids``.

    A unit is a claim (its own attestations) or a fact (the attestations of all its claims);
    a claim in a fact is a unit worth 0, so that the units sum to the whole likelihood.
    """
    if sampled_reliability is None:
        sampled_reliability = np.zeros(arrays.n_sampled)
    r = pair_reliability(arrays, sampled_reliability)
    n_claims = len(arrays.claim_ids)
    noise, gap = witness_sums(
        r, arrays.say_anyway, lambda values: segment_sum(values, arrays.pair_claim, n_claims)
    )
    plain, facts = unit_terms(arrays, noise, gap, arrays.fact_sum)
    plain = plain + direct_log_likelihood(arrays)
    return plain if facts is None else np.concatenate([plain, facts], axis=-2)


def claim_sums(arrays: EvidenceArrays, sampled_reliability: np.ndarray) -> tuple[Any, Any]:
    """Per claim, S_noise and the gap S_track - S_noise for reliabilities (N, S): (N, C) each."""
    r = np.clip(pair_reliability(arrays, sampled_reliability), 0, R_MAX)
    n_claims = len(arrays.claim_ids)
    noise = segment_sum(np.log1p(-r) + np.log(arrays.say_anyway), arrays.pair_claim, n_claims)
    gap = segment_sum(np.log(r + (1.0 - r) * arrays.say_anyway), arrays.pair_claim, n_claims)
    return noise, gap - noise


def hypothesis_log_likelihood(
    arrays: EvidenceArrays, sampled_reliability: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    """log P(all evidence | h, r) for reliabilities of shape (N, S): shape (N, H), in chunks.

    The same formula as :func:`claim_log_likelihood` summed over units, arranged for speed:
    the claim-only part (S_noise) is summed before it meets the hypothesis axis.
    """
    sampled_reliability = np.atleast_2d(np.asarray(sampled_reliability, dtype=float))
    constant = direct_log_likelihood(arrays).sum(axis=0)
    plain_claims = arrays.fact_constants["plain"].astype(bool)
    theta = arrays.theta[plain_claims]
    out = np.empty((sampled_reliability.shape[0], len(arrays.hypothesis_ids)))
    for start in range(0, sampled_reliability.shape[0], chunk):
        noise, gap = claim_sums(arrays, sampled_reliability[start : start + chunk])
        terms = np.expm1(gap[:, plain_claims])[:, :, None] * theta
        np.log1p(terms, out=terms)
        total = terms.sum(axis=1) + noise[:, plain_claims].sum(axis=1)[:, None] + constant
        if arrays.fact_ids:
            total = total + fact_terms(arrays, noise, gap, arrays.fact_sum).sum(axis=1)
        out[start : start + chunk] = total
    return out


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
