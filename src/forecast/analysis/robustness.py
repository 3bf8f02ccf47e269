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

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from forecast.analysis.analysts import analyst_arrays
from forecast.constants import (
    ADMIRALTY_GRADES,
    BAND_DRAWS,
    CONFIDENCE_HIGH_GRADES,
    CONFIDENCE_HIGH_SLACK_POINTS,
    CONFIDENCE_HIGH_WITNESSES,
    CONFIDENCE_LOW_BANDS,
    CONFIDENCE_LOW_POINTS,
    DEFAULT_SEED,
    EVIDENCE_ANALYST,
    FLIP_MIN_POINTS,
    ICD203_BANDS,
    JOINT_VERTICES_MAX,
    PRIOR_POWERS,
    ROBUSTNESS_SIGMAS,
)
from forecast.model.exact import (
    ExactResult,
    exact_posterior,
    log_sum_exp,
    posterior_standard_error,
    quadrature,
    quadrature_nodes,
)
from forecast.model.likelihood import (
    EvidenceArrays,
    claim_sums,
    evidence_arrays,
    fact_judgments,
    fact_terms,
    hypothesis_log_likelihood,
    log_softmax,
    subset,
)
from forecast.report.words import icd203_word, percent
from forecast.spec import perturb
from forecast.spec.schema import AnalystRecord, Spec

#: Cells (nodes x claims x hypotheses) computed at once when many judgments move.
_CHUNK_CELLS = 2_000_000
#: Nodes whose pair terms are computed at once.
_NODE_CHUNK = 1024
#: Nodes x plain claims up to which a component keeps every claim's S_noise and expm1(gap)
#: at its nodes (two float64 arrays); larger components compute them again when needed.
_KEPT_CELLS = 4_000_000
#: Nodes per component for the typical spread; larger components are thinned to this many.
SPREAD_NODES = 500
#: Random draws of the typical spread whose terms one pass over the nodes computes.
_SPREAD_BATCH = 25

#: Kinds of change, in the order reports list them.
KINDS: tuple[str, ...] = ("source", "document", "claim", "fact", "band", "grade", "prior")
#: Kinds of change over which a hypothesis's robust range is taken.
RANGE_KINDS: tuple[str, ...] = ("source", "document", "claim", "fact", "band")


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
        if self.kind == "grade":
            return f"with source {self.id} graded {self.change.split()[-1]}"
        if self.kind == "band" and self.change.startswith(("if_true ", "if_false ")):
            which, end = self.change.split(" ", 1)
            return f"claim {self.id}'s {which} at the {end} of its band"
        if self.kind == "band":
            hypothesis, end = self.change.rsplit(" ", 1)
            side = "favours" if end == "highest" else "disfavours"
            if hypothesis.startswith("phi "):
                return (
                    f"fact {self.id}'s P(fact | h) at the corner of its band that most {side} "
                    f"{hypothesis.removeprefix('phi ')}"
                )
            return f"claim {self.id} at the corner of its band that most {side} {hypothesis}"
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
class Confidence:
    """The computed analytic confidence of the key judgment, with what it rests on."""

    level: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Sensitivity:
    """The base posterior, every single change, and what they say about the answer."""

    hypothesis_ids: tuple[str, ...]
    posterior: np.ndarray
    standard_error: np.ndarray
    log_prior: np.ndarray
    log_evidence: np.ndarray
    changes: tuple[Change, ...]
    #: Per hypothesis, [min, max] of P(h) with every judgment at the end of its band that
    #: favours or disfavours h: "worst case if every judgment erred the same way".
    joint_range: np.ndarray | None = None
    #: "exact" when every vertex of the facts' searched values was tried, "search" when they
    #: were searched one at a time (then the range may be wider than shown).
    joint_method: str = "exact"
    #: Per hypothesis, the 5 % and 95 % quantiles of P(h) over random judgments within their
    #: bands: "typical spread if judgment errors are independent".
    typical_spread: np.ndarray | None = None
    #: Whether the exact engine certified every component of the base fit.
    certified: bool = True
    #: Distinct counted witnesses graded A-C that attest acts or statements, by id.
    strong_witnesses: tuple[str, ...] = ()
    #: P(h) at each random draw within the bands, (draws, H): the typical spread's draws.
    spread_draws: np.ndarray | None = None
    #: With several analysts: (analyst, its leading hypothesis) for each.
    analyst_leaders: tuple[tuple[str, str], ...] = ()

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
            return self.leader_changed(change)
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

    def leader_changed(self, change: Change) -> bool:
        """Whether a change makes another hypothesis lead, beyond Monte Carlo error."""
        new = int(np.argmax(change.posterior))
        if new == self.leader:
            return False
        error = np.hypot(change.standard_error, self.standard_error)
        gap = (change.posterior[new] - change.posterior[self.leader]) - (
            self.posterior[new] - self.posterior[self.leader]
        )
        return bool(gap > ROBUSTNESS_SIGMAS * np.hypot(error[new], error[self.leader]))

    @cached_property
    def confidence(self) -> Confidence:
        """Low, moderate or high by the rule in ``constants.py`` (and the README)."""
        lead = self.leader
        name = self.hypothesis_ids[lead]
        base = float(self.posterior[lead])
        band = _word_band(base)
        low: list[str] = []
        for change in self.ranked():
            after = float(change.posterior[lead])
            if self.leader_changed(change):
                new = int(np.argmax(change.posterior))
                low.append(
                    f"{change.label}, {self.hypothesis_ids[new]} leads "
                    f"({percent(float(change.posterior[new]))}; {name} {percent(after)})"
                )
            elif (
                abs(_band_index(after) - _band_index(base)) >= CONFIDENCE_LOW_BANDS
                and 100 * abs(after - base) >= CONFIDENCE_LOW_POINTS
            ):
                verb = "falls" if after < base else "rises"
                low.append(
                    f"{change.label}, {name} {verb} to {percent(after)} ({icd203_word(after)})"
                )
        if self.prior_verdict == "the prior decides the leader":
            low.append("the prior decides the leader")
        if not self.certified:
            low.append("the exact engine is not certified")
        if len({leader for _, leader in self.analyst_leaders}) > 1:
            each = ", ".join(f"{a}: {leader}" for a, leader in self.analyst_leaders)
            low.append(f"the analysts' leaders differ ({each})")
        if low:
            return Confidence("low", tuple(low))
        slack = CONFIDENCE_HIGH_SLACK_POINTS / 100
        outside = [
            c
            for c in self.changes
            if not band[0] - slack <= float(c.posterior[lead]) <= band[1] + slack
        ]
        lowering = [
            w
            for w in self.strong_witnesses
            if any(
                c.kind == "source" and c.id == w and c.posterior[lead] < base for c in self.changes
            )
        ]
        reasons = []
        if outside:
            worst = max(outside, key=self._effect)
            after = float(worst.posterior[lead])
            verb = "falls" if after < base else "rises"
            reasons.append(
                f"{worst.label}, {name} {verb} to {percent(after)} ({icd203_word(after)}), "
                f"outside its band ({icd203_word(base)})"
            )
        if len(lowering) < CONFIDENCE_HIGH_WITNESSES:
            reasons.append(
                f"{len(lowering)} independent witness{'es' * (len(lowering) != 1)} graded "
                f"A-C attest{'s' * (len(lowering) == 1)} acts or statements it rests on "
                f"(high needs {CONFIDENCE_HIGH_WITNESSES})"
            )
        if reasons:
            return Confidence("moderate", tuple(reasons))
        return Confidence(
            "high",
            (
                f"no single change alters the leader or moves {name} out of its band; "
                f"{len(lowering)} independent witnesses graded A-C",
            ),
        )

    def assessment(self) -> str:
        """One line: the leader, its word and probability, robust range and confidence."""
        lead = self.leader
        name = self.hypothesis_ids[lead]
        p = float(self.posterior[lead])
        low, high = self.robust_range()[lead]
        confidence = self.confidence
        return (
            f"{name} is the most probable answer: {icd203_word(p)} ({percent(p)}), robust "
            f"range {_points(low)}–{_points(high)} %, computed confidence {confidence.level}: "
            f"{confidence.reasons[0]}"
        )

    def robust_range(self) -> np.ndarray:
        """Per hypothesis, [min, max] of P(h) over single removals and band corners: (H, 2).

        The base, every single removal, and every claim alone at a corner of its band.
        """
        rows = [self.posterior] + [c.posterior for c in self.changes if c.kind in RANGE_KINDS]
        stacked = np.stack(rows)
        return np.stack([stacked.min(0), stacked.max(0)], axis=1)

    def ranked(self) -> tuple[Change, ...]:
        """Every change, largest move of the leader's probability first."""
        return tuple(sorted(self.changes, key=self._effect, reverse=True))

    def _effect(self, change: Change) -> float:
        return float(abs(change.posterior[self.leader] - self.posterior[self.leader]))


