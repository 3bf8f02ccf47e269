"""Where the analysts disagree, and what it does to the answer.

Three views (``docs/model.md``):

- every analyst's judgment of every claim, fact and sign, per hypothesis;
- per claim or fact, the spread across analysts of its log Bayes factors at the
  posterior-mean reliabilities, with the model's prior as the weights of the alternatives
  (the primary view: how differently the analysts read the same evidence);
- per claim or fact, the swing of the pooled P(leader) when every analyst's row for it is
  replaced by analyst k's, as max over k minus min over k: what the disagreement does to the
  answer. Each is exact, over each analyst's own integration nodes.

And Krippendorff's alpha (interval metric) over the cells the analysts judged, with a
bootstrap interval over claims, on the judgments and on within-claim centred log judgments
(agreement on direction rather than level). No verdict words: the numbers are the finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from forecast.analysis.analysts import Analyst, analysts_of
from forecast.analysis.influence import log_bayes_factors
from forecast.analysis.robustness import IntegratedFit
from forecast.constants import ALPHA_BOOTSTRAP, ALPHA_INTERVAL, DEFAULT_SEED
from forecast.model.exact import ExactResult, exact_posterior
from forecast.model.likelihood import (
    EvidenceArrays,
    claim_log_likelihood,
    hypothesis_log_likelihood,
    log_softmax,
    subset,
)
from forecast.spec.schema import Spec


def krippendorff_alpha(values: np.ndarray) -> float:
    """Krippendorff's alpha, interval metric, of ``values`` (units, coders), NaN = missing.

    alpha = 1 - D_o / D_e over the pairable values (units with at least two): D_o averages the
    squared differences within units, each unit's pairs weighted 1 / (m_u - 1); D_e averages
    them over every pair of pairable values. The sum of squared differences over the ordered
    pairs of a set of m values is 2 (m sum v^2 - (sum v)^2). NaN when nothing varies or pairs.
    """
    values = np.asarray(values, dtype=float)
    given = ~np.isnan(values)
    counts = given.sum(axis=1)
    pairable = counts >= 2
    if not pairable.any():
        return float("nan")
    v = np.where(given, values, 0.0)[pairable]
    m = counts[pairable].astype(float)
    first, second = v.sum(axis=1), (v**2).sum(axis=1)
    n = m.sum()
    observed = (2 * (m * second - first**2) / (m - 1)).sum() / n
    expected = 2 * (n * second.sum() - first.sum() ** 2) / (n * (n - 1))
    if expected <= 0:
        return float("nan")
    return float(1.0 - observed / expected)


@dataclass(frozen=True)
class Agreement:
    """Krippendorff's alpha with its bootstrap interval over claims, and what it counts."""

    alpha: float
    low: float
    high: float
    cells: int


def _agreement(table: np.ndarray, units: list[str], seed: int) -> Agreement:
    """alpha of ``table`` (cells, analysts) and a bootstrap over the claims the cells belong to."""
    alpha = krippendorff_alpha(table)
    items = sorted(set(units))
    rows = {item: np.flatnonzero(np.asarray(units) == item) for item in items}
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(ALPHA_BOOTSTRAP):
        chosen = rng.choice(len(items), size=len(items), replace=True)
        sample = table[np.concatenate([rows[items[i]] for i in chosen])]
        value = krippendorff_alpha(sample)
        if np.isfinite(value):
            draws.append(value)
    tail = (1 - ALPHA_INTERVAL) / 2
    low, high = np.quantile(draws, [tail, 1 - tail]) if draws else (float("nan"), float("nan"))
    paired = int(np.sum(np.sum(~np.isnan(table), axis=1) >= 2))
    return Agreement(alpha, float(low), float(high), paired)


@dataclass(frozen=True)
class Item:
    """One judged item: a claim, a fact, or a sign of a fact, with every analyst's values.

    ``values`` is (analysts, hypotheses) for a claim or fact and (analysts, 2) for a sign
    (if_true, if_false); NaN where an analyst did not judge it (the evidence analyst's value
    then stands in its posterior).
    """

    id: str
    kind: str
    values: np.ndarray
    lbf_spread: float
    swing: tuple[float, float]
    swing_by: tuple[str, str]


