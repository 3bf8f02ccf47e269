"""What the answer rests on: the posterior under single changes to the evidence and the prior.

Every figure comes from the exact engine, reusing the base fit's quadrature nodes and
importance draws (:class:`~forecast.model.exact.Integrator`): a model with an item taken out
is integrated over the same nodes, which is exact for quadrature (the likelihood's degree only
falls) and unbiased for importance sampling, with its error carried. See ``docs/model.md``.

Changes, one at a time:

- leave one out: every source, document, claim and fact (:mod:`forecast.spec.perturb`), and
  every fact ungrouped (its claims as plain claims with their implied theta);
- the prior: uniform, and power-scaled, P_a(h) = softmax(a log pi + log Z) for a = 0.5 and 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from forecast.constants import (
    FLIP_MIN_POINTS,
    PRIOR_POWERS,
    ROBUSTNESS_SIGMAS,
)
from forecast.model.exact import ExactResult, exact_posterior
from forecast.model.likelihood import EvidenceArrays, evidence_arrays, log_softmax, subset
from forecast.report.words import icd203_word
from forecast.spec import perturb
from forecast.spec.schema import Spec

#: Kinds of change, in the order reports list them.
KINDS: tuple[str, ...] = ("source", "document", "claim", "fact", "prior")


@dataclass(frozen=True)
class Change:
    """One change to the model and the posterior it gives."""

    kind: str
    id: str
    change: str
    posterior: np.ndarray
    standard_error: np.ndarray

    @property
    def label(self) -> str:
        """How a report names the change: ``without source kobakhidze``."""
        if self.kind == "prior":
            if self.change == "uniform":
                return "with a uniform prior"
            return f"with the prior raised to the {self.change}"
        if self.change == "ungrouped":
            return f"with fact {self.id} ungrouped"
        return f"without {self.kind} {self.id}"


@dataclass(frozen=True)
class PriorSplit:
    """log posterior odds of the leader against the runner-up, and where they come from."""

    leader: str
    runner_up: str
    log_prior_odds: float
    log_bayes_factor: float

    @property
    def log_posterior_odds(self) -> float:
        """log prior odds + log Bayes factor."""
        return self.log_prior_odds + self.log_bayes_factor


@dataclass(frozen=True)
class Sensitivity:
    """The base posterior, every single change, and what they say about the answer."""

    hypothesis_ids: tuple[str, ...]
    posterior: np.ndarray
    standard_error: np.ndarray
    log_prior: np.ndarray
    log_evidence: np.ndarray
    changes: tuple[Change, ...]

    @property
    def leader(self) -> int:
        """Index of the most probable hypothesis."""
        return int(np.argmax(self.posterior))

    @property
    def runner_up(self) -> int:
        """Index of the second most probable hypothesis."""
        return int(np.argsort(self.posterior)[-2])

    @cached_property
    def prior_split(self) -> PriorSplit:
        """log posterior odds (leader : runner-up) = log prior odds + log Bayes factor."""
        lead, second = self.leader, self.runner_up
        return PriorSplit(
            self.hypothesis_ids[lead],
            self.hypothesis_ids[second],
            float(self.log_prior[lead] - self.log_prior[second]),
            float(self.log_evidence[lead] - self.log_evidence[second]),
        )

    @cached_property
    def prior_verdict(self) -> str:
        """``the prior decides the leader``, ``prior-sensitive`` or ``evidence-driven``."""
        lead = self.leader
        word = icd203_word(float(self.posterior[lead]))
        for change in self.changes:
            if change.kind != "prior":
                continue
            moved_leader = int(np.argmax(change.posterior)) != lead
            if change.change == "uniform" and moved_leader:
                return "the prior decides the leader"
        for change in self.changes:
            if change.kind != "prior" or change.change == "uniform":
                continue
            if int(np.argmax(change.posterior)) != lead or (
                icd203_word(float(change.posterior[lead])) != word
            ):
                return "prior-sensitive"
        return "evidence-driven"

    def is_flip(self, change: Change) -> bool:
        """Whether a change alters the leader, or moves the leader's or runner-up's word.

        A word moves when the probability crosses at least one ICD-203 band boundary and by
        at least FLIP_MIN_POINTS percentage points. A change within ROBUSTNESS_SIGMAS Monte
        Carlo standard errors of the base is not a flip.
        """
        difference = change.posterior - self.posterior
        error = np.hypot(change.standard_error, self.standard_error)
        within_error = np.abs(difference) <= ROBUSTNESS_SIGMAS * error
        if int(np.argmax(change.posterior)) != self.leader:
            lead, new = self.leader, int(np.argmax(change.posterior))
            gap = (change.posterior[new] - change.posterior[lead]) - (
                self.posterior[new] - self.posterior[lead]
            )
            return bool(gap > ROBUSTNESS_SIGMAS * np.hypot(error[new], error[lead]))
        for h in (self.leader, self.runner_up):
            before = icd203_word(float(self.posterior[h]))
            after = icd203_word(float(change.posterior[h]))
            points = 100 * abs(difference[h])
            if before != after and points >= FLIP_MIN_POINTS and not within_error[h]:
                return True
        return False

    @cached_property
    def flips(self) -> tuple[Change, ...]:
        """Every single change that is a flip, largest move of the leader first."""
        flips = [c for c in self.changes if self.is_flip(c)]
        return tuple(sorted(flips, key=self._effect, reverse=True))

    def robust_range(self) -> np.ndarray:
        """Per hypothesis, [min, max] of P(h) over the base and every single removal: (H, 2)."""
        rows = [self.posterior] + [c.posterior for c in self.changes if c.kind != "prior"]
        stacked = np.stack(rows)
        return np.stack([stacked.min(0), stacked.max(0)], axis=1)

    def ranked(self) -> tuple[Change, ...]:
        """Every change, largest move of the leader's probability first."""
        return tuple(sorted(self.changes, key=self._effect, reverse=True))

    def most_influential(self, kind: str) -> Change | None:
        """The change of one kind that moves the leader's probability most."""
        of_kind = [c for c in self.changes if c.kind == kind]
        return max(of_kind, key=self._effect) if of_kind else None

    def _effect(self, change: Change) -> float:
        return float(abs(change.posterior[self.leader] - self.posterior[self.leader]))


