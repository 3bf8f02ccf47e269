"""The unreliable-witness likelihood, as arrays shared by the sampler, the exact engine and reports.

For a claim c with judgments theta[c, h] = P(c true | h), attested by distinct, non-derived
sources i with reliability r_i and "would say it anyway" rate a_i:

    P(attestations of c | h) = theta[c, h] * prod_i (r_i + (1 - r_i) a_i)
                             + (1 - theta[c, h]) * prod_i ((1 - r_i) a_i)

An ``outcome`` claim (a resolved forecast question) is observed directly: its likelihood is
theta[c, h]. The formula is written once, over an array namespace ``xp`` (NumPy or PyTensor).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from forecast.spec.schema import Spec
from forecast.witness import R_MAX, witness_log_likelihood


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

    @property
    def n_sampled(self) -> int:
        """Number of free reliability parameters."""
        return len(self.sampled_sources)

    @property
    def sampled_claims(self) -> np.ndarray:
        """Boolean mask of claims that touch at least one sampled reliability."""
        touched = np.zeros(len(self.claim_ids), dtype=bool)
        touched[self.pair_claim[self.pair_slot >= 0]] = True
        return touched


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
    return EvidenceArrays(
        hypothesis_ids=hypothesis_ids,
        claim_ids=tuple(c.id for c in claims),
        log_prior=np.log(np.asarray(spec.priors, dtype=float)),
        theta=np.array([c.theta for c in claims], dtype=float).reshape(n_claims, -1),
        pair_claim=np.asarray(pair_claim, dtype=int),
        pair_source=tuple(pair_source),
        pair_slot=np.asarray(pair_slot, dtype=int),
        pair_fixed=np.asarray(pair_fixed, dtype=float),
        say_anyway=np.asarray(say_anyway, dtype=float),
        direct=np.array([c.kind == "outcome" for c in claims], dtype=bool),
        sampled_sources=tuple(sampled),
        alpha=np.array([spec.sources[s].alpha for s in sampled], dtype=float),
        beta=np.array([spec.sources[s].beta for s in sampled], dtype=float),
    )


def subset(arrays: EvidenceArrays, claim_mask: np.ndarray, members: np.ndarray) -> EvidenceArrays:
    """The arrays restricted to some claims, with sampled sources renumbered to ``members``."""
    pairs = claim_mask[arrays.pair_claim]
    claim_index = np.cumsum(claim_mask) - 1
    remap = np.full(arrays.n_sampled, -1)
    remap[members] = np.arange(len(members))
    slots = arrays.pair_slot[pairs]
    return replace(
        arrays,
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


def claim_log_likelihood(
    arrays: EvidenceArrays, sampled_reliability: np.ndarray | None = None
) -> np.ndarray:
    """log P(evidence of each claim | h, r): shape (..., C, H)."""
    if sampled_reliability is None:
        sampled_reliability = np.zeros(arrays.n_sampled)
    r = pair_reliability(arrays, sampled_reliability)
    n_claims = len(arrays.claim_ids)
    terms = witness_log_likelihood(
        arrays.theta,
        r,
        arrays.say_anyway,
        lambda values: segment_sum(values, arrays.pair_claim, n_claims),
    )
    return terms + direct_log_likelihood(arrays)


def hypothesis_log_likelihood(
    arrays: EvidenceArrays, sampled_reliability: np.ndarray, chunk: int = 1024
) -> np.ndarray:
    """log P(all evidence | h, r) for reliabilities of shape (N, S): shape (N, H), in chunks.

    The same formula as :func:`claim_log_likelihood` summed over claims, arranged for speed:
    the claim-only part (S_noise) is summed before it meets the hypothesis axis.
    """
    sampled_reliability = np.atleast_2d(np.asarray(sampled_reliability, dtype=float))
    n_claims = len(arrays.claim_ids)
    constant = direct_log_likelihood(arrays).sum(axis=0)
    out = np.empty((sampled_reliability.shape[0], len(arrays.hypothesis_ids)))
    for start in range(0, sampled_reliability.shape[0], chunk):
        r = np.clip(pair_reliability(arrays, sampled_reliability[start : start + chunk]), 0, R_MAX)
        log_noise = np.log1p(-r) + np.log(arrays.say_anyway)
        noise = segment_sum(log_noise, arrays.pair_claim, n_claims)
        gap = segment_sum(np.log(r + (1.0 - r) * arrays.say_anyway), arrays.pair_claim, n_claims)
        gap -= noise
        terms = np.expm1(gap)[:, :, None] * arrays.theta
        np.log1p(terms, out=terms)
        out[start : start + chunk] = terms.sum(axis=1) + noise.sum(axis=1)[:, None] + constant
    return out


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable log-softmax."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