@dataclass(frozen=True)
class JudgesResult:
    """Every analyst, every judged item with its disagreement, and the agreement statistics."""

    hypothesis_ids: tuple[str, ...]
    analysts: tuple[Analyst, ...]
    leader: str
    #: Each analyst's exact P(h | E), (K, H), and their equal-weight pool, (H,).
    posteriors: np.ndarray
    pooled: np.ndarray
    items: tuple[Item, ...]
    alpha: Agreement
    alpha_direction: Agreement
    #: Whether some analyst saw others' numbers before judging (alpha is then not blind).
    not_blind: tuple[str, ...]

    def ranked(self) -> tuple[Item, ...]:
        """Items by how far the disagreement about them moves the pooled P(leader)."""

        def width(item: Item) -> float:
            low, high = item.swing
            return -1.0 if np.isnan(low) else high - low  # no swing: last

        return tuple(sorted(self.items, key=width, reverse=True))


def mean_reliability(exact: ExactResult, arrays: EvidenceArrays) -> np.ndarray:
    """Posterior-mean reliabilities of the sampled sources, from the exact engine's nodes."""
    mean = arrays.alpha / (arrays.alpha + arrays.beta)
    for component in exact.components:
        integrator = component.integrator
        if integrator is None or not integrator.sources:
            continue
        mask = np.isin(arrays.claim_ids, list(integrator.claims))
        members = np.array([arrays.sampled_sources.index(s) for s in integrator.sources])
        part = subset(arrays, mask, members)
        nodes = integrator.reliabilities(part)
        log_lik = hypothesis_log_likelihood(part, nodes)
        log_mass = integrator.log_weights + np.logaddexp.reduce(log_lik + arrays.log_prior, axis=1)
        weights = np.exp(log_mass - log_mass.max())
        mean[members] = (weights / weights.sum()) @ nodes
    return mean


def judges(
    spec: Spec, *, seed: int = DEFAULT_SEED, exacts: dict[str, ExactResult] | None = None
) -> JudgesResult:
    """Every analyst's judgments, where they disagree and what that does, and alpha.

    ``exacts`` holds the analysts' exact results by id, when already computed.
    """
    from forecast.model.likelihood import evidence_arrays

    arrays = evidence_arrays(spec)
    analysts = analysts_of(spec, arrays)
    known = exacts or {}
    exacts_list = [known.get(a.id) or exact_posterior(a.arrays, seed=seed) for a in analysts]
    fits = [IntegratedFit(e, a.arrays) for e, a in zip(exacts_list, analysts, strict=True)]
    posteriors = np.stack([e.posterior for e in exacts_list])
    pooled = posteriors.mean(axis=0)
    lead = int(np.argmax(pooled))
    reliability = mean_reliability(exacts_list[0], arrays)
    terms = [claim_log_likelihood(a.arrays, reliability) for a in analysts]
    lbf = np.stack([log_bayes_factors(t, arrays.log_prior) for t in terms])  # (K, U, H)
    records = {a.id: a for a in spec.analysts}
    judged_by = [None, *(records[a.id] for a in analysts[1:])]
    row = {c: i for i, c in enumerate(arrays.claim_ids)}
    units = {u: i for i, u in enumerate(arrays.unit_ids)}

    def pooled_lead(replace_row: callable) -> float:  # type: ignore[valid-type]
        posteriors = []
        for fit, analyst in zip(fits, analysts, strict=True):
            log_z = replace_row(fit, analyst)
            posteriors.append(np.exp(log_softmax(analyst.arrays.log_prior + log_z)))
        return float(np.mean(posteriors, axis=0)[lead])

    items = []
    for claim in sorted(spec.claims, key=lambda c: c.id):
        if claim.kind == "outcome":
            continue
        c = row[claim.id]
        if claim.fact is None:
            values = _values(
                arrays.theta[c],
                judged_by[1:],
                lambda r, i=claim.id: r.theta[i][0] if i in r.theta else None,
            )

            def replaced(k: int, c: int = c, values: np.ndarray = values) -> float:
                theta = _own(values, k)
                return pooled_lead(lambda fit, _a: fit.with_row(c, theta)[0])

            kind = "claim"
        else:
            values = _values(
                (arrays.if_true[c], arrays.if_false[c]),
                judged_by[1:],
                lambda r, i=claim.id: [v[0] for v in r.signs[i]] if i in r.signs else None,
            )

            def replaced(k: int, c: int = c, values: np.ndarray = values) -> float:
                p1, p0 = _own(values, k)

                def change(fit: IntegratedFit, analyst: Analyst) -> np.ndarray:
                    a = analyst.arrays
                    if_true, if_false = a.if_true.copy(), a.if_false.copy()
                    if_true[c], if_false[c] = p1, p0
                    return fit.log_z_with(facts=(a.fact_phi, if_true, if_false))

                return pooled_lead(change)

            kind = "sign"
        items.append(_item(claim.id, kind, values, lbf, units, replaced, analysts))
    for fact in spec.facts:
        f = arrays.fact_ids.index(fact.id)
        values = _values(
            arrays.fact_phi[f],
            judged_by[1:],
            lambda r, i=fact.id: r.phi[i][0] if i in r.phi else None,
        )

        def replaced(k: int, f: int = f, values: np.ndarray = values) -> float:
            phi_row = _own(values, k)

            def change(fit: IntegratedFit, analyst: Analyst) -> np.ndarray:
                a = analyst.arrays
                phi = a.fact_phi.copy()
                phi[f] = phi_row
                return fit.log_z_with(facts=(phi, a.if_true, a.if_false))

            return pooled_lead(change)

        items.append(_item(fact.id, "fact", values, lbf, units, replaced, analysts))
    cells, owners = _cells(items)
    direction, direction_owners = _centred_log_cells(items)
    return JudgesResult(
        arrays.hypothesis_ids,
        tuple(analysts),
        arrays.hypothesis_ids[lead],
        posteriors,
        pooled,
        tuple(items),
        _agreement(cells, owners, seed),
        _agreement(direction, direction_owners, seed),
        tuple(a.id for a in analysts[1:] if a.blind is False),
    )