def sensitivity(
    spec: Spec, *, exact: ExactResult | None = None, seed: int | None = None
) -> Sensitivity:
    """Every single change of :data:`KINDS` to ``spec``, each integrated exactly.

    ``exact`` is the base fit's exact result (computed here when not given); its nodes and
    draws integrate every change.
    """
    arrays = evidence_arrays(spec)
    if exact is None:
        exact = exact_posterior(arrays) if seed is None else exact_posterior(arrays, seed=seed)
    base = _Integrated(exact)
    changes: list[Change] = []
    for kind, item_ids, change, perturbation in _removals(spec):
        for item_id in item_ids:
            changed = perturbation(spec, item_id)
            posterior, error = base.posterior(evidence_arrays(changed))
            changes.append(Change(kind, item_id, change, posterior, error))
    changes += _prior_changes(arrays, exact)
    return Sensitivity(
        hypothesis_ids=arrays.hypothesis_ids,
        posterior=exact.posterior,
        standard_error=exact.standard_error,
        log_prior=arrays.log_prior,
        log_evidence=exact.log_evidence,
        changes=tuple(changes),
    )


def _removals(
    spec: Spec,
) -> list[tuple[str, list[str], str, Callable[[Spec, str], Spec]]]:
    """(kind, item ids, change, perturbation) for every leave-one-out family."""
    attested_sources = {a.source_id for a in spec.attestations} | {
        a.witness_id for a in spec.attestations
    }
    attested_documents = {a.document_id for a in spec.attestations}
    documents = [
        d
        for d in spec.documents
        if d in attested_documents or perturb.descendants(spec, d) & attested_documents
    ]
    facts = [f.id for f in spec.facts]
    return [
        (
            "source",
            sorted(s for s in spec.sources if s in attested_sources),
            "removed",
            perturb.without_source,
        ),
        ("document", sorted(documents), "removed", perturb.without_document),
        ("claim", sorted(c.id for c in spec.claims), "removed", perturb.without_claim),
        ("fact", facts, "removed", perturb.without_fact),
        ("fact", facts, "ungrouped", perturb.fact_ungrouped),
    ]


def _prior_changes(arrays: EvidenceArrays, exact: ExactResult) -> list[Change]:
    """The posterior under a uniform prior and under the prior power-scaled."""
    out = [Change("prior", "uniform", "uniform", exact.uniform_posterior, exact.standard_error)]
    for power in PRIOR_POWERS:
        posterior = np.exp(log_softmax(power * arrays.log_prior + exact.log_evidence))
        name = f"power {power:g}"
        out.append(Change("prior", name.replace(" ", "-"), name, posterior, exact.standard_error))
    return out


class _Integrated:
    """The base fit's components, ready to integrate a changed model over their nodes."""

    def __init__(self, exact: ExactResult):
        self.exact = exact
        self.integrators = [c.integrator for c in exact.components if c.integrator is not None]

    def posterior(self, arrays: EvidenceArrays) -> tuple[np.ndarray, np.ndarray]:
        """P(h | E) of a changed model and its Monte Carlo standard error."""
        log_z = np.zeros(len(arrays.hypothesis_ids))
        relative_covariances = []
        claim_ids = np.asarray(arrays.claim_ids, dtype=object)
        for integrator in self.integrators:
            mask = np.fromiter((c in integrator.claims for c in claim_ids), bool, len(claim_ids))
            if not mask.any():
                continue
            members = [
                arrays.sampled_sources.index(s)
                for s in integrator.sources
                if s in arrays.sampled_sources
            ]
            part = subset(arrays, mask, np.asarray(members, dtype=int))
            part_log_z, relative, _ = integrator.integrate(part)
            log_z += part_log_z
            if relative is not None:
                relative_covariances.append(relative)
        posterior = np.exp(log_softmax(arrays.log_prior + log_z))
        return posterior, _standard_error(posterior, relative_covariances)


def _standard_error(posterior: np.ndarray, relative_covariances: list[Any]) -> np.ndarray:
    """Delta-method standard error of P(h | E) from the components' relative covariances."""
    variance = np.zeros(len(posterior))
    jacobian = np.diag(posterior) - np.outer(posterior, posterior)
    for relative in relative_covariances:
        variance += np.einsum("hj,jk,hk->h", jacobian, relative, jacobian)
    return np.sqrt(np.maximum(variance, 0.0))
