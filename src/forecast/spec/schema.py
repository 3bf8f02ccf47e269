"""The spec: what an analyst writes (file schemas) and what the engines read (validated records).

File schemas are pydantic models, so a wrong type, a missing or an unknown field is reported
with its exact location. Records are frozen dataclasses built by ``validate.py`` after every
cross-file rule has passed. Nothing here knows about PyMC.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from forecast.constants import (
    ADMIRALTY_GRADES,
    BETA_PARAMETER_RANGE,
    ICD203_BANDS,
    ID_PATTERN,
    MIN_SAY_ANYWAY,
)

Id = Annotated[
    str,
    StringConstraints(pattern=f"^{ID_PATTERN}$", max_length=80),
    Field(description="lowercase letters, digits, '-' and '_'"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

WORD_TO_BAND = {band.word: band for band in ICD203_BANDS} | {
    alias: band for band in ICD203_BANDS for alias in band.aliases
}


def _finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return float(value)


@dataclass(frozen=True)
class Judgment:
    """P(claim true | hypothesis) as written: a word, a number or a range, and its point value."""

    raw: Any
    point: float
    low: float
    high: float
    word: str | None = None


def parse_judgment(value: Any) -> Judgment:
    """Read an ICD-203 word, a number in [0, 1] or a range [lo, hi] into a :class:`Judgment`."""
    if isinstance(value, Judgment):
        return value
    if isinstance(value, str | float | int) and not isinstance(value, bool):
        return _parse_scalar_judgment(value, type(value))
    return _parse_judgment(value)


@functools.lru_cache(maxsize=4096)
def _parse_scalar_judgment(value: str | float | int, kind: type) -> Judgment:
    """A word or a number: the same few recur thousands of times in a large project."""
    return _parse_judgment(value)


def _parse_judgment(value: Any) -> Judgment:
    if isinstance(value, str):
        word = " ".join(value.lower().split())
        band = WORD_TO_BAND.get(word)
        if band is None:
            near = difflib.get_close_matches(word, list(WORD_TO_BAND), n=1, cutoff=0.0)
            raise ValueError(f"unknown ICD-203 word {value!r} (did you mean {near[0]!r}?)")
        return Judgment(value, band.point, band.low, band.high, band.word)
    number = _finite_number(value)
    if number is not None:
        if not 0.0 <= number <= 1.0:
            raise ValueError(f"probability {value} is outside [0, 1]")
        return Judgment(value, number, number, number)
    if isinstance(value, list | tuple) and len(value) == 2:
        low, high = (_finite_number(v) for v in value)
        if low is None or high is None:
            raise ValueError(f"range {value} must hold two numbers")
        if not (0.0 <= low <= 1.0 and 0.0 <= high <= 1.0):
            raise ValueError(f"range {list(value)} is outside [0, 1]")
        if low > high:
            raise ValueError(f"range {list(value)} has lo > hi")
        return Judgment(list(value), (low + high) / 2, low, high)
    raise ValueError(
        f"{value!r} is not an ICD-203 word, a probability in [0, 1] or a range [lo, hi]"
    )


def _parse_date(value: Any) -> dt.date:
    """An ISO date, YYYY-MM-DD: YAML reads one unquoted as a date, quoted as text."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value) if isinstance(value, dt.datetime) else value
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(f"date {text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"date {text!r} is not a calendar date ({exc})") from None


IsoDate = Annotated[dt.date, BeforeValidator(_parse_date)]

JudgmentValue = Annotated[
    Judgment, BeforeValidator(parse_judgment), PlainSerializer(lambda j: j.raw)
]


def _bounded(low: float, high: float, *, open_low: bool, open_high: bool, what: str):
    """A validator for a number in an interval, with a message that names the interval."""
    interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def check(value: Any) -> float:
        number = _finite_number(value)
        if number is None:
            raise ValueError(f"{what} must be a number in {interval}, not {value!r}")
        if (number < low or (open_low and number == low)) or (
            number > high or (open_high and number == high)
        ):
            raise ValueError(f"{what} {value} is outside {interval}")
        return number

    return BeforeValidator(check)


Probability = Annotated[
    float, _bounded(0.0, 1.0, open_low=False, open_high=False, what="probability")
]
Reliability = Annotated[
    float, _bounded(0.0, 1.0, open_low=False, open_high=True, what="reliability")
]
SayAnyway = Annotated[
    float, _bounded(MIN_SAY_ANYWAY, 1.0, open_low=False, open_high=False, what="rate")
]
BetaParameter = Annotated[
    float, _bounded(*BETA_PARAMETER_RANGE, open_low=False, open_high=False, what="parameter")
]


def _parse_reliability(value: Any) -> Any:
    """A fixed reliability in [0, 1), or Beta parameters ``{alpha, beta}``."""
    if isinstance(value, dict | BetaPrior):
        return value
    number = _finite_number(value)
    if number is None:
        raise ValueError(
            f"reliability must be a number in [0, 1) or {{alpha, beta}}, not {value!r}"
        )
    if not 0.0 <= number < 1.0:
        raise ValueError(f"reliability {value} is outside [0, 1)")
    return number


class Schema(BaseModel):
    """Base of every file schema: unknown fields are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Hypothesis(Schema):
    """One rival answer to the explanandum."""

    id: Id
    label: Text
    description: Text
    proposed_in: list[Id] = []
    prior: Probability
    prior_rationale: Text


class Document(Schema):
    """A source text: a file (``path``) or, in an update file, the text inline (``text``)."""

    id: Id
    path: Text | None = None
    text: Text | None = None
    title: Text
    author: Text
    outlet: Text | None = None
    date: IsoDate | None = None
    url: Text | None = None
    derived_from: Id | None = None
    note: Text | None = None


class BetaPrior(Schema):
    """Beta(alpha, beta) prior on a source's reporting reliability."""

    alpha: BetaParameter
    beta: BetaParameter


class Source(Schema):
    """A witness whose words are quoted: an author, a commenter, an official."""

    id: Id
    name: Text
    role: Text | None = None
    grade: Literal["A", "B", "C", "D", "E", "F"]
    grade_rationale: Text
    reliability: Annotated[float | BetaPrior | None, BeforeValidator(_parse_reliability)] = None
    judgment_reliability: Reliability | None = None
    #: The organisation whose line this source voices: in the likelihood it counts as that
    #: source, with that source's reliability (one level only).
    speaks_for: Id | None = None


class Window(Schema):
    """The period the explanandum covers."""

    start: IsoDate
    end: IsoDate


class Question(Schema):
    """A forecast question; resolving it adds an ``outcome`` claim.

    ``criteria``, ``opened``, ``written_on`` and ``rationales`` are optional so that older
    model files load; ``forecast check`` warns at a question without them, since a stranger
    could not resolve it or place its forecast in time.
    """

    id: Id
    text: Text
    resolve_by: IsoDate
    judgments: dict[str, JudgmentValue]
    criteria: Text | None = None
    opened: IsoDate | None = None
    written_on: IsoDate | None = None
    rationales: dict[str, Text] = {}


class Indicator(Schema):
    """Something to watch or collect: P(observed | h) per hypothesis; never resolved."""

    id: Id
    text: Text
    judgments: dict[str, JudgmentValue]
    rationale: Text | None = None


class ModelFile(Schema):
    """``models/<name>.yaml``: the explanandum, hypotheses with priors, documents and sources."""

    name: Id
    title: Text
    explanandum: Text
    background: Text
    window: Window | None = None
    hypotheses: Annotated[list[Hypothesis], Field(min_length=2)]
    documents: list[Document] = []
    sources: list[Source] = []
    questions: list[Question] = []
    indicators: list[Indicator] = []
    facts: list[Fact] = []


class Attestation(Schema):
    """A verbatim quote by which a source asserts a claim."""

    id: Id
    source: Id
    document: Id
    quote: Text
    say_anyway: SayAnyway | None = None
    restates: Id | None = None


class StandaloneAttestation(Attestation):
    """An attestation of a claim defined elsewhere (new reporting of a known claim)."""

    claim: Id


ClaimKind = Literal["act", "statement", "opinion", "outcome"]


def _yes_or_no(value: Any) -> Any:
    """YAML 1.1 reads an unquoted ``yes`` or ``no`` as a boolean: take it back as the word."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


Resolution = Annotated[Literal["yes", "no"], BeforeValidator(_yes_or_no)]


class Fact(Schema):
    """A state of the world that several claims are signs of: P(fact holds | h) per hypothesis.

    Its claims give P(claim true | fact holds) and P(claim true | fact does not hold), and
    enter the likelihood together, so the one state is counted once.
    """

    id: Id
    text: Text
    rationale: Text
    judgments: dict[str, JudgmentValue]


class Claim(Schema):
    """What is asserted, with P(claim true | h) for every hypothesis and its attestations."""

    id: Id
    kind: ClaimKind
    text: Text
    date: IsoDate | None = None
    #: The fact this claim is a sign of; its judgments are then ``if_true`` and ``if_false``.
    fact: Id | None = None
    judgments: dict[str, JudgmentValue] = {}
    rationale: Text | None = None
    contradicts: list[Id] = []
    attestations: list[Attestation] = []
    question: Id | None = None
    resolution: Resolution | None = None


class EvidenceFile(Schema):
    """``evidence/*.yaml``: claims with attestations, and attestations of existing claims."""

    model: Id
    judged_by: Text
    judged_on: IsoDate
    documents: list[Document] = []
    sources: list[Source] = []
    facts: list[Fact] = []
    claims: list[Claim] = []
    attestations: list[StandaloneAttestation] = []


class AnalystPrior(Schema):
    """An analyst's own prior for one hypothesis, and why."""

    prior: Probability
    rationale: Text


class JudgmentFile(Schema):
    """``judgments/<analyst>.yaml``: one analyst's own judgments of a model's claims and facts.

    A claim is judged as in an evidence file (a word, number or range per hypothesis, or
    ``if_true`` and ``if_false`` for a claim in a fact); a claim whose judgments are all
    ``null`` counts as not judged, so a template can be filled in part.
    """

    model: Id
    judged_by: Text
    judged_on: IsoDate
    blind: bool
    claims: dict[Id, dict[str, JudgmentValue | None]] = {}
    facts: dict[Id, dict[str, JudgmentValue | None]] = {}
    priors: dict[Id, AnalystPrior] = {}


# --- validated records -------------------------------------------------------------------


class Where:
    """A place in a spec file: its path, and its line, looked up only when first asked for.

    A project that passes every check never needs most lines; finding them means reading the
    file's text again, which a large project should not pay for on every run.
    """

    __slots__ = ("_find_line", "_line", "path")

    def __init__(self, path: str, line: int | Callable[[], int]):
        self.path = path
        self._line = line if isinstance(line, int) else None
        self._find_line = None if isinstance(line, int) else line

    @property
    def line(self) -> int:
        """The 1-based line."""
        if self._line is None:
            assert self._find_line is not None
            self._line, self._find_line = self._find_line(), None
        return self._line

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"

    def __repr__(self) -> str:
        return f"Where({self.path!r}, {self.line})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Where):
            return NotImplemented
        return (self.path, self.line) == (other.path, other.line)

    def __hash__(self) -> int:
        return hash((self.path, self.line))


@dataclass(frozen=True)
class DocumentRecord:
    """A document with its text loaded and where it was declared."""

    document: Document
    text: str
    display_path: str
    where: Where

    @property
    def id(self) -> str:
        """The document id."""
        return self.document.id


@dataclass(frozen=True)
class SourceRecord:
    """A source with its reliability prior resolved from grade or explicit values."""

    source: Source
    where: Where
    fixed_reliability: float | None
    alpha: float
    beta: float
    judgment_reliability: float

    @property
    def id(self) -> str:
        """The source id."""
        return self.source.id

    @property
    def sampled(self) -> bool:
        """Whether the reporting reliability is a free parameter."""
        return self.fixed_reliability is None

    @property
    def prior_mean(self) -> float:
        """Prior mean of the reporting reliability."""
        if self.fixed_reliability is not None:
            return self.fixed_reliability
        return self.alpha / (self.alpha + self.beta)

    @classmethod
    def resolve(cls, source: Source, where: Where) -> SourceRecord:
        """Resolve the reliability prior: explicit number or Beta, else the grade's defaults."""
        grade = ADMIRALTY_GRADES[source.grade]
        fixed = None
        alpha, beta = grade.alpha, grade.beta
        if isinstance(source.reliability, BetaPrior):
            alpha, beta = source.reliability.alpha, source.reliability.beta
        elif source.reliability is not None:
            fixed = float(source.reliability)
        judgment = source.judgment_reliability
        if judgment is None:
            judgment = grade.judgment_reliability
        return cls(source, where, fixed, alpha, beta, float(judgment))


@dataclass(frozen=True, slots=True)
class AttestationRecord:
    """A verified attestation; ``counted`` is False for restatements and repeated witnesses."""

    id: str
    claim_id: str
    source_id: str
    document_id: str
    quote: str
    say_anyway: float
    restates: str | None
    where: Where
    found_at: str
    counted: bool
    not_counted_because: str | None = None
    #: Who testifies in the likelihood: the source, or the organisation it speaks for.
    witness_id: str = ""


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """A validated claim: judgments as vectors in hypothesis order, and its attestations."""

    id: str
    kind: str
    text: str
    date: dt.date | None
    theta: tuple[float, ...]
    theta_low: tuple[float, ...]
    theta_high: tuple[float, ...]
    is_opinion: bool
    directly_asserts: bool
    contradicts: tuple[str, ...]
    question: str | None
    resolution: str | None
    where: Where
    attestations: tuple[AttestationRecord, ...]
    #: In a fact: its id, and P(claim true | fact holds) and P(claim true | it does not).
    #: ``theta`` is then the implied phi_h * if_true + (1 - phi_h) * if_false.
    fact: str | None = None
    if_true: float | None = None
    if_false: float | None = None
    #: In a fact: the written [low, high] of ``if_true`` and ``if_false`` (equal ends for a
    #: plain number or a word, whose band the sensitivity analysis finds itself).
    if_true_range: tuple[float, float] | None = None
    if_false_range: tuple[float, float] | None = None
    #: Per hypothesis, the first hypothesis whose judgment was written with it, by one
    #: ``otherwise`` or one word: such cells are one judgment and move together in a
    #: sensitivity analysis (empty: every cell is its own).
    theta_ties: tuple[int, ...] = ()
    #: Why the analyst judged it so, as written (None when not written).
    rationale: str | None = None

    @property
    def counted_attestations(self) -> tuple[AttestationRecord, ...]:
        """Attestations that enter the likelihood: one per distinct, non-derived witness."""
        return tuple(a for a in self.attestations if a.counted)


@dataclass(frozen=True)
class FactRecord:
    """A validated fact: P(fact holds | h) in hypothesis order, and the claims that are signs."""

    id: str
    text: str
    phi: tuple[float, ...]
    claims: tuple[str, ...]
    where: Where
    #: The written [low, high] of each phi (equal ends for a plain number or a word).
    phi_low: tuple[float, ...] = ()
    phi_high: tuple[float, ...] = ()
    #: Per hypothesis, the first hypothesis whose phi was written with it, by one
    #: ``otherwise`` or one word (empty: every cell is its own).
    phi_ties: tuple[int, ...] = ()


@dataclass(frozen=True)
class QuestionRecord:
    """A validated forecast question or indicator: P(yes | h) in hypothesis order.

    ``theta_low`` and ``theta_high`` are the written ranges' ends (equal for a number or a
    word); ``resolution`` is "yes" or "no" once an outcome claim resolves the question.
    An indicator has no ``resolve_by``, ``opened``, ``written_on`` or ``criteria``.
    """

    id: str
    kind: Literal["question", "indicator"]
    text: str
    theta: tuple[float, ...]
    theta_low: tuple[float, ...]
    theta_high: tuple[float, ...]
    where: Where
    rationales: dict[str, str] = dataclass_field(default_factory=dict)
    criteria: str | None = None
    opened: dt.date | None = None
    written_on: dt.date | None = None
    resolve_by: dt.date | None = None
    resolution: str | None = None
    resolved_on: dt.date | None = None

    @property
    def retrospective(self) -> bool:
        """Written after the date it is asked as of: shown, never scored as skill."""
        return (
            self.written_on is not None
            and self.opened is not None
            and self.written_on > self.opened
        )

    @property
    def version(self) -> str:
        """sha256 of the wording and the judgments: a change to either is a new version."""
        import hashlib
        import json

        payload = {
            "text": self.text,
            "criteria": self.criteria,
            "resolve_by": None if self.resolve_by is None else self.resolve_by.isoformat(),
            "theta": [self.theta, self.theta_low, self.theta_high],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class AnalystRecord:
    """One analyst's judgments from ``judgments/<id>.yaml``, validated.

    Vectors are in hypothesis order, as (points, lows, highs); a claim or fact the file does
    not judge keeps the evidence files' judgment in this analyst's posterior.
    """

    id: str
    judged_by: str
    judged_on: dt.date
    blind: bool
    path: str
    #: Plain claims judged: claim id -> (points, lows, highs).
    theta: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]]
    #: Claims in facts judged: claim id -> ((if_true point, low, high), (if_false ...)).
    signs: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]]
    #: Facts judged: fact id -> (points, lows, highs).
    phi: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]]
    #: The analyst's own priors in hypothesis order, or None (the model's).
    prior: tuple[float, ...] | None = None
    prior_rationale: dict[str, str] = dataclass_field(default_factory=dict)

    @property
    def judged(self) -> frozenset[str]:
        """Ids of the claims and facts this analyst judged."""
        return frozenset(self.theta) | frozenset(self.signs) | frozenset(self.phi)


@dataclass(frozen=True)
class Spec:
    """A validated model with all its evidence, ready for the engines."""

    name: str
    title: str
    explanandum: str
    model_path: str
    hypotheses: tuple[Hypothesis, ...]
    documents: dict[str, DocumentRecord]
    sources: dict[str, SourceRecord]
    claims: tuple[ClaimRecord, ...]
    evidence_files: tuple[str, ...]
    warnings: tuple[Any, ...]
    sha256: str
    facts: tuple[FactRecord, ...] = ()
    #: Analysts with judgment files (``judgments/``); the evidence files are one more.
    analysts: tuple[AnalystRecord, ...] = ()
    #: The evidence files' ``judged_by`` values, the evidence analyst's names.
    evidence_judged_by: tuple[str, ...] = ()
    #: Forecast questions and indicators of the model file, in file order.
    questions: tuple[QuestionRecord, ...] = ()
    indicators: tuple[QuestionRecord, ...] = ()
    #: Every ``judged_on`` of the evidence files and the judgment files.
    judged_on: tuple[dt.date, ...] = ()

    def evidence_cutoff(self) -> dt.date | None:
        """The latest date of the documents the evidence uses; None if one is undated.

        Computed, never typed: a forecast made from this spec could have known nothing later.
        """
        dates = [d.document.date for d in self.documents.values()]
        if not dates or any(date is None for date in dates):
            return None
        return max(dates)

    @property
    def hypothesis_ids(self) -> tuple[str, ...]:
        """Hypothesis ids in model order."""
        return tuple(h.id for h in self.hypotheses)

    @property
    def priors(self) -> tuple[float, ...]:
        """Prior probabilities in hypothesis order."""
        return tuple(h.prior for h in self.hypotheses)

    @property
    def judgeable(self) -> tuple[str, ...]:
        """Ids of what an analyst judges: every claim but outcomes, and every fact."""
        claims = tuple(c.id for c in self.claims if c.kind != "outcome")
        return claims + tuple(f.id for f in self.facts)

    @property
    def attestations(self) -> tuple[AttestationRecord, ...]:
        """Every attestation, in claim then attestation id order."""
        return tuple(a for c in self.claims for a in c.attestations)

    def as_of(self) -> dt.date | None:
        """The latest date among the claims and documents: what the assessment is current to."""
        dates = [c.date for c in self.claims if c.date is not None]
        dates += [d.document.date for d in self.documents.values() if d.document.date]
        return max(dates) if dates else None
