"""P(H) over time: after each recorded update, or as the claims are added in date order.

With updates in the ledger, the steps are the posterior before the first one and after each
(as the ledger recorded them), and the published fit when it is of a later spec. Before any
update, the exact pooled posterior is recomputed as the claims are added in date order,
undated claims first, one step per date: the prior, then what each day's evidence did.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

from forecast.analysis.analysts import analysts_of, pooled_exact_posterior
from forecast.spec.perturb import with_claims
from forecast.spec.schema import Spec

if TYPE_CHECKING:
    import pandas as pd

    from forecast.store.ledger import UpdateRecord

#: The label of a step holding the undated claims.
UNDATED = "undated"


def claims_timeline(spec: Spec, seed: int) -> pd.DataFrame:
    """Pooled exact P(h) after the claims of each date, in date order, undated first.

    Rows: ``prior``, then ``undated`` (if any claim has no date), then one per date; columns:
    hypothesis ids. The last row is the exact posterior of the whole spec.
    """
    import pandas as pd

    from forecast.model.likelihood import evidence_arrays

    order = sorted(spec.claims, key=lambda c: (c.date is not None, c.date or dt.date.min, c.id))
    arrays = evidence_arrays(with_claims(spec, []))
    priors = [np.exp(a.arrays.log_prior) for a in analysts_of(spec, arrays)]
    rows = {"prior": np.mean(priors, axis=0)}
    for i, claim in enumerate(order):
        last = i + 1 == len(order) or order[i + 1].date != claim.date
        if last:
            posterior, _, _ = pooled_exact_posterior(with_claims(spec, order[: i + 1]), seed)
            rows[UNDATED if claim.date is None else claim.date.isoformat()] = posterior
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(spec.hypothesis_ids))


def updates_timeline(
    spec: Spec, updates: list[UpdateRecord], published: dict[str, float] | None
) -> pd.DataFrame:
    """P(h) before the first update and after each, as recorded; then the published fit.

    ``published`` (P(h) of the published fit) is added as a last step when the last update
    is of an older spec than the current one.
    """
    import pandas as pd

    ids = list(spec.hypothesis_ids)

    def means(posterior: dict[str, dict[str, float]]) -> list[float]:
        return [float(posterior[h]["mean"]) if h in posterior else np.nan for h in ids]

    rows = {"before update 1": means(updates[0].before)}
    for update in updates:
        rows[f"update {update.id} ({update.time[:10]})"] = means(update.after)
    if published is not None and updates[-1].spec_after != spec.sha256:
        rows["published fit"] = [published[h] for h in ids]
    return pd.DataFrame.from_dict(rows, orient="index", columns=ids)