def _band_index(probability: float) -> int:
    """Index of the ICD-203 band a probability falls in."""
    word = icd203_word(probability)
    return next(i for i, band in enumerate(ICD203_BANDS) if band.word == word)


def _word_band(probability: float) -> tuple[float, float]:
    """The ICD-203 band a probability's word stands for, stretched to 0 and 1 at the ends."""
    i = _band_index(probability)
    low = 0.0 if i == 0 else ICD203_BANDS[i].low
    high = 1.0 if i == len(ICD203_BANDS) - 1 else ICD203_BANDS[i].high
    return low, high


def _points(probability: float) -> str:
    return f"{100 * probability:.0f}"


def strong_witnesses(spec: Spec) -> tuple[str, ...]:
    """Distinct counted witnesses graded A-C that attest an act or a statement.

    Counted after organisations and restatements: a member counts as its organisation, whose
    grade is the one that counts.
    """
    out = {
        a.witness_id
        for claim in spec.claims
        if claim.kind in ("act", "statement") and not claim.is_opinion
        for a in claim.counted_attestations
        if spec.sources[a.witness_id].source.grade in CONFIDENCE_HIGH_GRADES
    }
    return tuple(sorted(out))


def sensitivity(
    spec: Spec,
    *,
    exact: ExactResult | None = None,
    seed: int | None = None,
    analyst_exacts: dict[str, ExactResult] | None = None,
) -> Sensitivity:
    """Every single change of :data:`KINDS` to ``spec``, each integrated exactly.

    ``exact`` is the base fit's exact result (computed here when not given); its nodes and
    draws integrate every change. With several analysts every change is applied to every
    analyst's model and the results pooled as the headline is (:func:`_pooled`);
    ``analyst_exacts`` holds their exact results, by analyst id, when already computed.
    """
    evidence = _sensitivity(spec, evidence_arrays, None, exact, seed)
    if not spec.analysts:
        return evidence
    parts = [evidence]
    for record in sorted(spec.analysts, key=lambda a: a.id):

        def arrays_of(changed: Spec, record: AnalystRecord = record) -> EvidenceArrays:
            return analyst_arrays(evidence_arrays(changed), record)

        known = (analyst_exacts or {}).get(record.id)
        parts.append(_sensitivity(spec, arrays_of, record, known, seed))
    return _pooled(
        spec, parts, (EVIDENCE_ANALYST, *(a.id for a in sorted(spec.analysts, key=lambda a: a.id)))
    )


def forecast_ranges(
    spec: Spec,
    q: np.ndarray,
    *,
    exacts: dict[str, ExactResult] | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, str]:
    """[min, max] of each forecast sum_h P(h | E) q[k, h] over the evidence's judgment bands.

    Every judgment at once at the end of its band that raises or lowers the forecast
    (:func:`forecast_extremes` over :func:`_joint_extremes`), for each analyst's model; with
    several analysts the pool's range is the mean of theirs, an outer bound. ``exacts`` holds
    the analysts' exact results by id (the evidence files' under EVIDENCE_ANALYST).
    """
    known = exacts or {}
    ranges, methods = [], set()
    records: list[AnalystRecord | None] = [None, *sorted(spec.analysts, key=lambda a: a.id)]
    for record in records:
        arrays = evidence_arrays(spec)
        if record is not None:
            arrays = analyst_arrays(arrays, record)
        exact = known.get(EVIDENCE_ANALYST if record is None else record.id)
        if exact is None:
            exact = exact_posterior(arrays, seed=seed or DEFAULT_SEED)
        base = IntegratedFit(exact, arrays)
        low, high, ties = judgment_bands(spec, arrays)
        bands = fact_bands(spec, arrays)
        if record is not None:
            low, high, ties, bands = _analyst_bands(arrays, record, low, high, ties, bands)
        found, method = _joint_extremes(arrays, base, low, high, bands, forecast_extremes(q))
        ranges.append(found)
        methods.add(method)
    return np.mean(ranges, axis=0), "search" if "search" in methods else "exact"


def _sensitivity(
    spec: Spec,
    arrays_of: Callable[[Spec], EvidenceArrays],
    analyst: AnalystRecord | None,
    exact: ExactResult | None,
    seed: int | None,
) -> Sensitivity:
    """:func:`sensitivity` for one analyst, whose arrays ``arrays_of`` makes from a spec."""
    arrays = arrays_of(spec)
    if exact is None:
        exact = exact_posterior(arrays) if seed is None else exact_posterior(arrays, seed=seed)
    base = IntegratedFit(exact, arrays)
    changes: list[Change] = []
    for kind, item_ids, change, perturbation in _removals(spec):
        for item_id in item_ids:
            if kind == "claim" and base.is_plain(claim := arrays.claim_ids.index(item_id)):
                log_z, relatives = base.without_row(claim)
                posterior = np.exp(log_softmax(arrays.log_prior + log_z))
                error = posterior_standard_error(posterior, relatives)
                changes.append(Change(kind, item_id, change, posterior, error))
                continue
            if kind in ("claim", "fact") and change == "removed":
                # Taking claims out is taking their rows out of the arrays.
                gone = (
                    arrays.facts == arrays.fact_ids.index(item_id)
                    if kind == "fact"
                    else (np.asarray(arrays.claim_ids) == item_id)
                )
                changed_arrays = subset(arrays, ~gone, np.arange(arrays.n_sampled))
                touched = {arrays.claim_ids[c] for c in np.flatnonzero(gone)}
            else:
                changed = perturbation(spec, item_id)
                changed_arrays = arrays_of(changed)
                touched = _changed_claims(spec, changed)
            posterior, error = base.posterior(changed_arrays, touched)
            changes.append(Change(kind, item_id, change, posterior, error))
    low, high, ties = judgment_bands(spec, arrays)
    bands = fact_bands(spec, arrays)
    if analyst is not None:
        low, high, ties, bands = _analyst_bands(arrays, analyst, low, high, ties, bands)
    changes += _band_changes(arrays, base, low, high, ties)
    changes += _fact_band_changes(arrays, base, bands)
    changes += _grade_changes(spec, base)
    changes += _prior_changes(arrays, exact)
    joint_range, joint_method = _joint_range(arrays, base, low, high, bands)
    spread = _typical_spread(arrays, base, low, high, ties, bands, seed or DEFAULT_SEED)
    return Sensitivity(
        hypothesis_ids=arrays.hypothesis_ids,
        posterior=exact.posterior,
        standard_error=exact.standard_error,
        log_prior=arrays.log_prior,
        log_evidence=exact.log_evidence,
        changes=tuple(changes),
        joint_range=joint_range,
        joint_method=joint_method,
        certified=exact.certified,
        strong_witnesses=strong_witnesses(spec),
        typical_spread=np.quantile(spread, [0.05, 0.95], axis=0).T,
        spread_draws=spread,
    )


