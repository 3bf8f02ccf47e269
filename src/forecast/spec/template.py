"""A judgment file ready to fill: every claim and fact of a model, judgments left empty.

For each claim the template gives its text, and its quotes with their sources and documents,
as YAML comments, so an analyst can judge from the file alone. With ``blind`` it carries no
number from any analyst; without, each claim's evidence judgments are shown as a comment.
"""

from __future__ import annotations

import textwrap

from forecast.constants import ICD203_BANDS, IF_FALSE_KEY, IF_TRUE_KEY
from forecast.spec.schema import Spec


def _comment(text: str, indent: str) -> list[str]:
    """Text as comment lines, one per line of the text."""
    return [f"{indent}# {line}".rstrip() for line in text.splitlines() or [""]]


#: An ICD-203 band's ends, for showing a judgment written as a word as that word.
_WORDS = {(band.low, band.high): band.word for band in ICD203_BANDS}


def _value(point: float, low: float, high: float) -> str:
    """A judgment as it reads: a number, the word whose band it spans, or a range."""
    if low == high:
        return f"{point:g}"
    return _WORDS.get((low, high), f"[{low:g}, {high:g}]")


def _written(
    values: tuple[float, ...],
    lows: tuple[float, ...],
    highs: tuple[float, ...],
    ids: tuple[str, ...],
) -> str:
    """Judgments per hypothesis, as a comment shows them."""
    cells = zip(ids, values, lows, highs, strict=True)
    return ", ".join(f"{h} {_value(point, low, high)}" for h, point, low, high in cells)


def judgment_template(spec: Spec, *, blind: bool) -> str:
    """The text of a judgment file for ``spec``'s claims and facts, every judgment null."""
    ids = spec.hypothesis_ids
    lines = [
        f"# Judgments of model {spec.name}: {spec.title}",
        *_comment(f"Explanandum: {spec.explanandum}", ""),
        "#",
        "# Give P(claim true | hypothesis) for every hypothesis: an ICD-203 word, a number in",
        "# [0, 1] or a range [low, high]; 'otherwise' covers the hypotheses not named. A claim",
        f"# that is a sign of a fact takes {IF_TRUE_KEY} and {IF_FALSE_KEY}; a fact takes "
        "P(fact holds | h).",
        "# Leave a claim's values all null to keep it unjudged. Save the file as",
        "# judgments/<your-id>.yaml in the project and run 'forecast check'.",
        "#",
        "# Hypotheses:",
    ]
    for h in spec.hypotheses:
        lines.append(f"#   {h.id}: {h.label}")
        lines += [f"#     {line}" for line in textwrap.wrap(" ".join(h.description.split()), 84)]
    lines += [
        "",
        f"model: {spec.name}",
        "judged_by: null  # your name",
        "judged_on: null  # the date you judged, YYYY-MM-DD",
        f"blind: {'true' if blind else 'false'}  # judged without seeing others' numbers",
        "claims:",
    ]
    for claim in sorted(spec.claims, key=lambda c: c.id):
        if claim.kind == "outcome":
            continue  # judged through its question
        lines.append(f"  {claim.id}:")
        lines += _comment(f"{claim.kind}: {claim.text}", "    ")
        if claim.fact is not None:
            lines += _comment(f"a sign of fact {claim.fact}", "    ")
        for att in claim.attestations:
            quote = " ".join(att.quote.split())
            lines += _comment(f'"{quote}" ({att.source_id}, in {att.document_id})', "    ")
        if not blind:
            written = (
                f"{IF_TRUE_KEY} {claim.if_true:g}, {IF_FALSE_KEY} {claim.if_false:g}"
                if claim.fact is not None
                else _written(claim.theta, claim.theta_low, claim.theta_high, ids)
            )
            lines += _comment(f"evidence judgments: {written}", "    ")
        keys = (IF_TRUE_KEY, IF_FALSE_KEY) if claim.fact is not None else ids
        lines += [f"    {key}: null" for key in keys]
    if spec.facts:
        lines.append("facts:")
    for fact in spec.facts:
        lines.append(f"  {fact.id}:")
        lines += _comment(f"{fact.text} (signs: {', '.join(fact.claims)})", "    ")
        if not blind:
            phi = _written(fact.phi, fact.phi_low or fact.phi, fact.phi_high or fact.phi, ids)
            lines += _comment(f"evidence judgments: {phi}", "    ")
        lines += [f"    {h}: null" for h in ids]
    return "\n".join(lines) + "\n"
