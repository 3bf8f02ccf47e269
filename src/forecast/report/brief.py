"""The briefing: the assessment on one page, as Markdown and as one self-contained HTML file.

Everything on the page comes from the published fit of the current spec (``summary.json``,
``claims.csv``, ``sources.csv``), the spec itself (quotes, sources, documents, dependence)
and the ledger (updates, resolutions): the page says what the fit said, in an analyst's words.
A section whose data do not exist is left out, heading and all.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forecast.report.words import percent, percent_range
from forecast.spec.schema import ClaimRecord, Spec

if TYPE_CHECKING:
    import pandas as pd

    from forecast.report.questions import IndicatorsReport
    from forecast.report.score import ScoreReport

#: The briefing's files: the page twice, then the figures it shows, in page order.
MARKDOWN_FILE = "briefing.md"
HTML_FILE = "briefing.html"
FIGURE_FILES = {
    "posterior": "p_H.png",
    "evidence": "evidence.png",
    "reliability": "reliability.png",
    "timeline": "timeline.png",
    "questions": "questions.png",
}
#: Figures are drawn at this resolution: sharp on paper, small enough to embed.
FIGURE_DPI = 150
#: How many of the claims that moved the answer most, of the analysts' largest
#: disagreements and of the indicators the page lists in its body (the annex has them all).
TOP_CLAIMS = 5
TOP_DISAGREEMENTS = 5
TOP_INDICATORS = 8
TOP_SOURCES = 3
#: A claim whose diagnosticity is below this moves no hypothesis against another: the evidence
#: matrix leaves it out (the annex lists it) and says how many.
NOTHING = 0.005

RELIABILITY_CAVEAT = (
    "A source's reliability posterior measures how consistent its reports are with the rest of "
    "the evidence under the model, not its track record: a source that agrees with the others "
    "looks reliable whether or not any of them is right."
)
HINDSIGHT_CAVEAT = (
    "Forecasts are scored only when recorded before the outcome, from evidence dated before "
    "it. Judgments written after the evidence cutoff can still carry hindsight that no "
    "firewall can detect."
)


@dataclass(frozen=True)
class Briefing:
    """The page's content as plain data, and its figures as PNG bytes by file name."""

    context: dict[str, Any]
    figures: dict[str, bytes]

    def markdown(self) -> str:
        """The page in Markdown, its figures linked as files beside it."""
        return _render("briefing.md.j2", self.context, images=dict.fromkeys(self.figures))

    def html(self) -> str:
        """The page as one HTML file: figures embedded as data URIs, nothing loaded."""
        images = {
            name: "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            for name, data in self.figures.items()
        }
        return _render("briefing.html.j2", self.context, images=images)

    def files(self) -> dict[str, bytes]:
        """Every file of the briefing folder, by name."""
        return {
            MARKDOWN_FILE: self.markdown().encode("utf-8"),
            HTML_FILE: self.html().encode("utf-8"),
            **self.figures,
        }