def _analyst_bands(
    arrays: EvidenceArrays,
    analyst: AnalystRecord,
    low: np.ndarray,
    high: np.ndarray,
    ties: np.ndarray,
    bands: FactBands,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, FactBands]:
    """The bands with an analyst's own judgments where it gives them (each cell its own)."""
    low, high, ties = low.copy(), high.copy(), ties.copy()
    row = {c: i for i, c in enumerate(arrays.claim_ids)}
    n_hyp = low.shape[1]
    for claim_id, (points, lows, highs) in analyst.theta.items():
        if claim_id not in row:
            continue
        i = row[claim_id]
        for h in range(n_hyp):
            low[i, h], high[i, h] = _cell_band(points[h], lows[h], highs[h])
        ties[i] = np.arange(n_hyp)
    phi_low, phi_high = bands.phi_low.copy(), bands.phi_high.copy()
    phi_ties = bands.phi_ties.copy()
    for fact_id, (points, lows, highs) in analyst.phi.items():
        if fact_id not in arrays.fact_ids:
            continue
        f = arrays.fact_ids.index(fact_id)
        for h in range(n_hyp):
            phi_low[f, h], phi_high[f, h] = _cell_band(points[h], lows[h], highs[h])
        phi_ties[f] = np.arange(n_hyp)
    if_true, if_false = bands.if_true.copy(), bands.if_false.copy()
    monotone = bands.monotone.copy()
    for claim_id, (p1, p0) in analyst.signs.items():
        if claim_id not in row or arrays.facts[row[claim_id]] < 0:
            continue
        i = row[claim_id]
        if_true[i] = _cell_band(*p1)
        if_false[i] = _cell_band(*p0)
    for f in range(len(arrays.fact_ids)):
        signs = np.flatnonzero(arrays.facts == f)
        monotone[f] = bool(np.all(if_true[signs, 0] >= if_false[signs, 1]))
    phi = bands.phi if arrays.fact_phi is None else arrays.fact_phi
    return low, high, ties, FactBands(phi, phi_low, phi_high, phi_ties, if_true, if_false, monotone)


def _pooled(spec: Spec, parts: list[Sensitivity], analysts: tuple[str, ...]) -> Sensitivity:
    """The analysts' sensitivities pooled as the headline is.

    Each change's posterior is the equal-weight mean of the analysts' (an analyst the change
    does not touch keeps its base). The joint corner of the pool is the mean of the analysts'
    corners (their judgments are separate variables); the typical spread pools the analysts'
    draws one by one. The split of the pool's log odds takes the model's prior odds, and the
    rest as the evidence's.
    """
    count = len(parts)
    keys: dict[tuple[str, str, str], None] = {}
    for part in parts:
        keys |= {(c.kind, c.id, c.change): None for c in part.changes}
    found = [{(c.kind, c.id, c.change): c for c in part.changes} for part in parts]
    changes = []
    for key in keys:
        posteriors, errors = [], []
        for part, by_key in zip(parts, found, strict=True):
            change = by_key.get(key)
            posteriors.append(part.posterior if change is None else change.posterior)
            errors.append(part.standard_error if change is None else change.standard_error)
        changes.append(
            Change(
                *key,
                np.mean(posteriors, axis=0),
                np.sqrt(np.sum(np.square(errors), axis=0)) / count,
            )
        )
    posterior = np.mean([p.posterior for p in parts], axis=0)
    log_prior = np.log(np.asarray(spec.priors))
    joint = [p.joint_range for p in parts]
    spread = [p.spread_draws for p in parts]
    pooled_spread = None if any(s is None for s in spread) else np.mean(spread, axis=0)
    with np.errstate(divide="ignore"):
        log_evidence = np.log(posterior) - log_prior
    return Sensitivity(
        hypothesis_ids=parts[0].hypothesis_ids,
        posterior=posterior,
        standard_error=np.sqrt(np.sum([p.standard_error**2 for p in parts], axis=0)) / count,
        log_prior=log_prior,
        log_evidence=log_evidence,
        changes=tuple(changes),
        joint_range=None if any(j is None for j in joint) else np.mean(joint, axis=0),
        joint_method="search" if any(p.joint_method == "search" for p in parts) else "exact",
        typical_spread=None
        if pooled_spread is None
        else np.quantile(pooled_spread, [0.05, 0.95], axis=0).T,
        spread_draws=pooled_spread,
        certified=all(p.certified for p in parts),
        strong_witnesses=parts[0].strong_witnesses,
        analyst_leaders=tuple(
            (a, p.hypothesis_ids[p.leader]) for a, p in zip(analysts, parts, strict=True)
        ),
    )