def _values(evidence: Any, records: list[Any], own: Callable[[Any], Any]) -> np.ndarray:
    """An item's values per analyst: the evidence's first, then each record's own or NaN."""
    first = np.asarray(evidence, dtype=float)
    values = np.full((1 + len(records), len(first)), np.nan)
    values[0] = first
    for k, record in enumerate(records, start=1):
        given = own(record)
        if given is not None:
            values[k] = given
    return values


def _own(values: np.ndarray, k: int) -> np.ndarray:
    """Analyst k's row of an item, or the evidence's where analyst k did not judge it."""
    return values[k] if not np.isnan(values[k]).any() else values[0]


def _item(
    item_id: str,
    kind: str,
    values: np.ndarray,
    lbf: np.ndarray,
    units: dict[str, int],
    replaced: callable,  # type: ignore[valid-type]
    analysts: list[Analyst],
) -> Item:
    """An item's LBF spread and swing; only items some further analyst judged can swing."""
    unit = units.get(item_id)
    spread = 0.0 if unit is None else float((lbf[:, unit].max(0) - lbf[:, unit].min(0)).max())
    judged = [k for k in range(len(analysts)) if not np.isnan(values[k]).any()]
    if len(judged) < 2:
        return Item(item_id, kind, values, spread, (np.nan, np.nan), ("", ""))
    leads = {k: replaced(k) for k in judged}
    low, high = min(leads, key=leads.get), max(leads, key=leads.get)  # type: ignore[arg-type]
    return Item(
        item_id,
        kind,
        values,
        spread,
        (leads[low], leads[high]),
        (analysts[low].id, analysts[high].id),
    )


def _cells(items: list[Item]) -> tuple[np.ndarray, list[str]]:
    """Every judged value as a unit of alpha, leaving out definitional 0/1 cells."""
    rows, owners = [], []
    for item in items:
        for column in item.values.T:
            given = column[~np.isnan(column)]
            if len(given) and np.all((given == 0) | (given == 1)):
                continue
            rows.append(column)
            owners.append(item.id)
    width = len(items[0].values) if items else 0
    return (np.array(rows) if rows else np.zeros((0, width))), owners


def _centred_log_cells(items: list[Item]) -> tuple[np.ndarray, list[str]]:
    """Within-claim centred log judgments of claims and facts (those with a 0 left out)."""
    rows, owners = [], []
    for item in items:
        if item.kind == "sign":
            continue
        values = item.values
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(values)
        if np.any(np.isneginf(logs)):
            continue
        given = ~np.isnan(logs)
        means = np.where(given, logs, 0.0).sum(axis=1) / np.maximum(given.sum(axis=1), 1)
        centred = logs - means[:, None]
        for column in centred.T:
            rows.append(column)
            owners.append(item.id)
    width = len(items[0].values) if items else 0
    return (np.array(rows) if rows else np.zeros((0, width))), owners