def _render(template: str, context: dict[str, Any], *, images: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=PackageLoader("forecast.report", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["cell"] = _markdown_cell
    return environment.get_template(template).render(**context, images=images)


def _markdown_cell(text: Any) -> str:
    """Text safe inside a Markdown table cell: no pipe or line break ends the cell early."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def build_briefing(
    spec: Spec,
    summary: dict[str, Any],
    claims: pd.DataFrame,
    sources: pd.DataFrame,
    *,
    indicators: IndicatorsReport | None,
    scores: ScoreReport,
    backtest: ScoreReport,
    timeline: pd.DataFrame,
    timeline_caption: str,
    today: dt.date,
) -> Briefing:
    """The briefing of ``spec`` from its published fit, its indicators, scores and timeline."""
    context = briefing_context(
        spec, summary, claims, sources, indicators=indicators, scores=scores,
        backtest=backtest, today=today,
    )  # fmt: skip
    figures = _figures(spec, summary, claims, sources, timeline, timeline_caption)
    left_out = int(_moves_nothing(claims).sum())
    context["captions"] = _captions(summary, timeline_caption, left_out)
    return Briefing(context, figures)


def briefing_context(
    spec: Spec,
    summary: dict[str, Any],
    claims: pd.DataFrame,
    sources: pd.DataFrame,
    *,
    indicators: IndicatorsReport | None,
    scores: ScoreReport,
    backtest: ScoreReport,
    today: dt.date,
) -> dict[str, Any]:
    """Everything the templates show, as strings, numbers and lists."""
    robustness = summary.get("robustness")
    hypotheses = sorted(summary["hypotheses"], key=lambda row: -row["mean"])
    labels = {h.id: h.label for h in spec.hypotheses}
    return {
        "title": spec.title,
        "model": spec.name,
        "question": spec.explanandum,
        "as_of": summary["as_of"],
        "undated": sorted(d.id for d in spec.documents.values() if d.document.date is None),
        "written_on": today.isoformat(),
        "method": _method(summary),
        "bluf": _bluf(summary, hypotheses, robustness, labels)
        | {"prior_decides": _prior_decides(robustness)},
        "judgments": _judgments(hypotheses, robustness),
        "has_hdi": _has_hdi(summary),
        "has_robust": robustness is not None,
        "prior_split": _prior_split(robustness, labels),
        "moved": _moved(spec, summary, robustness, labels),
        "leans_on": _leans_on(spec, robustness),
        "flips": _flips(robustness, labels),
        "disagreement": _disagreement(summary),
        "dependence": _dependence(spec),
        "forecasts": _forecasts(spec, summary, scores, backtest, today),
        "watch": _watch(indicators),
        "caveats": _caveats(spec, summary),
        "annex": _annex(spec, claims, sources),
        "hypothesis_ids": list(spec.hypothesis_ids),
    }


def _method(summary: dict[str, Any]) -> str:
    if summary["method"] == "exact":
        return "exact engine"
    chains, draws = summary["chains"], summary["draws"]
    return f"NUTS, {chains} chains x {draws} draws, checked by the exact engine"


def _range(pair: dict[str, float] | None) -> str | None:
    """A [low, high] pair as "19–39 %", its ends distinct when they round alike."""
    if pair is None:
        return None
    return percent_range(pair["low"], pair["high"])


def _bluf(
    summary: dict[str, Any],
    hypotheses: list[dict[str, Any]],
    robustness: dict[str, Any] | None,
    labels: dict[str, str],
) -> dict[str, Any]:
    """The bottom line: the leader with its word, number, range and confidence; the next."""
    leader, runner_up = hypotheses[0], hypotheses[1]
    out: dict[str, Any] = {
        "leader": _answer(leader),
        "runner_up": _answer(runner_up),
        "robust_range": None,
        "confidence": None,
        "confidence_reason": None,
        "analysts": None,
    }
    if robustness is not None:
        out["robust_range"] = _range(robustness["robust_range"][leader["hypothesis"]])
        confidence = robustness["confidence"]
        out["confidence"] = confidence["level"]
        reasons = confidence.get("reasons") or []
        out["confidence_reason"] = reasons[0] if reasons else None
    leaders = (robustness or {}).get("analyst_leaders") or {
        a["id"]: a["leader"] for a in summary.get("analysts", [])
    }
    if len(leaders) > 1:
        if len(set(leaders.values())) > 1:
            each = "; ".join(f"{a}: {labels[h]} ({h})" for a, h in leaders.items())
            out["analysts"] = f"The analysts disagree on the leading answer ({each})."
        else:
            every = "Both" if len(leaders) == 2 else f"All {len(leaders)}"
            out["analysts"] = (
                f"{every} analysts put {leader['hypothesis']} first; the numbers are their "
                "equal-weight pool."
            )
    return out


def _answer(row: dict[str, Any]) -> dict[str, str]:
    return {
        "id": row["hypothesis"],
        "label": row["label"],
        "p": percent(row["mean"]),
        "word": row["word"],
    }


def _judgments(
    hypotheses: list[dict[str, Any]], robustness: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Every hypothesis: number, word, interval, robust range, prior, and a note.

    The note says where the prior decides the word: the uniform prior gives another one.
    """
    rows = []
    for row in hypotheses:
        h = row["hypothesis"]
        uniform = row["uniform_prior_mean"]
        hdi = None
        if row.get("hdi_low") is not None and not _nan(row["hdi_low"]):
            hdi = percent_range(row["hdi_low"], row["hdi_high"])
        note = None
        if row["uniform_prior_word"] != row["word"]:
            note = f"the prior decides its word (uniform prior: {row['uniform_prior_word']})"
        rows.append(
            {
                "id": h,
                "label": row["label"],
                "p": percent(row["mean"]),
                "word": row["word"],
                "hdi": hdi,
                "robust_range": _range(robustness["robust_range"][h]) if robustness else None,
                "prior": percent(row["prior"]),
                "uniform": percent(uniform),
                "note": note,
            }
        )
    return rows


def _has_hdi(summary: dict[str, Any]) -> bool:
    """Whether the fit has draws, and so an interval for each hypothesis."""
    return any(not _nan(_float(row.get("hdi_low"))) for row in summary["hypotheses"])


def _moves_nothing(claims: pd.DataFrame) -> pd.Series:
    """The rows of claims.csv outside any fact that move no hypothesis against another."""
    return claims["fact"].isna() & (claims["diagnosticity"] < NOTHING)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _prior_decides(robustness: dict[str, Any] | None) -> str | None:
    """One sentence for the bottom line when the prior, not the evidence, orders the top two."""
    if robustness is None:
        return None
    split = robustness["prior"]
    prior, evidence = math.exp(split["log_prior_odds"]), math.exp(split["log_bayes_factor"])
    lead, second = split["leader"], split["runner_up"]
    if split["verdict"] == "the prior decides the leader" or _evidence_even(prior, evidence):
        return (
            f"The evidence hardly separates {lead} from {second} (factor {evidence:.2f}); "
            f"the prior ({prior:.2f} to 1) puts {lead} first."
        )
    return None


def _evidence_even(prior: float, evidence: float) -> bool:
    """Whether the evidence's factor is too close to 1 to order what the prior ordered."""
    return evidence < 1 <= prior or abs(math.log(evidence)) < abs(math.log(prior)) / 4


def _prior_split(robustness: dict[str, Any] | None, labels: dict[str, str]) -> str | None:
    """Leader against runner-up: prior odds times the evidence's factor gives the odds."""
    if robustness is None:
        return None
    split = robustness["prior"]
    prior, evidence = math.exp(split["log_prior_odds"]), math.exp(split["log_bayes_factor"])
    posterior = math.exp(split["log_posterior_odds"])
    lead, second = split["leader"], split["runner_up"]
    sentence = (
        f"{lead} against {second}: prior odds {prior:.2f}, times the evidence's factor "
        f"{evidence:.2f}, gives odds of {posterior:.2f}."
    )
    if split["verdict"] == "the prior decides the leader":
        return sentence + " The prior, not the evidence, decides which of them leads."
    if _evidence_even(prior, evidence):
        return sentence + (f" The evidence hardly separates them; the prior gives {lead} its lead.")
    return sentence


def _moved(
    spec: Spec,
    summary: dict[str, Any],
    robustness: dict[str, Any] | None,
    labels: dict[str, str],
) -> list[dict[str, Any]]:
    """The claims and facts whose removal moves P(leader) most, with their quotes."""
    if robustness is None:
        return []
    lead = robustness["leader"]
    base = robustness["posterior"][lead]
    removals = [c for c in robustness["changes"] if c["kind"] in ("claim", "fact")]
    removals.sort(key=lambda c: -abs(c["posterior"][lead] - base))
    claims = {c.id: c for c in spec.claims}
    facts = {f.id: f for f in spec.facts}
    out = []
    for change in removals[:TOP_CLAIMS]:
        after = change["posterior"][lead]
        if change["kind"] == "claim":
            claim = claims[change["id"]]
            text, members = claim.text, [claim]
        else:
            fact = facts[change["id"]]
            text, members = fact.text, [claims[c] for c in fact.claims]
        out.append(
            {
                "id": change["id"],
                "kind": change["kind"],
                "text": text,
                "effect": f"without it, {lead} {percent(base)} → {percent(after)}"
                + ("" if change["leader"] == lead else f"; {change['leader']} leads"),
                "quotes": [q for c in members for q in _quotes(spec, c, counted_only=True)],
            }
        )
    return out


def _leans_on(spec: Spec, robustness: dict[str, Any] | None) -> list[str]:
    """The sources and documents whose removal moves P(leader) most, with how far."""
    if robustness is None:
        return []
    lead = robustness["leader"]
    base = robustness["posterior"][lead]
    removals = [c for c in robustness["changes"] if c["kind"] in ("source", "document")]
    removals.sort(key=lambda c: -abs(c["posterior"][lead] - base))
    out = []
    for change in removals[:TOP_SOURCES]:
        if change["kind"] == "source":
            source = spec.sources[change["id"]].source
            what = f"{source.name} (grade {source.grade}), every report"
        else:
            document = spec.documents[change["id"]].document
            what = f"the document {document.title} ({change['id']}) and its copies"
        after = change["posterior"][lead]
        lead_after = "" if change["leader"] == lead else f"; {change['leader']} leads"
        out.append(f"without {what}: {lead} {percent(base)} → {percent(after)}{lead_after}")
    return out


def _quotes(spec: Spec, claim: ClaimRecord, *, counted_only: bool) -> list[dict[str, Any]]:
    out = []
    for attestation in claim.attestations:
        if counted_only and not attestation.counted:
            continue
        source = spec.sources[attestation.source_id].source
        document = spec.documents[attestation.document_id].document
        out.append(
            {
                "quote": attestation.quote,
                "source": source.name,
                "grade": source.grade,
                "document": document.title,
                "date": document.date.isoformat() if document.date else "undated",
                "url": _link(document.url),
                "counted": attestation.counted,
                "not_counted_because": attestation.not_counted_because,
            }
        )
    return out


def _link(url: str | None) -> str | None:
    """A document's address as a link only when it is a web address (never a script)."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def _flips(robustness: dict[str, Any] | None, labels: dict[str, str]) -> dict[str, Any] | None:
    """The single changes that make another hypothesis lead, and how many move a word."""
    if robustness is None:
        return None
    lead = robustness["leader"]
    leader_flips = [
        {
            "change": flip["label"],
            "leader": flip["leader"],
            **_pair(flip["posterior"][flip["leader"]], flip["posterior"][lead]),
        }
        for flip in robustness["flips"]
        if flip["leader"] != lead
    ]
    return {
        "leader": lead,
        "leader_flips": leader_flips,
        "word_flips": len(robustness["flips"]) - len(leader_flips),
        "changes": len(robustness["changes"]),
    }


def _pair(new: float, old: float) -> dict[str, str]:
    """Two probabilities as "p" and "leader_after", with a decimal when they round alike."""
    first, second = percent(new), percent(old)
    if first == second and new != old:
        first, second = f"{100 * new:.1f} %", f"{100 * old:.1f} %"
    return {"p": first, "leader_after": second}


def _disagreement(summary: dict[str, Any]) -> dict[str, Any] | None:
    """Agreement between the analysts, and the items they judge most differently."""
    judges = summary.get("judges")
    if not judges:
        return None
    alpha = judges["alpha"]["judgments"]

    def swing(item: dict[str, Any]) -> float:
        return item["pooled_leader"]["high"] - item["pooled_leader"]["low"]

    items = sorted(judges["items"], key=lambda item: -swing(item))[:TOP_DISAGREEMENTS]
    leader = judges["leader"]
    return {
        "analysts": [a["id"] for a in judges["analysts"]],
        "alpha": f"{alpha['alpha']:.2f} ({alpha['low']:.2f}–{alpha['high']:.2f})",
        "leader": leader,
        "entries": [
            {
                "id": item["id"],
                "kind": item["kind"],
                "spread": f"{item['lbf_spread']:.2f}",
                "range": percent_range(item["pooled_leader"]["low"], item["pooled_leader"]["high"]),
                "low_by": item["pooled_leader_by"]["low"],
                "high_by": item["pooled_leader_by"]["high"],
            }
            for item in items
        ],
    }


def _dependence(spec: Spec) -> dict[str, list[str]]:
    """What the model was told is not independent: facts, organisations, copies."""
    facts = [
        f"{fact.id} ({fact.text}): claims {', '.join(fact.claims)} count as signs of one fact"
        for fact in spec.facts
    ]
    members: dict[str, list[str]] = {}
    for source in spec.sources.values():
        if source.source.speaks_for:
            members.setdefault(source.source.speaks_for, []).append(source.source.name)
    organisations = [
        f"{', '.join(names)} speak for {_name(spec, org)}, and count as one witness"
        for org, names in members.items()
    ]
    copies = [
        f"{record.document.title} ({record.id}) is derived from "
        f"{spec.documents[record.document.derived_from].document.title} "
        f"({record.document.derived_from})"
        for record in spec.documents.values()
        if record.document.derived_from
    ]
    not_counted = [
        f"{a.claim_id}: {spec.sources[a.source_id].source.name} in {a.document_id} is not "
        f"counted ({a.not_counted_because})"
        for a in spec.attestations
        if not a.counted
    ]
    return {
        "facts": facts,
        "organisations": organisations,
        "copies": copies,
        "not_counted": not_counted,
    }


def _name(spec: Spec, source: str) -> str:
    return spec.sources[source].source.name if source in spec.sources else source


def _forecasts(
    spec: Spec,
    summary: dict[str, Any],
    scores: ScoreReport,
    backtest: ScoreReport,
    today: dt.date,
) -> dict[str, Any] | None:
    """Open questions with P(yes) and intervals; resolved ones with outcome and score.

    Whether a question is resolved comes from the spec (its outcome claim, or the ledger),
    which may know of a resolution recorded after the fit.
    """
    stored = summary.get("questions")
    if not stored or not stored["questions"]:
        return None
    scored = {r.question: r for r in (*scores.results, *backtest.results)}
    questions = {q.id: q for q in spec.questions}
    open_, resolved = [], []
    for row in _resolved_as_now(stored["questions"], questions):
        entry = {
            "id": row["question"],
            "text": row["text"],
            "resolve_by": row["resolve_by"],
            "retrospective": bool(row["retrospective"]),
            "p": percent(row["p_yes"]),
            "word": row["word"],
            "spread": None if row["spread_low"] is None else percent_range(
                row["spread_low"], row["spread_high"]
            ),
            "evidence_band": None if row["evidence_low"] is None else percent_range(
                row["evidence_low"], row["evidence_high"]
            ),
        }  # fmt: skip
        if row["resolution"] is None:
            entry["overdue"] = row["resolve_by"] < today.isoformat()
            open_.append(entry)
            continue
        result = scored.get(row["question"])
        entry["outcome"] = row["resolution"]
        entry["resolved_on"] = row["resolved_on"]
        if result is None or result.forecast is None:
            entry["score"] = "not scorable" + (f": {result.reason}" if result else "")
        else:
            entry["score"] = (
                f"forecast {percent(result.p_yes)}; Brier {result.brier:.3f}, "
                f"log score {result.log_score:+.2f} bits"
                + (" (backtest: written after the outcome)" if row["retrospective"] else "")
            )
        resolved.append(entry)
    open_.sort(key=lambda e: (e["retrospective"], e["resolve_by"]))
    summary_line = None
    skill = scores.summary()
    if skill["scored"]:
        summary_line = (
            f"Over {skill['scored']} scored forecasts: Brier {skill['brier']:.3f} (uniform 0.25), "
            f"log score {skill['log_score_bits']:+.2f} bits (uniform -1)."
        )
    return {
        "spread_label": stored["spread_label"],
        "open": open_,
        "resolved": resolved,
        "score_summary": summary_line,
    }


def _resolved_as_now(rows: list[dict[str, Any]], questions: dict[str, Any]) -> list[dict]:
    """The fit's question rows with each resolution as the spec now knows it."""
    out = []
    for row in rows:
        question = questions.get(row["question"])
        if question is not None and question.resolution is not None:
            row = row | {
                "resolution": question.resolution,
                "resolved_on": question.resolved_on.isoformat() if question.resolved_on else None,
            }
        out.append(row)
    return out


def _watch(indicators: IndicatorsReport | None) -> dict[str, Any] | None:
    """The items that would tell most about the answer, and what the measure assumes."""
    if indicators is None or not indicators.items:
        return None
    table = indicators.table().sort_values("bits", ascending=False).head(TOP_INDICATORS)
    texts = {item.id: item.text for item in indicators.items}
    return {
        "entries": [
            {
                "id": item,
                "kind": row["kind"],
                "text": texts[item],
                "bits": f"{row['bits']:.3f}",
                "p": percent(row["p_yes"]),
            }
            for item, row in table.iterrows()
        ],
        "more": max(0, len(indicators.items) - TOP_INDICATORS),
        "entropy": f"{indicators.entropy():.2f}",
        "best_share": percent(float(table["bits"].iloc[0]) / indicators.entropy())
        if indicators.entropy() > 0
        else None,
    }


def _caveats(spec: Spec, summary: dict[str, Any]) -> list[str]:
    """The diagnostics in plain words, what reliability means here, and hindsight."""
    out = []
    if summary["method"] == "exact":
        exact = summary.get("exact", {})
        certified = "certified" if exact.get("certified") else "not certified"
        out.append(
            f"The numbers come from the exact engine ({exact.get('method', 'exact')}; "
            f"{certified}); there are no sampler diagnostics and no draws."
        )
    else:
        d = summary["diagnostics"]
        agreement = summary.get("agreement") or {}
        health = (
            "The sampler behaved well"
            if d["ok"]
            else "The sampler's diagnostics are NOT satisfactory; treat the numbers with care"
        )
        out.append(
            f"{health}: its {summary['chains']} chains agree (largest r-hat {d['max_rhat']:.3f}; "
            f"1.01 or less is good), it has the worth of {d['min_ess_bulk']:.0f} independent "
            "draws (400 or more is good; it can exceed the draws made when they are "
            f"anti-correlated), and {d['divergences']} divergent transitions."
            + (
                " The exact engine agrees with it to within "
                f"{max(agreement['max_abs_difference'], 1e-4):.4f} in every probability."
                if agreement
                else ""
            )
        )
    out.append(RELIABILITY_CAVEAT)
    cutoff = spec.evidence_cutoff()
    undated = sorted(d.id for d in spec.documents.values() if d.document.date is None)
    judged = max(spec.judged_on).isoformat() if spec.judged_on else "unknown"
    if cutoff is None:
        where = f"unknown: {', '.join(undated)} undated" if undated else "unknown"
    else:
        where = cutoff.isoformat()
    out.append(f"Evidence cutoff {where}; judgments written up to {judged}. {HINDSIGHT_CAVEAT}")
    return out


def _annex(spec: Spec, claims: pd.DataFrame, sources: pd.DataFrame) -> list[dict[str, Any]]:
    """Every claim: its judgments P(claim | h), counted witnesses, quotes and documents."""
    out = []
    for claim in spec.claims:
        row = claims.loc[claim.id] if claim.id in claims.index else None
        out.append(
            {
                "id": claim.id,
                "kind": claim.kind,
                "date": claim.date.isoformat() if claim.date else "undated",
                "text": claim.text,
                "fact": claim.fact,
                "judgments": [
                    _judgment(p, low, high)
                    for p, low, high in zip(
                        claim.theta, claim.theta_low, claim.theta_high, strict=True
                    )
                ],
                "witnesses": len(claim.counted_attestations),
                "diagnosticity": None if row is None else f"{row['diagnosticity']:.2f}",
                "quotes": _quotes(spec, claim, counted_only=False),
                "rationale": " ".join(claim.rationale.split()) if claim.rationale else None,
            }
        )
    return out


def _judgment(point: float, low: float, high: float) -> str:
    if low == high:
        return percent(point)
    return f"{percent(point)} ({percent_range(low, high)})"


def _captions(summary: dict[str, Any], timeline_caption: str, left_out: int) -> dict[str, str]:
    marks = ["dot, the posterior mean"]
    if _has_hdi(summary):
        marks.append("thick bar, its 94 % interval")
    if summary.get("robustness"):
        marks.append("thin bar, the robust range")
    marks += ["tick, the prior", "cross, the result with a uniform prior"]
    return {
        "posterior": (
            f"P(H | E) as of {summary['as_of']}: {'; '.join(marks)}. Shaded: ICD-203 bands."
        ),
        "evidence": (
            "The evidence matrix (ACH view): each claim's log Bayes factor for each hypothesis "
            "at the posterior-mean reliabilities (+0.4 multiplies the odds by about 1.5); "
            "diagnosticity and counted witnesses at the right; claims of one fact grouped "
            "under it."
            + (
                f" {left_out} claim{'s' if left_out != 1 else ''} equally likely under every "
                "hypothesis, which move nothing, are left out (the annex lists them)."
                if left_out
                else ""
            )
        ),
        "reliability": (
            "Source reliabilities: prior against posterior, by name and grade. Sources that "
            "give only opinions enter with a fixed judgment reliability, marked as fixed; a "
            "member of an organisation is shown for what it says alone, while its reports "
            "count through the organisation."
        ),
        "timeline": timeline_caption,
        "questions": (
            "Forecast questions: P(yes) with the spread from how far the sources are trusted "
            "and the band from the evidence's judgment ranges; resolved outcomes marked."
        ),
    }


def _figures(
    spec: Spec,
    summary: dict[str, Any],
    claims: pd.DataFrame,
    sources: pd.DataFrame,
    timeline: pd.DataFrame,
    timeline_caption: str,
) -> dict[str, bytes]:
    """The briefing's figures as PNG bytes, by file name."""
    import pandas as pd

    from forecast.report import figures
    from forecast.report.plots import figure_png

    robustness = summary.get("robustness") or {}
    robust = robustness.get("robust_range", {})
    table = pd.DataFrame(summary["hypotheses"]).set_index("hypothesis")
    table["robust_low"] = [robust.get(h, {}).get("low", math.nan) for h in table.index]
    table["robust_high"] = [robust.get(h, {}).get("high", math.nan) for h in table.index]
    table[["hdi_low", "hdi_high"]] = table[["hdi_low", "hdi_high"]].astype(float)
    hypotheses = pd.DataFrame(
        {"label": [h.label for h in spec.hypotheses]}, index=list(spec.hypothesis_ids)
    )
    claim_rows = claims.copy()
    claim_rows["fact"] = claim_rows["fact"].fillna("")
    claim_rows["label"] = list(claim_rows.index)  # the ids the page and the annex use
    claim_rows = claim_rows[~_moves_nothing(claims)]
    source_rows = sources.copy()
    source_rows["name"] = [spec.sources[s].source.name for s in source_rows.index]
    drawn = {
        "posterior": figures.posterior_figure(table, title=spec.title, as_of=summary["as_of"]),
        "evidence": figures.evidence_matrix_figure(claim_rows, hypotheses),
        "reliability": figures.reliability_figure(source_rows),
        "timeline": figures.timeline_figure(timeline, hypotheses, caption=timeline_caption),
    }
    stored = summary.get("questions")
    if stored and stored["questions"]:
        questions = {q.id: q for q in spec.questions}
        rows = pd.DataFrame(_resolved_as_now(stored["questions"], questions))
        rows = rows.set_index("question")
        numbers = [c for c in rows.columns if c.endswith(("_low", "_high")) or c == "p_yes"]
        rows[numbers] = rows[numbers].astype(float)  # JSON's null (no draws) becomes NaN
        drawn["questions"] = figures.questions_figure(rows)
    return {FIGURE_FILES[key]: figure_png(fig, dpi=FIGURE_DPI) for key, fig in drawn.items()}


def timeline_caption(kind: str, as_of: str) -> str:
    """What the timeline shows: the updates as recorded, or the claims in date order."""
    if kind == "updates":
        return (
            "P(H) before the first update and after each, as the ledger recorded them "
            f"(evidence as of {as_of})."
        )
    return (
        "P(H) from the prior (pooled over the analysts' own priors) as the claims are added "
        "in the order of the events they describe, undated claims first, by the exact engine; "
        "the steps are not evenly spaced in time. No update is recorded yet. Evidence dated up "
        f"to {as_of}."
    )