def judgment_bands(spec: Spec, arrays: EvidenceArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per claim and hypothesis, the band a judgment may lie in, and the cells that move together.

    A word's band is its ICD-203 band, a range is itself, a plain number gets the ICD-203 band
    that holds it; 0, 1 and numbers outside every band (definitional values) stay fixed. A
    resolved outcome's band is its question's, swapped for "no". Cells written with one word
    or one ``otherwise`` share a tie label. A fact's claims stay fixed here: a fact moves
    through its phi, if_true and if_false.
    """
    n_claims, n_hyp = arrays.theta.shape
    low, high = arrays.theta.copy(), arrays.theta.copy()
    ties = np.tile(np.arange(n_hyp), (n_claims, 1))
    records = {c.id: c for c in spec.claims}
    for i, claim_id in enumerate(arrays.claim_ids):
        claim = records[claim_id]
        if claim.fact is not None:
            continue
        for h in range(n_hyp):
            if claim.theta_low[h] < claim.theta_high[h]:
                low[i, h], high[i, h] = claim.theta_low[h], claim.theta_high[h]
            else:
                low[i, h], high[i, h] = _band_of(claim.theta[h])
        if claim.theta_ties:
            ties[i] = claim.theta_ties
    return low, high, ties


def _band_of(value: float) -> tuple[float, float]:
    """The ICD-203 band holding a plain number, or (value, value) when none does."""
    for band in ICD203_BANDS:
        last = band is ICD203_BANDS[-1]
        if band.low <= value < band.high or (last and value == band.high):
            return band.low, band.high
    return value, value


def _corners(
    log_prior: np.ndarray, log_z_low: np.ndarray, log_z_high: np.ndarray, ties: np.ndarray
) -> list[tuple[int, str, np.ndarray]]:
    """(h, "highest" or "lowest", posterior) at the corners of one item's band.

    ``log_z_low`` and ``log_z_high`` are log Z with the item's cells all at their lower or
    upper ends. Z_g depends on column g's cell alone and is linear in it, so P(h), a ratio of
    such, is monotone in each tied group's common value: its extremes lie at ends. For a
    group without h, the end with the smaller (larger) sum of pi_g Z_g gives the largest
    (smallest) P(h); for h's group both ends are tried. A corner that already favours or
    disfavours another hypothesis is listed once.
    """
    mass = np.stack([log_prior + log_z_low, log_prior + log_z_high])
    labels, group_of = np.unique(ties, return_inverse=True)
    group_of = group_of.ravel()
    # log sum of pi_g Z_g over each group at its lower and upper end: (groups, 2).
    group_mass = np.stack(
        [np.logaddexp.reduce(mass[:, group_of == k], axis=1) for k in range(len(labels))]
    )
    out, seen = [], set()
    for h in range(len(log_prior)):
        for end, sign in (("highest", 1.0), ("lowest", -1.0)):
            best = None
            others = np.argmin(sign * group_mass, axis=1)[group_of]
            for own in (0, 1):
                ends = np.where(group_of == group_of[h], own, others)
                log_z = np.where(ends == 1, log_z_high, log_z_low)
                posterior = np.exp(log_softmax(log_prior + log_z))
                if best is None or sign * posterior[h] > sign * best[0][h]:
                    best = (posterior, tuple(ends))
            assert best is not None
            if best[1] in seen:
                continue
            seen.add(best[1])
            out.append((h, end, best[0]))
    return out


def _band_changes(
    arrays: EvidenceArrays,
    base: IntegratedFit,
    low: np.ndarray,
    high: np.ndarray,
    ties: np.ndarray,
) -> list[Change]:
    """Each claim alone at the corners of its band that make each hypothesis most and least likely.

    Z_g depends on column g's judgment alone and never decreases in it (see docs/model.md).
    """
    changes = []
    names = arrays.hypothesis_ids
    for c in np.flatnonzero((high > low).any(axis=1)):
        log_z_high, relative_high = base.with_row(c, high[c])
        log_z_low, relative_low = base.with_row(c, low[c])
        relative = relative_high if len(relative_high) >= len(relative_low) else relative_low
        for h, end, posterior in _corners(arrays.log_prior, log_z_low, log_z_high, ties[c]):
            error = posterior_standard_error(posterior, relative)
            changes.append(
                Change("band", arrays.claim_ids[c], f"{names[h]} {end}", posterior, error)
            )
    return changes


@dataclass(frozen=True)
class FactBands:
    """The bands of the facts' judgments, found as for claims (:func:`judgment_bands`).

    ``phi_low``, ``phi_high`` and ``phi_ties`` are (F, H); ``if_true`` and ``if_false`` are
    (C, 2) lower and upper ends (equal for a claim in no fact). ``monotone`` marks the facts
    whose every claim has if_true >= if_false over their bands: Z_g never decreases in their
    phi[g], so they join the two-pass joint corner; the others are searched.
    """

    phi: np.ndarray
    phi_low: np.ndarray
    phi_high: np.ndarray
    phi_ties: np.ndarray
    if_true: np.ndarray
    if_false: np.ndarray
    monotone: np.ndarray

    def points(self, arrays: EvidenceArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The facts' judgments as written: (phi, if_true, if_false)."""
        n_claims = len(arrays.claim_ids)
        return (
            self.phi,
            np.zeros(n_claims) if arrays.if_true is None else arrays.if_true,
            np.zeros(n_claims) if arrays.if_false is None else arrays.if_false,
        )

    def searched(self) -> list[tuple[str, int, np.ndarray]]:
        """The facts' cells the joint corner searches: (what, row, columns) per free value.

        The phi of a fact without the monotone rule (one value per tied group), and every
        claim's if_true and if_false whose band is not a point.
        """
        out = []
        for f in np.flatnonzero(~self.monotone):
            for label in np.unique(self.phi_ties[f]):
                columns = np.flatnonzero(self.phi_ties[f] == label)
                if (self.phi_high[f, columns] > self.phi_low[f, columns]).any():
                    out.append(("phi", int(f), columns))
        for what, ends in (("if_true", self.if_true), ("if_false", self.if_false)):
            for c in np.flatnonzero(ends[:, 1] > ends[:, 0]):
                out.append((what, int(c), np.zeros(0, dtype=int)))
        return out


def _cell_band(point: float, low: float, high: float) -> tuple[float, float]:
    """A written range is its own band; a word or number gets the ICD-203 band holding it."""
    return (low, high) if low < high else _band_of(point)


def fact_bands(spec: Spec, arrays: EvidenceArrays) -> FactBands:
    """The bands of every fact's phi and of every claim's if_true and if_false."""
    n_hyp = len(arrays.hypothesis_ids)
    records = {f.id: f for f in spec.facts}
    n_facts = len(arrays.fact_ids)
    phi = np.zeros((n_facts, n_hyp)) if arrays.fact_phi is None else arrays.fact_phi.copy()
    phi_low, phi_high = phi.copy(), phi.copy()
    phi_ties = np.tile(np.arange(n_hyp), (n_facts, 1))
    for f, fact_id in enumerate(arrays.fact_ids):
        fact = records[fact_id]
        for h in range(n_hyp):
            phi_low[f, h], phi_high[f, h] = _cell_band(
                fact.phi[h], fact.phi_low[h], fact.phi_high[h]
            )
        if fact.phi_ties:
            phi_ties[f] = fact.phi_ties
    claims = {c.id: c for c in spec.claims}
    if_true = np.zeros((len(arrays.claim_ids), 2))
    if_false = np.zeros((len(arrays.claim_ids), 2))
    monotone = np.ones(n_facts, dtype=bool)
    for i, claim_id in enumerate(arrays.claim_ids):
        claim = claims[claim_id]
        if claim.fact is None:
            continue
        assert claim.if_true is not None and claim.if_false is not None
        true_range = claim.if_true_range or (claim.if_true, claim.if_true)
        false_range = claim.if_false_range or (claim.if_false, claim.if_false)
        if_true[i] = _cell_band(claim.if_true, *true_range)
        if_false[i] = _cell_band(claim.if_false, *false_range)
        if if_true[i, 0] < if_false[i, 1]:
            monotone[arrays.facts[i]] = False
    return FactBands(phi, phi_low, phi_high, phi_ties, if_true, if_false, monotone)


def _fact_band_changes(
    arrays: EvidenceArrays, base: IntegratedFit, bands: FactBands
) -> list[Change]:
    """Each fact's phi alone at its band's corners; each if_true and if_false alone at its ends.

    Z_g is linear in each single one of these values (a fact's term is
    phi_g F_1 + (1 - phi_g) F_0, and F_1, F_0 are products of factors linear in if_true,
    if_false), so P(h) is monotone in each and the ends bound it.
    """
    changes = []
    names = arrays.hypothesis_ids
    points = bands.points(arrays)
    relatives = [c.relative for c in base.components if c.relative is not None]
    for f, fact_id in enumerate(arrays.fact_ids):
        if not (bands.phi_high[f] > bands.phi_low[f]).any():
            continue
        log_z = []
        for ends in (bands.phi_low, bands.phi_high):
            phi = points[0].copy()
            phi[f] = ends[f]
            log_z.append(base.log_z_with(facts=(phi, points[1], points[2])))
        for h, end, posterior in _corners(arrays.log_prior, *log_z, bands.phi_ties[f]):
            error = posterior_standard_error(posterior, relatives)
            changes.append(Change("band", fact_id, f"phi {names[h]} {end}", posterior, error))
    for which, ends, column in (("if_true", bands.if_true, 1), ("if_false", bands.if_false, 2)):
        for c in np.flatnonzero(ends[:, 1] > ends[:, 0]):
            for end, value in (("lower end", ends[c, 0]), ("upper end", ends[c, 1])):
                facts = list(points)
                facts[column] = points[column].copy()
                facts[column][c] = value
                log_z = base.log_z_with(facts=tuple(facts))
                posterior = np.exp(log_softmax(arrays.log_prior + log_z))
                error = posterior_standard_error(posterior, relatives)
                changes.append(
                    Change("band", arrays.claim_ids[c], f"{which} {end}", posterior, error)
                )
    return changes


def _joint_range(
    arrays: EvidenceArrays,
    base: IntegratedFit,
    low: np.ndarray,
    high: np.ndarray,
    bands: FactBands,
) -> tuple[np.ndarray, str]:
    """[min, max] of P(h) with every judgment at once at the ends that disfavour or favour h.

    Two passes: every claim's theta, and the phi of every fact under the monotone rule, at its
    upper end gives Z^hi, at its lower end Z^lo; then
    max P(h) = pi_h Z_h^hi / (pi_h Z_h^hi + sum_{g != h} pi_g Z_g^lo), and the minimum with hi
    and lo swapped. The facts' other values (if_true, if_false, and phi without the rule) are
    searched over their bands' vertices (:func:`_joint_extremes`). Where cells are tied this is
    an outer bound.
    """
    return _joint_extremes(arrays, base, low, high, bands, _posterior_extremes)


def _posterior_extremes(log_hi: np.ndarray, log_lo: np.ndarray) -> np.ndarray:
    """(H, 2): min and max of each P(h) given log pi Z at the upper and lower ends."""
    n_hyp = len(log_hi)
    out = np.empty((n_hyp, 2))
    for h in range(n_hyp):
        others = np.arange(n_hyp) != h
        # 1 / (1 + exp(x)) written as exp(-log(1 + exp(x))), which never overflows.
        out[h, 1] = np.exp(-np.logaddexp(0.0, np.logaddexp.reduce(log_lo[others]) - log_hi[h]))
        out[h, 0] = np.exp(-np.logaddexp(0.0, np.logaddexp.reduce(log_hi[others]) - log_lo[h]))
    return out


def forecast_extremes(q: np.ndarray) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """An objective for :func:`_joint_extremes`: min and max of sum_h P(h) q[k, h], (K, 2).

    P(yes) = sum_h pi_h Z_h q_h / sum_h pi_h Z_h is linear-fractional in Z, so over the box
    Z_h in [Z_h^lo, Z_h^hi] its maximum puts Z_h at the top exactly where q_h exceeds the
    maximum itself: some set of the hypotheses with the largest q at their upper ends, the rest
    at their lower. Trying each such set (H + 1 of them, and as many for the minimum) is exact.
    """
    q = np.atleast_2d(q)

    def objective(log_hi: np.ndarray, log_lo: np.ndarray) -> np.ndarray:
        shift = max(log_hi.max(), log_lo.max())
        hi, lo = np.exp(log_hi - shift), np.exp(log_lo - shift)
        lift = hi - lo
        values = []
        for order in (np.argsort(-q, axis=1), np.argsort(q, axis=1)):
            # Raising the first k hypotheses of each row's order to their tops, k = 0..H.
            raised = np.cumsum(lift[order] * np.take_along_axis(q, order, axis=1), axis=1)
            weight = np.cumsum(lift[order], axis=1)
            numerator = np.concatenate([np.zeros((len(q), 1)), raised], axis=1) + (q @ lo)[:, None]
            denominator = np.concatenate([np.zeros((len(q), 1)), weight], axis=1) + lo.sum()
            values.append(numerator / denominator)
        both = np.concatenate(values, axis=1)
        return np.stack([both.min(axis=1), both.max(axis=1)], axis=1)

    return objective


def _joint_extremes(
    arrays: EvidenceArrays,
    base: IntegratedFit,
    low: np.ndarray,
    high: np.ndarray,
    bands: FactBands,
    objective: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> tuple[np.ndarray, str]:
    """[min, max] of each value ``objective`` makes of log pi Z^hi and log pi Z^lo, (K, 2).

    Z^hi has every claim's theta, and the phi of every fact under the monotone rule, at its
    upper end; Z^lo at its lower end. The facts' other values (if_true, if_false, and phi
    without the rule) are searched over their bands' vertices: all of them when there are at
    most JOINT_VERTICES_MAX values ("exact"), else coordinate by coordinate ("search", a lower
    bound on the range's width).
    """
    terms_high, terms_low = base.plain_terms_for([high, low])
    phi, if_true, if_false = bands.points(arrays)
    monotone = bands.monotone[:, None]
    phi_up = np.where(monotone, bands.phi_high, phi)
    phi_down = np.where(monotone, bands.phi_low, phi)
    searched = bands.searched()

    def extremes(vertex: tuple[int, ...]) -> np.ndarray:
        up, down = phi_up.copy(), phi_down.copy()
        p1, p0 = if_true.copy(), if_false.copy()
        for (what, row, columns), end in zip(searched, vertex, strict=True):
            if what == "phi":
                value = (bands.phi_low, bands.phi_high)[end][row, columns]
                up[row, columns] = down[row, columns] = value
            elif what == "if_true":
                p1[row] = bands.if_true[row, end]
            else:
                p0[row] = bands.if_false[row, end]
        log_hi = arrays.log_prior + base.log_z_with(terms_high, (up, p1, p0))
        log_lo = arrays.log_prior + base.log_z_with(terms_low, (down, p1, p0))
        return objective(log_hi, log_lo)

    if len(searched) <= JOINT_VERTICES_MAX:
        found = np.stack([extremes(v) for v in itertools.product((0, 1), repeat=len(searched))])
        return np.stack([found[:, :, 0].min(0), found[:, :, 1].max(0)], axis=1), "exact"
    n_values = len(extremes((0,) * len(searched)))
    out = np.empty((n_values, 2))
    for k in range(n_values):
        for side, sign in ((0, -1.0), (1, 1.0)):
            vertex = [0] * len(searched)
            best = sign * extremes(tuple(vertex))[k, side]
            improved = True
            while improved:
                improved = False
                for i in range(len(vertex)):
                    vertex[i] = 1 - vertex[i]
                    value = sign * extremes(tuple(vertex))[k, side]
                    if value > best:
                        best, improved = value, True
                    else:
                        vertex[i] = 1 - vertex[i]
            out[k, side] = sign * best
    return out, "search"


def _typical_spread(
    arrays: EvidenceArrays,
    base: IntegratedFit,
    low: np.ndarray,
    high: np.ndarray,
    ties: np.ndarray,
    bands: FactBands,
    seed: int,
) -> np.ndarray:
    """P(h) at BAND_DRAWS random judgments within their bands: (draws, H).

    The typical spread is their 5 % and 95 % quantiles. Uniform and independent per group of
    tied cells, for the claims' theta and the facts' phi, if_true and if_false; seeded, so a
    model gives one spread.
    """
    rng = np.random.default_rng(seed)
    thinned = [c.thinned(SPREAD_NODES, rng) for c in base.components]
    rows = np.arange(low.shape[0])[:, None]
    fact_rows = np.arange(bands.phi.shape[0])[:, None]
    has_facts = bool(arrays.fact_ids)
    thetas, facts = [], []
    for _ in range(BAND_DRAWS):
        u = rng.random(low.shape)[rows, ties]
        thetas.append(low + u * (high - low))
        if has_facts:
            v = rng.random(bands.phi.shape)[fact_rows, bands.phi_ties]
            t, f = rng.random(len(arrays.claim_ids)), rng.random(len(arrays.claim_ids))
            facts.append(
                (
                    bands.phi_low + v * (bands.phi_high - bands.phi_low),
                    bands.if_true[:, 0] + t * (bands.if_true[:, 1] - bands.if_true[:, 0]),
                    bands.if_false[:, 0] + f * (bands.if_false[:, 1] - bands.if_false[:, 0]),
                )
            )
    posteriors = []
    for start in range(0, BAND_DRAWS, _SPREAD_BATCH):  # one pass over the nodes per batch
        batch = base.plain_terms_for(thetas[start : start + _SPREAD_BATCH], thinned)
        for i, terms in enumerate(batch, start=start):
            log_z = base.log_z_with(terms, facts[i] if has_facts else None, thinned)
            posteriors.append(np.exp(log_softmax(arrays.log_prior + log_z)))
    return np.stack(posteriors)


def _changed_claims(spec: Spec, changed: Spec) -> set[str]:
    """Ids of claims whose record differs between two specs (present in one only included)."""
    before = {c.id: c for c in spec.claims}
    after = {c.id: c for c in changed.claims}
    return {i for i in before.keys() | after.keys() if before.get(i) is not after.get(i)}


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


def grade_steps(grade: str) -> tuple[str, ...]:
    """The grades one step from ``grade`` along A-E; F (cannot be judged) is compared with C, D."""
    if grade == "F":
        return ("C", "D")
    order = "ABCDE"
    i = order.index(grade)
    return tuple(order[j] for j in (i - 1, i + 1) if 0 <= j < len(order))


def _grade_changes(spec: Spec, base: IntegratedFit) -> list[Change]:
    """Each source graded one step better or worse, with its prior and judgment reliability.

    A source with an explicit ``reliability`` has no grade step, nor does one that speaks for
    an organisation (it testifies with the organisation's reliability). A quadrature component
    is integrated anew on the new prior (exactly); importance draws are reweighted by the
    ratio of the Beta densities.
    """
    changes = []
    attested = {a.witness_id for a in spec.attestations if a.counted}
    for source_id in sorted(attested):
        record = spec.sources[source_id]
        if record.source.reliability is not None:
            continue
        for grade in grade_steps(record.source.grade):
            stepped = ADMIRALTY_GRADES[grade]
            judgment = record.source.judgment_reliability
            new_record = replace(
                record,
                source=record.source.model_copy(update={"grade": grade}),
                alpha=stepped.alpha,
                beta=stepped.beta,
                judgment_reliability=stepped.judgment_reliability if judgment is None else judgment,
            )
            arrays, opinions = _regraded(base.arrays, source_id, new_record)
            integrators = base.integrators_for_prior(
                arrays, source_id, (record.alpha, record.beta), (stepped.alpha, stepped.beta)
            )
            posterior, error = base.posterior(arrays, opinions, integrators)
            change = f"{record.source.grade} to {grade}"
            changes.append(Change("grade", source_id, change, posterior, error))
    return changes


def _regraded(
    arrays: EvidenceArrays, source_id: str, record: Any
) -> tuple[EvidenceArrays, set[str]]:
    """The arrays with one source's prior and judgment reliability from ``record``.

    What :func:`evidence_arrays` gives for the spec with that source record (a test checks
    grade steps against refits), and the ids of the opinions whose reliability changed.
    """
    alpha, beta = arrays.alpha.copy(), arrays.beta.copy()
    if source_id in arrays.sampled_sources:
        slot = arrays.sampled_sources.index(source_id)
        alpha[slot], beta[slot] = record.alpha, record.beta
    # A source without an explicit reliability is sampled wherever it reports a fact, so its
    # pairs with a fixed reliability are its opinions.
    opinion = (np.asarray(arrays.pair_source) == source_id) & (arrays.pair_slot < 0)
    fixed = arrays.pair_fixed.copy()
    fixed[opinion] = record.judgment_reliability
    claims = {arrays.claim_ids[c] for c in np.unique(arrays.pair_claim[opinion])}
    return replace(arrays, alpha=alpha, beta=beta, pair_fixed=fixed), claims


def _prior_changes(arrays: EvidenceArrays, exact: ExactResult) -> list[Change]:
    """The posterior under a uniform prior and under the prior power-scaled."""
    out = [Change("prior", "uniform", "uniform", exact.uniform_posterior, exact.standard_error)]
    for power in PRIOR_POWERS:
        posterior = np.exp(log_softmax(power * arrays.log_prior + exact.log_evidence))
        name = f"power {power:g}"
        out.append(Change("prior", name.replace(" ", "-"), name, posterior, exact.standard_error))
    return out


class _Component:
    """One component of the base fit, with what cheap changes need kept at its nodes.

    log P(E | h, r_n) = full[n, h] = rest[n, h] + sum over plain claims c of T_c(theta[c, h]),
    with T_c = log1p(theta expm1(gap[n, c])), plus log(theta) for an outcome; ``rest`` holds
    the plain claims' S_noise and the facts' terms, which no claim's judgment moves.

    Z_h = sum_n w_n exp(full[n, h]) is linear in each single theta[c, h], so one claim's new
    judgments give Z_h' = Z_h (1 + (theta' - theta) D[c, h]) with
    D[c, h] = E_n[expm1(gap_c) / (1 + theta expm1(gap_c)) | h] under the nodes' posterior
    weights, and taking the claim out gives Z_h' = Z_h E_n[exp(-S_noise_c - T_c) | h]. Both
    are the same sums over the same nodes as integrating the changed model afresh: exact for
    quadrature, the same unbiased estimate for importance sampling. Moving every claim at once
    costs O(N C H), in chunks of bounded memory.
    """

    def __init__(self, integrator: Any, part: EvidenceArrays):
        self.integrator = integrator
        self.part = part
        in_fact = part.facts >= 0
        self.plain = np.flatnonzero(~in_fact)
        self.direct = part.direct[self.plain]
        self.theta = part.theta[self.plain]
        n_nodes, n_hyp = len(integrator.log_weights), len(part.hypothesis_ids)
        self._kept: tuple[np.ndarray, np.ndarray] | None = None
        if n_nodes * len(self.plain) <= _KEPT_CELLS:
            self._kept = (
                np.empty((n_nodes, len(self.plain))),
                np.empty((n_nodes, len(self.plain))),
            )
        # The claims in facts, apart: their S_noise and gap at every node (few claims), so the
        # facts' term can be computed again for other phi, if_true and if_false.
        self.fact_part = subset(part, in_fact, np.arange(part.n_sampled)) if in_fact.any() else None
        self._fact_sums = (np.empty((n_nodes, in_fact.sum())), np.empty((n_nodes, in_fact.sum())))
        self.rest = np.empty((n_nodes, n_hyp))
        self.plain_terms = np.empty((n_nodes, n_hyp))
        for rows, noise, expm1_gap, facts_noise, facts_gap in self._chunks(with_facts=True):
            if self._kept is not None:
                self._kept[0][rows], self._kept[1][rows] = noise, expm1_gap
            self._fact_sums[0][rows], self._fact_sums[1][rows] = facts_noise, facts_gap
            self.rest[rows] = noise.sum(axis=1)[:, None]
            self.plain_terms[rows] = self._terms(expm1_gap, self.theta)
        self.facts = self.facts_term()
        self.full = self.rest + self.facts + self.plain_terms
        self.log_z, self.relative, _ = integrator.weighted_sum(self.full, part.log_prior)

    def _chunks(self, with_facts: bool = False) -> Any:
        """Per chunk of nodes: (rows, S_noise, expm1(gap)) of the plain claims.

        With ``with_facts``, also S_noise and the gap of the claims in facts.
        """
        n_nodes = len(self.integrator.log_weights)
        cells = max(1, len(self.plain) * len(self.part.hypothesis_ids))
        step = max(1, min(_NODE_CHUNK, _CHUNK_CELLS // cells))
        in_fact = self.part.facts >= 0
        for start in range(0, n_nodes, step):
            rows = slice(start, min(start + step, n_nodes))
            if self._kept is not None and not with_facts:
                yield rows, self._kept[0][rows], self._kept[1][rows]
                continue
            reliability = self.integrator.nodes[rows][
                :, [self.integrator.sources.index(s) for s in self.part.sampled_sources]
            ]
            noise, gap = claim_sums(self.part, reliability)
            plain = (noise[:, self.plain], np.expm1(gap[:, self.plain]))
            if not with_facts:
                yield rows, *plain
                continue
            yield rows, *plain, noise[:, in_fact], gap[:, in_fact]

    def facts_term(
        self,
        phi: np.ndarray | None = None,
        if_true: np.ndarray | None = None,
        if_false: np.ndarray | None = None,
    ) -> np.ndarray:
        """The facts' summed term at every node, (N, H); by default at the component's own.

        ``phi`` (F_part, H), ``if_true`` and ``if_false`` (one per claim in a fact) replace
        the component's.
        """
        part = self.fact_part
        if part is None:
            return np.zeros_like(self.rest)
        judgments = None
        if phi is not None or if_true is not None or if_false is not None:
            assert part.fact_phi is not None and part.if_true is not None
            assert part.if_false is not None
            judgments = fact_judgments(
                part.facts >= 0,
                part.fact_phi if phi is None else phi,
                part.if_true if if_true is None else if_true,
                part.if_false if if_false is None else if_false,
            )
        noise, gap = self._fact_sums
        return fact_terms(part, noise, gap, part.fact_sum, np, judgments).sum(axis=1)

    def log_z_with(
        self, plain_terms: np.ndarray | None = None, facts: np.ndarray | None = None
    ) -> np.ndarray:
        """log Z with the plain claims' summed terms and the facts' term replaced (N, H)."""
        full = (
            self.rest
            + (self.facts if facts is None else facts)
            + (self.plain_terms if plain_terms is None else plain_terms)
        )
        return self.integrator.weighted_sum(full, self.part.log_prior, error=False)[0]

    def _terms(self, expm1_gap: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """sum over the plain claims of T_c with judgments ``theta`` (Cp, H): (nodes, H)."""
        witness = np.log1p(theta[None, :, :] * expm1_gap[:, :, None]).sum(axis=1)
        if not self.direct.any():
            return witness
        with np.errstate(divide="ignore"):
            return witness + np.log(theta[self.direct]).sum(axis=0)

    @cached_property
    def _slopes(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(D, log of the removal factor), each (Cp, H); None where some Z_h is 0.

        A hypothesis with Z_h = 0 has no posterior weights to average over; changes are then
        integrated directly (:meth:`_direct`).
        """
        if not np.isfinite(self.log_z).all():
            return None
        weights = np.exp(self.integrator.log_weights[:, None] + self.full - self.log_z)
        slope = np.zeros(self.theta.shape)
        removal = np.zeros(self.theta.shape)
        peak = np.full(len(self.plain), -np.inf)
        for rows, noise, expm1_gap in self._chunks():
            # weights / (1 + theta expm1(gap)), in place: the largest array here.
            weighted = self.theta[None, :, :] * expm1_gap[:, :, None]
            weighted += 1.0
            np.reciprocal(weighted, out=weighted)
            weighted *= weights[rows][:, None, :]
            slope += np.einsum("nc,nch->ch", expm1_gap, weighted)
            # E[exp(-S_noise - T)] with exp(-S_noise) scaled by its running maximum, so that
            # nothing overflows: each scaled term is at most 1.
            new_peak = np.maximum(peak, (-noise).max(axis=0))
            removal *= np.exp(peak - new_peak)[:, None]
            removal += np.einsum("nc,nch->ch", np.exp(-noise - new_peak), weighted)
            peak = new_peak
        with np.errstate(divide="ignore"):
            log_removal = np.log(removal) + peak[:, None]
            log_removal[self.direct] -= np.log(self.theta[self.direct])
        return slope, log_removal

    def _direct(self, row: int, theta_row: np.ndarray | None) -> np.ndarray:
        """log Z with one plain claim's judgments replaced (None: taken out), summed afresh."""
        columns = [(noise[:, row], expm1_gap[:, row]) for _, noise, expm1_gap in self._chunks()]
        noise = np.concatenate([n for n, _ in columns])[:, None]
        expm1_gap = np.concatenate([e for _, e in columns])[:, None]

        def terms(theta: np.ndarray) -> np.ndarray:
            witness = np.log1p(theta[None, :] * expm1_gap)
            with np.errstate(divide="ignore"):
                return witness + np.log(theta) if self.direct[row] else witness

        log_lik = self.full - terms(self.theta[row])
        log_lik = log_lik - noise if theta_row is None else log_lik + terms(theta_row)
        return self.integrator.weighted_sum(log_lik, self.part.log_prior, error=False)[0]

    def with_row(self, row: int, theta_row: np.ndarray) -> tuple[np.ndarray, Any]:
        """(log Z, relative covariance) with one plain claim's judgments replaced."""
        slopes = self._slopes
        if slopes is None:
            return self._direct(row, theta_row), self.relative
        change = theta_row - self.theta[row]
        with np.errstate(divide="ignore", invalid="ignore"):
            log_z = self.log_z + np.log(np.maximum(1.0 + change * slopes[0][row], 0.0))
            if self.direct[row]:
                log_z = log_z + np.log(theta_row) - np.log(self.theta[row])
        return log_z, self.relative

    def without_row(self, row: int) -> tuple[np.ndarray, Any]:
        """(log Z, relative covariance) with one plain claim taken out."""
        slopes = self._slopes
        if slopes is None:
            return self._direct(row, None), self.relative
        return self.log_z + slopes[1][row], self.relative

    def plain_terms_for(self, thetas: list[np.ndarray]) -> list[np.ndarray]:
        """The plain claims' summed terms (N, H) with judgments replaced by each of ``thetas``."""
        out = [np.zeros_like(self.rest) for _ in thetas]
        for rows, _, expm1_gap in self._chunks():
            for terms, theta in zip(out, thetas, strict=True):
                terms[rows] = self._terms(expm1_gap, theta)
        return out

    def thinned(self, nodes: int, rng: np.random.Generator) -> _Component:
        """The component on ``nodes`` nodes drawn in proportion to their posterior weight.

        Weights are divided by the selection probability, so sums stay unbiased; the
        typical spread uses it when a component has many nodes.
        """
        n = len(self.integrator.log_weights)
        if n <= nodes:
            return self
        log_mass = self.integrator.log_weights + log_sum_exp(
            self.full + self.part.log_prior, axis=1
        )
        probability = np.exp(log_mass - log_sum_exp(log_mass, axis=0))
        chosen = rng.choice(n, size=nodes, p=probability / probability.sum())
        integrator = replace(
            self.integrator,
            method="importance sampling",
            nodes=self.integrator.nodes[chosen],
            log_weights=self.integrator.log_weights[chosen] - np.log(nodes * probability[chosen]),
        )
        return _Component(integrator, self.part)


class IntegratedFit:
    """The base fit's components, ready to integrate a changed model over their nodes."""

    def __init__(self, exact: ExactResult, arrays: EvidenceArrays):
        self.arrays = arrays
        self.integrators = [c.integrator for c in exact.components if c.integrator is not None]
        self.components: list[_Component] = []
        self.component_of = np.full(len(arrays.claim_ids), -1)
        self.row_of = np.full(len(arrays.claim_ids), -1)
        #: Per component: its plain claims' rows, its facts' rows and its facts' claims' rows
        #: in the arrays.
        self.plain_rows: list[np.ndarray] = []
        self.fact_rows: list[np.ndarray] = []
        self.fact_claim_rows: list[np.ndarray] = []
        for k, integrator in enumerate(self.integrators):
            mask = self._mask(arrays, integrator)
            component = _Component(integrator, self._part(arrays, integrator, mask))
            self.components.append(component)
            claims = np.flatnonzero(mask)
            self.component_of[claims] = k
            self.row_of[claims[component.plain]] = np.arange(len(component.plain))
            self.plain_rows.append(claims[component.plain])
            self.fact_claim_rows.append(claims[component.part.facts >= 0])
            self.fact_rows.append(
                np.array([arrays.fact_ids.index(f) for f in component.part.fact_ids], dtype=int)
            )
        self.log_z = sum((c.log_z for c in self.components), np.zeros(len(arrays.hypothesis_ids)))

    @staticmethod
    def _mask(arrays: EvidenceArrays, integrator: Any) -> np.ndarray:
        claims = integrator.claims
        return np.fromiter((c in claims for c in arrays.claim_ids), bool, len(arrays.claim_ids))

    @staticmethod
    def _part(arrays: EvidenceArrays, integrator: Any, mask: np.ndarray) -> EvidenceArrays:
        sampled = arrays.sampled_sources
        members = [sampled.index(s) for s in integrator.sources if s in sampled]
        return subset(arrays, mask, np.asarray(members, dtype=int))

    def integrators_for_prior(
        self,
        arrays: EvidenceArrays,
        source: str,
        old: tuple[float, float],
        new: tuple[float, float],
    ) -> list[Any]:
        """The integrators with one source's reliability prior changed from ``old`` to ``new``."""
        out = list(self.integrators)
        for k, integrator in enumerate(self.integrators):
            if source not in integrator.sources:
                continue
            if integrator.method == "quadrature":
                part = self._part(arrays, integrator, self._mask(arrays, integrator))
                out[k] = quadrature(part, quadrature_nodes(part))
            else:
                out[k] = integrator.reweighted(source, old, new)
        return out

    def posterior(
        self,
        arrays: EvidenceArrays,
        changed: set[str],
        integrators: list[Any] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """P(h | E) of a changed model and its Monte Carlo standard error.

        Only components holding a ``changed`` claim, or whose integrator is replaced, are
        integrated again; the others keep their base figures.
        """
        log_z = np.zeros(len(arrays.hypothesis_ids))
        relative_covariances = []
        for k, integrator in enumerate(integrators or self.integrators):
            component = self.components[k]
            touched = integrator.claims & changed
            if integrator is component.integrator and not touched:
                part_log_z, relative = component.log_z, component.relative
            elif integrator.method == "quadrature" and integrator is not component.integrator:
                mask = self._mask(arrays, integrator)  # new nodes: integrate afresh
                if not mask.any():
                    continue
                part = self._part(arrays, integrator, mask)
                part_log_z, relative, _ = integrator.integrate(part)
            else:
                log_lik = component.full + self._delta(arrays, integrator, touched)
                part_log_z = integrator.weighted_sum(log_lik, arrays.log_prior, error=False)[0]
                relative = component.relative
            log_z += part_log_z
            if relative is not None:
                relative_covariances.append(relative)
        posterior = np.exp(log_softmax(arrays.log_prior + log_z))
        return posterior, posterior_standard_error(posterior, relative_covariances)

    def _delta(self, arrays: EvidenceArrays, integrator: Any, touched: set[str]) -> np.ndarray:
        """Change in log P(E | h, r_n) when the ``touched`` claims change: (N, H).

        The claims' terms in the changed model minus those in the base, with every fact of a
        touched claim taken whole (its claims enter together).
        """
        n_hyp = len(arrays.hypothesis_ids)
        if not touched:
            return np.zeros((1, n_hyp))
        facts = {self.arrays.fact_ids[f] for f in self._facts_of(self.arrays, touched)}
        facts |= {arrays.fact_ids[f] for f in self._facts_of(arrays, touched)}
        out = np.zeros((len(integrator.log_weights), n_hyp))
        for which, sign in ((arrays, 1.0), (self.arrays, -1.0)):
            in_facts = np.isin(
                [which.fact_ids[f] if f >= 0 else "" for f in which.facts], list(facts)
            )
            mask = np.isin(which.claim_ids, list(touched)) | (in_facts & bool(facts))
            mask &= self._mask(which, integrator)
            if mask.any():
                part = self._part(which, integrator, mask)
                out += sign * hypothesis_log_likelihood(part, integrator.reliabilities(part))
        return out

    @staticmethod
    def _facts_of(arrays: EvidenceArrays, claims: set[str]) -> set[int]:
        touched = np.isin(arrays.claim_ids, list(claims))
        return {int(f) for f in arrays.facts[touched] if f >= 0}

    def with_row(self, claim: int, theta_row: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        """(log Z[h], relative covariances) with one plain claim's judgments replaced."""
        return self._one_row(claim, lambda component, row: component.with_row(row, theta_row))

    def without_row(self, claim: int) -> tuple[np.ndarray, list[Any]]:
        """(log Z[h], relative covariances) with one plain claim taken out."""
        return self._one_row(claim, lambda component, row: component.without_row(row))

    def is_plain(self, claim: int) -> bool:
        """Whether a claim is a plain claim (in no fact) of some component."""
        return bool(self.row_of[claim] >= 0)

    def _one_row(
        self, claim: int, change: Callable[[_Component, int], tuple[np.ndarray, Any]]
    ) -> tuple[np.ndarray, list[Any]]:
        k = self.component_of[claim]
        component = self.components[k]
        part_log_z, relative = change(component, self.row_of[claim])
        log_z = self.log_z - component.log_z + part_log_z
        others = [c.relative for j, c in enumerate(self.components) if j != k]
        return log_z, [r for r in [*others, relative] if r is not None]

    def with_thetas(
        self, thetas: list[np.ndarray], components: list[_Component] | None = None
    ) -> list[np.ndarray]:
        """log Z[h] with every plain claim's judgments replaced by each of ``thetas`` (C, H)."""
        return [
            self.log_z_with(terms, components=components)
            for terms in self.plain_terms_for(thetas, components)
        ]

    def plain_terms_for(
        self, thetas: list[np.ndarray], components: list[_Component] | None = None
    ) -> list[list[np.ndarray]]:
        """Per theta (C, H), each component's plain claims' summed terms at its nodes."""
        per_component = [
            component.plain_terms_for([theta[self.plain_rows[k]] for theta in thetas])
            for k, component in enumerate(components or self.components)
        ]
        return [list(terms) for terms in zip(*per_component, strict=True)]

    def log_z_with(
        self,
        plain_terms: list[np.ndarray] | None = None,
        facts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        components: list[_Component] | None = None,
    ) -> np.ndarray:
        """log Z[h] with the plain claims' terms and the facts' judgments replaced.

        ``plain_terms`` holds one array per component (:meth:`plain_terms_for`); ``facts`` is
        ``(phi (F, H), if_true (C,), if_false (C,))`` over the whole arrays.
        """
        log_z = np.zeros(len(self.arrays.hypothesis_ids))
        for k, component in enumerate(components or self.components):
            fact_term = None
            if facts is not None and component.fact_part is not None:
                phi, if_true, if_false = facts
                fact_term = component.facts_term(
                    phi[self.fact_rows[k]],
                    if_true[self.fact_claim_rows[k]],
                    if_false[self.fact_claim_rows[k]],
                )
            log_z += component.log_z_with(
                None if plain_terms is None else plain_terms[k], fact_term
            )
        return log_z
