"""Every rule a spec must pass, in one place; every problem is reported with file, line and field.

:func:`load_spec` reads the model file, every evidence file naming the model, and the documents
they quote; it returns a validated :class:`~forecast.spec.Spec` or raises
:class:`~forecast.errors.SpecError` listing all problems at once.
"""

from __future__ import annotations

import difflib
import gc
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ValidationError

from forecast.constants import (
    EVIDENCE_ANALYST,
    FORECAST_RANGE,
    ID_PATTERN,
    IF_FALSE_KEY,
    IF_TRUE_KEY,
    MAX_DOCUMENT_BYTES,
    NEAR_DUPLICATE_SIMILARITY,
    OPINION_LR_CAP,
    OTHERWISE_KEY,
    PRIOR_SUM_TOLERANCE,
    SAY_ANYWAY_DEFAULTS,
    SHINGLE_WORDS,
    SOURCE_OPINION_LR_CAP,
    SUGGESTION_CUTOFF,
)
from forecast.errors import Problem, SpecError
from forecast.spec.layout import Layout, display_path, find_root
from forecast.spec.loading import LoadedYaml, format_loc, load_yaml, read_text_limited
from forecast.spec.quotes import (
    NormalizedText,
    closest_passage,
    find_quote,
    jaccard,
    normalize,
    shingles,
)
from forecast.spec.schema import (
    AnalystRecord,
    AttestationRecord,
    Claim,
    ClaimRecord,
    Document,
    DocumentRecord,
    EvidenceFile,
    FactRecord,
    Hypothesis,
    Judgment,
    JudgmentFile,
    ModelFile,
    Question,
    QuestionRecord,
    SourceRecord,
    Spec,
    Where,
)
from forecast.witness import one_claim_log_likelihood

SchemaT = TypeVar("SchemaT", bound=BaseModel)


@dataclass(frozen=True)
class EvidenceInput:
    """An evidence file outside ``evidence/`` (an update), with where its documents may live."""

    path: Path
    documents_dir: Path


# --- parsing ------------------------------------------------------------------------------


def _pydantic_problems(
    loaded: LoadedYaml, exc: ValidationError, schema: type[BaseModel]
) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = _data_loc(loaded.data, error["loc"])
        if _scalar_member_of_a_mapping(loaded.data, loc, error["loc"]):
            continue
        kind = error["type"]
        if kind == "missing":
            message = "missing field"
        elif kind == "extra_forbidden":
            message = _unknown_field(schema, error["loc"])
        else:
            message = error["msg"].removeprefix("Value error, ")
        problems.append(loaded.problem(loc, message))
    return problems


#: pydantic's tags for the scalar members of a union (``float | BetaPrior``).
_SCALAR_TAGS = frozenset({"float", "int", "str", "bool"})


def _scalar_member_of_a_mapping(data: Any, loc: tuple[str | int, ...], raw: Sequence[Any]) -> bool:
    """Whether an error is a union's scalar member refusing a mapping that another member took.

    ``reliability: {alpha: 2, beta: 0}`` is a Beta prior with a bad parameter, and that is
    the error to show; "not a number" from the ``float`` member would only confuse.
    """
    if not raw or raw[-1] not in _SCALAR_TAGS:
        return False
    node = data
    for part in loc:
        if not isinstance(node, dict | list) or (isinstance(node, dict) and part not in node):
            break
        node = node[part]
    return isinstance(node, dict)


def _data_loc(data: Any, loc: Sequence[Any]) -> tuple[str | int, ...]:
    """Keep the part of a pydantic location that addresses the data (drop union tags)."""
    out: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node and i < len(loc) - 1:
                continue  # a union tag: the data is still the same mapping
            out.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        else:
            break
    return tuple(out)


def _unknown_field(schema: type[BaseModel], loc: Sequence[Any]) -> str:
    """``unknown field``, listing the fields allowed there and guessing the intended one."""
    model = _schema_at(schema, loc[:-1])
    if model is None:
        return "unknown field"
    fields = list(model.model_fields)
    near = difflib.get_close_matches(str(loc[-1]), fields, n=1, cutoff=SUGGESTION_CUTOFF)
    guess = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown field ({guess}valid: {', '.join(fields)})"


def _schema_at(schema: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The schema class at a pydantic error location, following lists, dicts and union tags."""
    node: Any = schema
    for part in loc:
        node = _schema_child(_plain_type(node), part)
        if node is None:
            return None
    node = _plain_type(node)
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _schema_child(node: Any, part: str | int) -> Any:
    """The type one step down from ``node`` along a location part (None if it has none)."""
    if isinstance(node, type) and issubclass(node, BaseModel):
        info = node.model_fields.get(part) if isinstance(part, str) else None
        return None if info is None else info.annotation
    origin, args = get_origin(node), get_args(node)
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict and isinstance(part, str):
        return args[1]
    if origin in (Union, UnionType):  # pydantic tags a union member with its type's name
        return next((a for a in args if getattr(a, "__name__", None) == part), None)
    return None


def _plain_type(node: Any) -> Any:
    """Strip ``Annotated`` and ``| None``, which add no part to a pydantic location."""
    while True:
        if get_origin(node) is Annotated:
            node = get_args(node)[0]
            continue
        if get_origin(node) in (Union, UnionType):
            members = [a for a in get_args(node) if a is not type(None)]
            if len(members) == 1:
                node = members[0]
                continue
        return node


def parse_file(loaded: LoadedYaml, schema: type[SchemaT]) -> SchemaT:
    """Validate loaded YAML against a file schema, raising located problems."""
    if not isinstance(loaded.data, dict):
        raise SpecError([loaded.problem((), "expected a mapping of fields at the top level")])
    try:
        return schema.model_validate(loaded.data)
    except ValidationError as exc:
        raise SpecError(_pydantic_problems(loaded, exc, schema)) from None


# --- the checker --------------------------------------------------------------------------

#: Judgments of a claim as vectors in hypothesis order: points, lows and highs.
Theta = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]


@dataclass
class _File:
    loaded: LoadedYaml
    parsed: EvidenceFile | ModelFile
    documents_dir: Path


@dataclass(slots=True)
class _Entry:
    """A declared item with the file and location it came from."""

    item: Any
    file: _File
    loc: tuple[str | int, ...]

    _where: Where | None = None

    @property
    def where(self) -> Where:
        if self._where is None:  # kept: a place is asked for often (a plain attribute, no lock)
            loaded, loc = self.file.loaded, self.loc
            self._where = Where(loaded.display, lambda: loaded.line(loc))
        return self._where

    def problem(self, field_name: str | tuple[str | int, ...], message: str) -> Problem:
        tail = field_name if isinstance(field_name, tuple) else (field_name,)
        loc = (*self.loc, *tail)
        return Problem(self.where.path, self.file.loaded.line(loc), format_loc(loc), message)


#: Messages about an id that an evidence file could declare (claims, attestations, sources,
#: documents): not reported while such a file fails to parse.
_UNKNOWN_DECLARED = re.compile(r"unknown (claim|attestation|source|document) '")


@dataclass
class _Checker:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: An evidence file failed to parse: what it declares is unknown, not missing.
    unread_evidence: bool = False

    def add(self, problem: Problem) -> None:
        if self.unread_evidence and _UNKNOWN_DECLARED.match(problem.message):
            return  # it may be declared in the file that did not parse
        self.problems.append(problem)

    def registry(self, entries: Iterable[_Entry], what: str) -> dict[str, _Entry]:
        """Index entries by id, reporting duplicates (across files too) at the later one."""
        seen: dict[str, _Entry] = {}
        for entry in entries:
            first = seen.get(entry.item.id)
            if first is not None:
                self.add(
                    entry.problem(
                        "id", f"{what} id {entry.item.id!r} is already used at {first.where}"
                    )
                )
                continue
            seen[entry.item.id] = entry
        return seen


@dataclass
class _Registries:
    """Every declared item by id, from the model file and every evidence file."""

    model_file: _File
    hypotheses: dict[str, _Entry]
    documents: dict[str, _Entry]
    sources: dict[str, _Entry]
    questions: dict[str, _Entry]
    claims: dict[str, _Entry]
    attestations: dict[str, _Entry]
    #: The claim each attestation attests (inline under the claim, or by its ``claim:``).
    claim_of: dict[str, str]
    facts: dict[str, _Entry] = field(default_factory=dict)
    indicators: dict[str, _Entry] = field(default_factory=dict)

    @property
    def model(self) -> ModelFile:
        model = self.model_file.parsed
        assert isinstance(model, ModelFile)
        return model


@dataclass
class _Resolved:
    """What the rules have established so far, for the rules that come after them."""

    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    texts: dict[str, NormalizedText] = field(default_factory=dict)
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    thetas: dict[str, Theta] = field(default_factory=dict)
    #: Attestation id → where its quote was found, for attestations that passed every check.
    verified: dict[str, str] = field(default_factory=dict)
    #: (source, claim) → the pair's "say anyway" rate and the attestation that set it.
    rates: dict[tuple[str, str], tuple[float, _Entry]] = field(default_factory=dict)
    #: Fact id → P(fact holds | h), for facts whose judgments resolved.
    phis: dict[str, Theta] = field(default_factory=dict)
    #: Claim id → (fact, P(claim | fact holds), P(claim | fact does not hold)).
    fact_of: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    #: Claim id → the written [low, high] of its if_true and of its if_false.
    fact_ranges: dict[str, tuple[tuple[float, float], tuple[float, float]]] = field(
        default_factory=dict
    )


def _ancestors(document_id: str, documents: dict[str, DocumentRecord]) -> list[str]:
    out, current = [], documents[document_id].document.derived_from
    while current is not None and current in documents and current not in out:
        out.append(current)
        current = documents[current].document.derived_from
    return out


def _unknown(what: str, value: str, known: Iterable[str], itself: str | None = None) -> str:
    """``unknown <what> 'value'``, naming the closest known id (not ``itself``) if one is close."""
    return f"unknown {what} {value!r}" + _did_you_mean(value, [k for k in known if k != itself])


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing if none is close."""
    near = difflib.get_close_matches(value, list(known), n=1, cutoff=SUGGESTION_CUTOFF)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _is_zero_one(theta: Sequence[float]) -> bool:
    return all(t in (0.0, 1.0) for t in theta)


def _is_opinion(kind: str, theta: Sequence[float]) -> bool:
    """Whether a claim is judged as an opinion (a stated motive is one, whatever it is called)."""
    return kind == "opinion" or (kind == "statement" and _is_zero_one(theta))


def load_spec(model_path: Path, extra: Sequence[EvidenceInput] = ()) -> Spec:
    """Load, validate and resolve a model and all its evidence; raise SpecError on any problem.

    Parameters
    ----------
    model_path
        ``models/<name>.yaml`` inside a project folder.
    extra
        Evidence files outside ``evidence/`` (an update), checked against everything else.
    """
    with _cycle_collector_paused():
        return _load_spec(Path(model_path), extra)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a spec is read, and restore it afterwards.

    Reading builds millions of small objects and no reference cycles; each full pass of the
    collector walks all of them, which took a third of the time of a 100 000-claim check.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_spec(model_path: Path, extra: Sequence[EvidenceInput]) -> Spec:
    layout = Layout(find_root(model=model_path))
    checker = _Checker(layout.root)
    seeds = layout.seeds

    files: list[_File] = []
    model_file: _File | None = None
    try:
        loaded = load_yaml(model_path, display_path(model_path))
        model = parse_file(loaded, ModelFile)
        model_file = _File(loaded.without_data(), model, seeds)
        files.append(model_file)
    except SpecError as exc:
        checker.problems.extend(exc.problems)

    model_names = {p.stem for p in layout.model_files()}
    if model_file is not None:
        model_names.add(model_file.parsed.name)
    inputs = [(p, seeds, False) for p in layout.evidence_files()]
    inputs += [(e.path, e.documents_dir, True) for e in extra]
    for path, documents_dir, must_match in inputs:
        try:
            loaded = load_yaml(path, display_path(path))
            evidence = parse_file(loaded, EvidenceFile)
        except SpecError as exc:
            checker.problems.extend(exc.problems)
            checker.unread_evidence = True
            continue
        if model_file is not None and evidence.model != model_file.parsed.name:
            if must_match:
                checker.add(
                    loaded.problem(
                        ("model",),
                        f"names model {evidence.model!r}, not {model_file.parsed.name!r}",
                    )
                )
            elif evidence.model not in model_names:
                # Evidence of another model of the project belongs to it; evidence of none is
                # most likely a typo, and it would otherwise drop out without a word.
                checker.warnings.append(
                    loaded.problem(
                        ("model",),
                        f"names model {evidence.model!r}, which no file in models/ defines"
                        f"{_did_you_mean(evidence.model, model_names)}; this file is not read",
                    )
                )
            continue
        if not evidence.claims and not evidence.attestations:
            checker.add(loaded.problem((), "evidence file has neither claims nor attestations"))
        files.append(_File(loaded.without_data(), evidence, documents_dir))

    judgment_inputs: list[_JudgmentInput] = []
    for path in layout.judgment_files():
        try:
            loaded = load_yaml(path, display_path(path))
            judged = parse_file(loaded, JudgmentFile)
        except SpecError as exc:
            checker.problems.extend(exc.problems)
            continue
        if model_file is not None and judged.model != model_file.parsed.name:
            if judged.model not in model_names:
                checker.warnings.append(
                    loaded.problem(
                        ("model",),
                        f"names model {judged.model!r}, which no file in models/ defines"
                        f"{_did_you_mean(judged.model, model_names)}; this file is not read",
                    )
                )
            continue
        judgment_inputs.append(_JudgmentInput(path.stem, loaded, judged))

    if model_file is None:
        raise SpecError(checker.problems)
    spec = _resolve(checker, model_file, files, judgment_inputs)
    if checker.problems:
        raise SpecError(checker.problems)
    assert spec is not None
    return spec


def _resolve(
    checker: _Checker,
    model_file: _File,
    files: list[_File],
    judgment_inputs: Sequence[_JudgmentInput] = (),
) -> Spec | None:
    """Apply every rule in turn; each later rule reads what the earlier ones established."""
    registries = _index(checker, model_file, files)
    _check_hypotheses(checker, registries)
    _check_derivation(checker, registries)
    _check_organisations(checker, registries)
    resolved = _Resolved()
    resolved.documents, resolved.texts = _read_documents(checker, registries)
    resolved.sources = {
        sid: SourceRecord.resolve(e.item, e.where) for sid, e in registries.sources.items()
    }
    question_thetas = _question_judgments(checker, registries)
    resolved.phis = _fact_judgments(checker, registries)
    resolved.thetas = _claim_judgments(checker, registries, question_thetas, resolved)
    _check_facts_have_claims(checker, registries)
    _check_attestations(checker, registries, resolved)
    _check_restatements(checker, registries, resolved)
    _check_claims_attested(checker, registries, resolved)
    _check_contradictions(checker, registries, resolved)
    counted = _count_witnesses(registries, resolved)
    _check_restated_are_counted(checker, registries, counted)
    claims = _claim_records(registries, resolved, counted)
    _check_opinions(checker, registries, claims, resolved.sources)
    _warn_unused_reliabilities(checker, registries, claims)
    _warn_near_duplicates(checker, registries.attestations)
    _warn_claims_after_window(checker, registries)
    _check_model_has_claims(checker, registries)

    if checker.problems:
        return None
    model = registries.model
    facts = _fact_records(registries, resolved)
    questions, indicators = _question_records(registries, question_thetas)
    analysts = _analysts(checker, registries, resolved, claims, judgment_inputs)
    if checker.problems:
        return None
    return Spec(
        name=model.name,
        title=model.title,
        explanandum=model.explanandum,
        model_path=model_file.loaded.display,
        hypotheses=tuple(model.hypotheses),
        documents=resolved.documents,
        sources=resolved.sources,
        claims=tuple(claims),
        evidence_files=tuple(f.loaded.display for f in files[1:]),
        warnings=tuple(sorted(checker.warnings)),
        sha256=spec_hash(model, claims, resolved.sources, resolved.documents, facts, analysts),
        facts=facts,
        analysts=analysts,
        evidence_judged_by=tuple(
            sorted({f.parsed.judged_by for f in files if isinstance(f.parsed, EvidenceFile)})
        ),
        questions=questions,
        indicators=indicators,
        judged_on=tuple(
            sorted(
                {f.parsed.judged_on for f in files if isinstance(f.parsed, EvidenceFile)}
                | {a.judged_on for a in analysts}
            )
        ),
    )


def _question_records(
    registries: _Registries, thetas: dict[str, Theta | None]
) -> tuple[tuple[QuestionRecord, ...], tuple[QuestionRecord, ...]]:
    """The questions, with their resolutions from outcome claims, and the indicators."""
    resolutions = {
        e.item.question: e.item
        for e in registries.claims.values()
        if e.item.kind == "outcome" and e.item.question is not None
    }
    questions = []
    for qid, entry in registries.questions.items():
        theta = thetas[qid]
        assert theta is not None
        q: Question = entry.item
        outcome = resolutions.get(qid)
        questions.append(
            QuestionRecord(
                id=qid,
                kind="question",
                text=q.text,
                theta=theta[0],
                theta_low=theta[1],
                theta_high=theta[2],
                where=entry.where,
                rationales=dict(q.rationales),
                criteria=q.criteria,
                opened=q.opened,
                written_on=q.written_on,
                resolve_by=q.resolve_by,
                resolution=None if outcome is None else outcome.resolution,
                resolved_on=None if outcome is None else outcome.date,
            )
        )
    indicators = []
    for iid, entry in registries.indicators.items():
        theta = thetas[iid]
        assert theta is not None
        rationale = entry.item.rationale
        indicators.append(
            QuestionRecord(
                id=iid,
                kind="indicator",
                text=entry.item.text,
                theta=theta[0],
                theta_low=theta[1],
                theta_high=theta[2],
                where=entry.where,
                rationales={} if rationale is None else {"all": rationale},
            )
        )
    return tuple(questions), tuple(indicators)


# --- ids ----------------------------------------------------------------------------------


def _index(checker: _Checker, model_file: _File, files: list[_File]) -> _Registries:
    """Index every declared item by id; an id used twice is reported at its later use."""
    model = model_file.parsed
    assert isinstance(model, ModelFile)
    evidence: list[tuple[_File, EvidenceFile]] = [
        (f, f.parsed) for f in files if isinstance(f.parsed, EvidenceFile)
    ]
    attestation_entries: list[tuple[_Entry, str]] = []
    for f, parsed in evidence:
        for i, claim in enumerate(parsed.claims):
            for j, att in enumerate(claim.attestations):
                attestation_entries.append(
                    (_Entry(att, f, ("claims", i, "attestations", j)), claim.id)
                )
        for i, att in enumerate(parsed.attestations):
            attestation_entries.append((_Entry(att, f, ("attestations", i)), att.claim))
    hypotheses = checker.registry(
        (_Entry(h, model_file, ("hypotheses", i)) for i, h in enumerate(model.hypotheses)),
        "hypothesis",
    )
    documents = checker.registry(
        (_Entry(d, f, ("documents", i)) for f in files for i, d in enumerate(f.parsed.documents)),
        "document",
    )
    sources = checker.registry(
        (_Entry(s, f, ("sources", i)) for f in files for i, s in enumerate(f.parsed.sources)),
        "source",
    )
    questions = checker.registry(
        (_Entry(q, model_file, ("questions", i)) for i, q in enumerate(model.questions)),
        "question",
    )
    indicators = checker.registry(
        (_Entry(x, model_file, ("indicators", i)) for i, x in enumerate(model.indicators)),
        "indicator",
    )
    for iid, entry in indicators.items():
        if iid in questions:
            where = questions[iid].where
            checker.add(entry.problem("id", f"indicator id {iid!r} is a question's, at {where}"))
    claims = checker.registry(
        (
            _Entry(c, f, ("claims", i))
            for f, parsed in evidence
            for i, c in enumerate(parsed.claims)
        ),
        "claim",
    )
    attestations = checker.registry((e for e, _ in attestation_entries), "attestation")
    facts = checker.registry(
        (_Entry(x, f, ("facts", i)) for f in files for i, x in enumerate(f.parsed.facts)), "fact"
    )
    claim_of = {
        e.item.id: cid for e, cid in attestation_entries if attestations.get(e.item.id) is e
    }
    return _Registries(
        model_file,
        hypotheses,
        documents,
        sources,
        questions,
        claims,
        attestations,
        claim_of,
        facts,
        indicators,
    )


# --- hypotheses and priors ----------------------------------------------------------------


def _check_hypotheses(checker: _Checker, registries: _Registries) -> None:
    """No hypothesis is called 'otherwise', priors sum to 1, and ``proposed_in`` names documents."""
    for entry in registries.hypotheses.values():
        if entry.item.id in (OTHERWISE_KEY, IF_TRUE_KEY, IF_FALSE_KEY):
            checker.add(entry.problem("id", f"{entry.item.id!r} is reserved in judgments"))
    model = registries.model
    total = sum(h.prior for h in model.hypotheses)
    if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
        checker.add(
            registries.model_file.loaded.problem(
                ("hypotheses",), f"priors sum to {total:.12g}, not 1"
            )
        )
    for entry in registries.hypotheses.values():
        for i, doc in enumerate(entry.item.proposed_in):
            if doc not in registries.documents:
                message = _unknown("document", doc, registries.documents)
                checker.add(entry.problem(("proposed_in", i), message))


# --- documents ----------------------------------------------------------------------------


def _check_derivation(checker: _Checker, registries: _Registries) -> None:
    """``derived_from`` names a known document, and no document derives from itself."""
    documents = registries.documents
    for entry in documents.values():
        parent = entry.item.derived_from
        if parent is None:
            continue
        if parent not in documents:
            message = _unknown("document", parent, documents, itself=entry.item.id)
            checker.add(entry.problem("derived_from", message))
            continue
        chain, current = {entry.item.id}, parent
        while current is not None and current in documents:
            if current in chain:
                checker.add(entry.problem("derived_from", f"derivation cycle through {current!r}"))
                break
            chain.add(current)
            current = documents[current].item.derived_from


def _read_documents(
    checker: _Checker, registries: _Registries
) -> tuple[dict[str, DocumentRecord], dict[str, NormalizedText]]:
    """Every document's text, with its normalized form for finding quotes."""
    records: dict[str, DocumentRecord] = {}
    texts: dict[str, NormalizedText] = {}
    for doc_id, entry in registries.documents.items():
        record = _read_document(checker, entry)
        if record is not None:
            records[doc_id] = record
            texts[doc_id] = NormalizedText(record.text)
    return records, texts


def _read_document(checker: _Checker, entry: _Entry) -> DocumentRecord | None:
    """One document's text: inline, or a file that stays inside its documents folder."""
    document: Document = entry.item
    if (document.path is None) == (document.text is None):
        checker.add(entry.problem("path", "give exactly one of 'path' or 'text'"))
        return None
    if document.text is not None:
        return DocumentRecord(document, document.text, f"{entry.where} (inline)", entry.where)
    assert document.path is not None
    relative = Path(document.path)
    jail = entry.file.documents_dir
    if relative.is_absolute() or document.path.startswith(("/", "\\")):
        checker.add(entry.problem("path", f"document path {document.path!r} must be relative"))
        return None
    if ".." in relative.parts:
        checker.add(entry.problem("path", f"document path {document.path!r} must not contain '..'"))
        return None
    base = checker.root if jail == Layout(checker.root).seeds else jail
    target = (base / relative).resolve()
    if not target.is_relative_to(jail.resolve()):
        checker.add(
            entry.problem("path", f"document path {document.path!r} leaves {display_path(jail)}/")
        )
        return None
    display = display_path(target)
    try:
        text = read_text_limited(target, display, MAX_DOCUMENT_BYTES, "document")
    except SpecError as exc:
        for problem in exc.problems:
            checker.add(entry.problem("path", f"{display}: {problem.message}"))
        return None
    return DocumentRecord(document, text, display, entry.where)


# --- judgments: questions and claims ------------------------------------------------------


def _judgment_vectors(
    checker: _Checker,
    entry: _Entry,
    judgments: dict[str, Any],
    hypotheses: Sequence[Hypothesis],
    what: str,
) -> Theta | None:
    """Judgments in hypothesis order; every key a hypothesis, every hypothesis judged."""
    ids = [h.id for h in hypotheses]
    ok = True
    for key in judgments:
        if key != OTHERWISE_KEY and key not in ids:
            message = _unknown("hypothesis", key, [*ids, OTHERWISE_KEY])
            checker.add(entry.problem(("judgments", key), message))
            ok = False
    otherwise = judgments.get(OTHERWISE_KEY)
    missing = [h for h in ids if h not in judgments and otherwise is None]
    if missing:
        checker.add(
            entry.problem(
                "judgments",
                f"{what} has no judgment for {', '.join(missing)} (give one, or '{OTHERWISE_KEY}')",
            )
        )
        ok = False
    if not ok:
        return None
    values = [judgments.get(h, otherwise) for h in ids]
    return (
        tuple(v.point for v in values),
        tuple(v.low for v in values),
        tuple(v.high for v in values),
    )


def _question_judgments(checker: _Checker, registries: _Registries) -> dict[str, Theta | None]:
    """P(yes | h) of every question and indicator (None where its judgments are in error).

    Each value, and each end of a range, lies in FORECAST_RANGE: a forecast of certainty
    scores minus infinity when wrong, and its outcome would rule hypotheses out.
    """
    hypotheses = registries.model.hypotheses
    ids = [h.id for h in hypotheses]
    low_bound, high_bound = FORECAST_RANGE
    out: dict[str, Theta | None] = {}
    for what, entries in (("question", registries.questions), ("indicator", registries.indicators)):
        for qid, entry in entries.items():
            theta = _judgment_vectors(checker, entry, entry.item.judgments, hypotheses, what)
            if theta is not None:
                outside = sorted(
                    {
                        ids[h]
                        for vector in theta
                        for h, value in enumerate(vector)
                        if not low_bound <= value <= high_bound
                    },
                    key=ids.index,
                )
                if outside:
                    checker.add(
                        entry.problem(
                            "judgments",
                            f"P(yes | h) for {', '.join(outside)} lies outside "
                            f"[{low_bound}, {high_bound}]: a forecast of certainty scores minus "
                            "infinity when wrong, and its outcome would rule hypotheses out",
                        )
                    )
                    theta = None
            out[qid] = theta
            if what == "question":
                _check_question_fields(checker, entry, ids)
            elif entry.item.rationale is None:
                checker.warnings.append(entry.problem("rationale", "indicator has no rationale"))
    return out


def _check_question_fields(checker: _Checker, entry: _Entry, ids: list[str]) -> None:
    """Rationales name hypotheses; opened is not after resolve_by; warn at missing fields."""
    question: Question = entry.item
    for key in question.rationales:
        if key not in ids:
            checker.add(entry.problem(("rationales", key), _unknown("hypothesis", key, ids)))
    if question.opened is not None and question.opened > question.resolve_by:
        checker.add(
            entry.problem(
                "opened", f"opened {question.opened} is after resolve_by {question.resolve_by}"
            )
        )
    missing = [
        name for name in ("criteria", "opened", "written_on") if getattr(question, name) is None
    ]
    unexplained = [h for h in ids if h not in question.rationales]
    if unexplained and len(unexplained) < len(ids):
        missing.append(f"rationales for {', '.join(unexplained)}")
    elif unexplained:
        missing.append("rationales")
    if missing:
        checker.warnings.append(
            entry.problem(
                (),
                f"question has no {', no '.join(missing)}: a stranger could not resolve it, or "
                "its forecast could not be placed in time",
            )
        )


def _claim_judgments(
    checker: _Checker,
    registries: _Registries,
    question_thetas: dict[str, Theta | None],
    resolved: _Resolved,
) -> dict[str, Theta]:
    """Judgments of every claim: its own, an outcome's question's, or a fact claim's implied."""
    thetas: dict[str, Theta] = {}
    for cid, entry in registries.claims.items():
        claim: Claim = entry.item
        if claim.fact is not None:
            theta = _fact_claim_theta(checker, registries, entry, resolved)
        elif claim.kind == "outcome":
            _check_outcome(checker, entry, registries.questions)
            theta = _outcome_theta(claim, question_thetas)
        elif fact_keys := [k for k in (IF_TRUE_KEY, IF_FALSE_KEY) if k in claim.judgments]:
            checker.add(
                entry.problem(
                    ("judgments", fact_keys[0]),
                    f"{fact_keys[0]!r} is only for a claim in a fact (name it with 'fact:')",
                )
            )
            theta = None
        else:
            _check_not_an_outcome(checker, entry)
            theta = _judgment_vectors(
                checker, entry, claim.judgments, registries.model.hypotheses, "claim"
            )
        if theta is not None:
            thetas[cid] = theta
    return thetas


# --- facts: one state of the world, several claims that are its signs --------------------


def _fact_judgments(checker: _Checker, registries: _Registries) -> dict[str, Theta]:
    """P(fact holds | h) of every fact whose judgments resolved."""
    hypotheses = registries.model.hypotheses
    phis = {}
    for fid, entry in registries.facts.items():
        phi = _judgment_vectors(checker, entry, entry.item.judgments, hypotheses, "fact")
        if phi is not None:
            phis[fid] = phi
    return phis


def _fact_claim_theta(
    checker: _Checker, registries: _Registries, entry: _Entry, resolved: _Resolved
) -> Theta | None:
    """A claim in a fact: a known fact, an act or statement, ``if_true`` and ``if_false`` only.

    Returns the theta it implies, phi_h * if_true + (1 - phi_h) * if_false, for the rules and
    reports that compare claims (contradictions, diagnosticity).
    """
    claim: Claim = entry.item
    fid = claim.fact
    assert fid is not None
    ok = True
    if fid not in registries.facts:
        checker.add(entry.problem("fact", _unknown("fact", fid, registries.facts)))
        ok = False
    if claim.kind in ("opinion", "outcome"):
        checker.add(
            entry.problem(
                "fact",
                f"an {claim.kind} claim cannot be a sign of a fact (only acts and statements)",
            )
        )
        ok = False
    others = [k for k in claim.judgments if k not in (IF_TRUE_KEY, IF_FALSE_KEY)]
    if others:
        checker.add(
            entry.problem(
                ("judgments", others[0]),
                f"a claim in a fact gives {IF_TRUE_KEY!r} and {IF_FALSE_KEY!r}, not judgments "
                "per hypothesis",
            )
        )
        ok = False
    missing = [k for k in (IF_TRUE_KEY, IF_FALSE_KEY) if k not in claim.judgments]
    if missing:
        checker.add(
            entry.problem(
                "judgments",
                f"a claim in a fact needs {IF_TRUE_KEY!r} and {IF_FALSE_KEY!r} (missing: "
                f"{', '.join(missing)})",
            )
        )
        ok = False
    if not ok or fid not in resolved.phis:
        return None
    p1, p0 = claim.judgments[IF_TRUE_KEY], claim.judgments[IF_FALSE_KEY]
    phi = resolved.phis[fid][0]
    resolved.fact_of[claim.id] = (fid, p1.point, p0.point)
    resolved.fact_ranges[claim.id] = ((p1.low, p1.high), (p0.low, p0.high))
    return (
        tuple(f * p1.point + (1 - f) * p0.point for f in phi),
        tuple(f * p1.low + (1 - f) * p0.low for f in phi),
        tuple(f * p1.high + (1 - f) * p0.high for f in phi),
    )


def _check_facts_have_claims(checker: _Checker, registries: _Registries) -> None:
    """A fact that no claim is a sign of says nothing: it is refused, not ignored."""
    used = {entry.item.fact for entry in registries.claims.values()}
    for fid, entry in registries.facts.items():
        if fid not in used:
            checker.add(entry.problem("id", f"fact {fid!r} has no claims (name it with 'fact:')"))


def _fact_records(registries: _Registries, resolved: _Resolved) -> tuple[FactRecord, ...]:
    members: dict[str, list[str]] = defaultdict(list)
    for cid, (fid, _, _) in sorted(resolved.fact_of.items()):
        members[fid].append(cid)
    return tuple(
        FactRecord(
            fid,
            entry.item.text,
            resolved.phis[fid][0],
            tuple(members[fid]),
            entry.where,
            phi_low=resolved.phis[fid][1],
            phi_high=resolved.phis[fid][2],
            phi_ties=_ties(entry.item.judgments, registries.model.hypotheses),
        )
        for fid, entry in sorted(registries.facts.items())
        if fid in resolved.phis
    )


# --- analysts: judgment files ---------------------------------------------------------------


@dataclass(frozen=True)
class _JudgmentInput:
    """A parsed judgment file of this model, with the analyst id its name gives."""

    analyst: str
    loaded: LoadedYaml
    parsed: JudgmentFile


@dataclass(frozen=True)
class _JudgedAt:
    """Where an analyst's judgments of one claim or fact are, for located problems."""

    loaded: LoadedYaml
    loc: tuple[str | int, ...]

    def problem(self, field_name: str | tuple[str | int, ...], message: str) -> Problem:
        tail = field_name if isinstance(field_name, tuple) else (field_name,)
        if tail[:1] == ("judgments",):  # an evidence file's field; here the map itself
            tail = tail[1:]
        return self.loaded.problem((*self.loc, *tail), message)


def _analysts(
    checker: _Checker,
    registries: _Registries,
    resolved: _Resolved,
    claims: list[ClaimRecord],
    inputs: Sequence[_JudgmentInput],
) -> tuple[AnalystRecord, ...]:
    """Validate every judgment file against the claims, facts and hypotheses of the model."""
    names: dict[str, str] = {}
    out = []
    for item in inputs:
        before = len(checker.problems)
        loaded, parsed = item.loaded, item.parsed
        if not re.fullmatch(ID_PATTERN, item.analyst) or item.analyst == EVIDENCE_ANALYST:
            checker.add(
                loaded.problem(
                    (),
                    f"an analyst's id is the file's name: {item.analyst!r} must be lowercase "
                    f"letters, digits, '-' or '_', and not {EVIDENCE_ANALYST!r} (the evidence "
                    "files' own analyst)",
                )
            )
        if parsed.judged_by in names:
            checker.add(
                loaded.problem(
                    ("judged_by",),
                    f"{parsed.judged_by!r} already judges in {names[parsed.judged_by]}: one "
                    "file per analyst",
                )
            )
        names.setdefault(parsed.judged_by, loaded.display)
        theta, signs = _analyst_claims(checker, registries, item)
        phi = _analyst_facts(checker, registries, item)
        prior = _analyst_priors(checker, registries, item)
        record = AnalystRecord(
            id=item.analyst,
            judged_by=parsed.judged_by,
            judged_on=parsed.judged_on,
            blind=parsed.blind,
            path=loaded.display,
            theta=theta,
            signs=signs,
            phi=phi,
            prior=prior,
            prior_rationale={h: p.rationale for h, p in parsed.priors.items()},
        )
        if len(checker.problems) == before:
            _check_analyst_table(checker, registries, resolved, claims, record, loaded)
            out.append(record)
    return tuple(out)


def _judged(judgments: dict[str, Any]) -> bool | None:
    """True if every value is given, False if none is (not judged), None if some are."""
    given = [v is not None for v in judgments.values()]
    if all(given) and given:
        return True
    return False if not any(given) else None


def _analyst_claims(
    checker: _Checker, registries: _Registries, item: _JudgmentInput
) -> tuple[dict[str, Theta], dict[str, tuple[tuple[float, float, float], ...]]]:
    """An analyst's judgments of claims: (plain claims' vectors, claims in facts' values)."""
    theta: dict[str, Theta] = {}
    signs: dict[str, Any] = {}
    hypotheses = registries.model.hypotheses
    for cid, judgments in item.parsed.claims.items():
        at = _JudgedAt(item.loaded, ("claims", cid))
        judged = _judged(judgments)
        if cid not in registries.claims:
            checker.add(at.problem((), _unknown("claim", cid, registries.claims)))
            continue
        if judged is None:
            checker.add(at.problem((), "judge every value or none (all null: not judged)"))
            continue
        if not judged:
            continue
        claim: Claim = registries.claims[cid].item
        if claim.kind == "outcome":
            checker.add(
                at.problem((), "an outcome is judged through its question, not per analyst")
            )
            continue
        if claim.fact is not None:
            keys = set(judgments)
            if keys != {IF_TRUE_KEY, IF_FALSE_KEY}:
                checker.add(
                    at.problem(
                        (),
                        f"{cid!r} is a sign of fact {claim.fact!r}: judge it with "
                        f"{IF_TRUE_KEY!r} and {IF_FALSE_KEY!r} only",
                    )
                )
                continue
            signs[cid] = tuple(
                (j.point, j.low, j.high) for j in (judgments[IF_TRUE_KEY], judgments[IF_FALSE_KEY])
            )
            continue
        vectors = _judgment_vectors(checker, at, judgments, hypotheses, "claim")  # type: ignore[arg-type]
        if vectors is not None:
            theta[cid] = vectors
    return theta, signs


def _analyst_facts(
    checker: _Checker, registries: _Registries, item: _JudgmentInput
) -> dict[str, Theta]:
    """An analyst's P(fact holds | h) of the facts it judges."""
    phi: dict[str, Theta] = {}
    for fid, judgments in item.parsed.facts.items():
        at = _JudgedAt(item.loaded, ("facts", fid))
        judged = _judged(judgments)
        if fid not in registries.facts:
            checker.add(at.problem((), _unknown("fact", fid, registries.facts)))
        elif judged is None:
            checker.add(at.problem((), "judge every value or none (all null: not judged)"))
        elif judged:
            vectors = _judgment_vectors(checker, at, judgments, registries.model.hypotheses, "fact")  # type: ignore[arg-type]
            if vectors is not None:
                phi[fid] = vectors
    return phi


def _analyst_priors(
    checker: _Checker, registries: _Registries, item: _JudgmentInput
) -> tuple[float, ...] | None:
    """An analyst's own priors in hypothesis order, if the file gives them."""
    priors = item.parsed.priors
    if not priors:
        return None
    ids = [h.id for h in registries.model.hypotheses]
    ok = True
    for key in priors:
        if key not in ids:
            checker.add(item.loaded.problem(("priors", key), _unknown("hypothesis", key, ids)))
            ok = False
    missing = [h for h in ids if h not in priors]
    if missing:
        checker.add(item.loaded.problem(("priors",), f"no prior for {', '.join(missing)}"))
        ok = False
    if not ok:
        return None
    values = tuple(priors[h].prior for h in ids)
    total = sum(values)
    if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
        checker.add(item.loaded.problem(("priors",), f"priors sum to {total:.12g}, not 1"))
        return None
    return values


def analyst_theta(
    claim: ClaimRecord, analyst: AnalystRecord, phi: dict[str, tuple[float, ...]]
) -> tuple[float, ...]:
    """The analyst's theta of a claim: its own, implied by its fact, or the evidence's."""
    if claim.id in analyst.theta:
        return analyst.theta[claim.id][0]
    if claim.fact is None:
        return claim.theta
    p1, p0 = claim.if_true, claim.if_false
    if claim.id in analyst.signs:
        p1, p0 = analyst.signs[claim.id][0][0], analyst.signs[claim.id][1][0]
    fact_phi = analyst.phi[claim.fact][0] if claim.fact in analyst.phi else phi[claim.fact]
    assert p1 is not None and p0 is not None
    return tuple(f * p1 + (1 - f) * p0 for f in fact_phi)


def _check_analyst_table(
    checker: _Checker,
    registries: _Registries,
    resolved: _Resolved,
    claims: list[ClaimRecord],
    analyst: AnalystRecord,
    loaded: LoadedYaml,
) -> None:
    """An analyst's whole table passes the opinion caps and ``contradicts``.

    The table is the analyst's judgments, and the evidence's where it gives none; a problem is
    reported at the analyst's own judgment.
    """
    phi = {fid: vectors[0] for fid, vectors in resolved.phis.items()}
    table = {c.id: analyst_theta(c, analyst, phi) for c in claims}
    judged = analyst.judged
    facts_judged = set(analyst.phi)

    def mine(cid: str) -> bool:
        claim = registries.claims[cid].item
        return cid in judged or (claim.fact is not None and claim.fact in facts_judged)

    def where(cid: str) -> tuple[str, ...]:
        claim = registries.claims[cid].item
        if cid in judged or claim.fact is None:
            return ("claims", cid)
        return ("facts", claim.fact)

    own = [replace(c, theta=table[c.id]) if c.is_opinion else c for c in claims]
    per_claim, per_source = opinion_excess(own, resolved.sources)
    for claim_id, ratio in per_claim.items():
        if mine(claim_id):
            checker.add(
                loaded.problem(
                    where(claim_id),
                    f"opinion's likelihood ratio {ratio:.2f} exceeds the cap "
                    f"{OPINION_LR_CAP} with these judgments",
                )
            )
    for source_id, (ratio, given) in per_source.items():
        changed = [claim_id for claim_id in given if mine(claim_id)]
        if changed:
            checker.add(
                loaded.problem(
                    where(changed[0]),
                    f"with these judgments the opinions of {source_id!r} together have "
                    f"likelihood ratio {ratio:.2f}, over the per-source cap "
                    f"{SOURCE_OPINION_LR_CAP}",
                )
            )
    hypotheses = [h.id for h in registries.model.hypotheses]
    for cid in sorted(table):
        for other in registries.claims[cid].item.contradicts:
            if other not in table or not (mine(cid) or mine(other)):
                continue
            over = [
                h
                for h, a, b in zip(hypotheses, table[cid], table[other], strict=True)
                if a + b > 1.0 + 1e-12
            ]
            if over:
                at = cid if mine(cid) else other
                checker.add(
                    loaded.problem(
                        where(at),
                        f"judgments of {cid!r} and {other!r} (which it contradicts) sum above 1 "
                        f"for {', '.join(over)}",
                    )
                )


# --- outcomes -----------------------------------------------------------------------------


def _check_outcome(checker: _Checker, entry: _Entry, questions: dict[str, _Entry]) -> None:
    """An outcome names a known question and its resolution, and has no judgments or quotes."""
    claim: Claim = entry.item
    if claim.attestations:
        checker.add(entry.problem("attestations", "an outcome claim has no attestations"))
    if claim.judgments:
        checker.add(entry.problem("judgments", "an outcome takes its judgments from its question"))
    if claim.question is None:
        checker.add(entry.problem("question", "an outcome claim names the question it resolves"))
    elif claim.question not in questions:
        checker.add(entry.problem("question", _unknown("question", claim.question, questions)))
    if claim.resolution is None:
        checker.add(entry.problem("resolution", "an outcome claim needs 'resolution: yes' or 'no'"))


def _check_not_an_outcome(checker: _Checker, entry: _Entry) -> None:
    """Only an outcome claim resolves a question."""
    for name in ("question", "resolution"):
        if getattr(entry.item, name) is not None:
            checker.add(entry.problem(name, f"only an 'outcome' claim has a {name}"))


def _outcome_theta(claim: Claim, question_thetas: dict[str, Theta | None]) -> Theta | None:
    """P(outcome | h): the question's P(yes | h) for 'yes', 1 - P(yes | h) for 'no'."""
    theta = question_thetas.get(claim.question or "")
    if theta is None or claim.resolution == "yes":
        return theta
    point, one_minus_low, one_minus_high = (tuple(1.0 - v for v in part) for part in theta)
    return point, one_minus_high, one_minus_low


# --- attestations: references, quotes, one witness once, one rate -------------------------


def _check_attestations(checker: _Checker, registries: _Registries, resolved: _Resolved) -> None:
    """Every attestation's rules; those that pass get ``verified`` and ``rates`` entries."""
    first_by_quote: dict[tuple[str, str], _Entry] = {}
    for aid, entry in registries.attestations.items():
        ok = _check_references(checker, registries, entry)
        if entry.item.document in resolved.texts:
            location = _find_quote(checker, entry, resolved)
            if location is None:
                ok = False
            elif ok:
                resolved.verified[aid] = location
        if not ok:
            continue
        _check_duplicate_witness(checker, registries, entry, first_by_quote)
        _check_one_rate(checker, registries, entry, resolved)


def _check_references(checker: _Checker, registries: _Registries, entry: _Entry) -> bool:
    """The attestation's claim (not an outcome), source and document exist."""
    att = entry.item
    cid = registries.claim_of[att.id]
    ok = True
    if cid not in registries.claims:
        checker.add(entry.problem("claim", _unknown("claim", cid, registries.claims)))
        ok = False
    elif registries.claims[cid].item.kind == "outcome":
        checker.add(
            entry.problem("id", f"claim {cid!r} is an outcome; outcomes have no attestations")
        )
        ok = False
    if att.source not in registries.sources:
        checker.add(entry.problem("source", _unknown("source", att.source, registries.sources)))
        ok = False
    if att.document not in registries.documents:
        message = _unknown("document", att.document, registries.documents)
        checker.add(entry.problem("document", message))
        ok = False
    return ok


def _find_quote(checker: _Checker, entry: _Entry, resolved: _Resolved) -> str | None:
    """Where the quote is in its document; if nowhere, report the closest passage."""
    att = entry.item
    text = resolved.texts[att.document]
    location = find_quote(att.quote, text)
    if location is not None:
        return str(location)
    close = closest_passage(att.quote, text)
    checker.add(
        entry.problem(
            "quote",
            f"quote not found in {resolved.documents[att.document].display_path}; "
            f"closest passage (line {close.line}, similarity {close.similarity:.2f}): "
            f"{close.passage!r}",
        )
    )
    return None


def _check_duplicate_witness(
    checker: _Checker,
    registries: _Registries,
    entry: _Entry,
    first_by_quote: dict[tuple[str, str], _Entry],
) -> None:
    """A source attests one quote once, whichever claims it is cited for."""
    att = entry.item
    key = (att.source, normalize(att.quote))
    first = first_by_quote.get(key)
    if first is None:
        first_by_quote[key] = entry
        return
    checker.add(
        entry.problem(
            "quote",
            f"source {att.source!r} already attests this quote in {first.item.id!r} "
            f"(claim {registries.claim_of[first.item.id]!r}, {first.where}): "
            "one witness counted twice",
        )
    )


def _check_one_rate(
    checker: _Checker, registries: _Registries, entry: _Entry, resolved: _Resolved
) -> None:
    """One (source, claim) pair has one "say anyway" rate, given or the kind's default."""
    att = entry.item
    cid = registries.claim_of[att.id]
    kind = registries.claims[cid].item.kind
    if (
        cid in resolved.thetas
        and cid not in resolved.fact_of
        and _is_opinion(kind, resolved.thetas[cid][0])
    ):
        kind = "opinion"
    rate = att.say_anyway if att.say_anyway is not None else SAY_ANYWAY_DEFAULTS[kind]
    witness = _witness(registries, att.source)
    previous = resolved.rates.get((witness, cid))
    if previous is not None and previous[0] != rate:
        who = f"source {att.source!r}"
        pair = "(source, claim)"
        if witness != att.source or previous[1].item.source != att.source:
            who = f"organisation {witness!r} (through {previous[1].item.source!r})"
            pair = "(organisation, claim)"
        checker.add(
            entry.problem(
                "say_anyway",
                f"{who} has rate {previous[0]} for claim {cid!r} in "
                f"{previous[1].item.id!r}; one {pair} pair has one rate",
            )
        )
    resolved.rates.setdefault((witness, cid), (rate, entry))


# --- derived documents: a copy restates, it does not testify again ------------------------


def _check_restatements(checker: _Checker, registries: _Registries, resolved: _Resolved) -> None:
    """In a derived document, an attestation restates its parent's, or the claim is new."""
    attested_in: dict[tuple[str, str], list[str]] = defaultdict(list)
    for aid, entry in registries.attestations.items():
        attested_in[(registries.claim_of[aid], entry.item.document)].append(aid)
    for entry in registries.attestations.values():
        if entry.item.document not in resolved.documents:
            continue
        ancestors = _ancestors(entry.item.document, resolved.documents)
        if entry.item.restates is not None:
            _check_restates(checker, registries, entry, ancestors)
        else:
            _check_copy_cites_parent(checker, registries, entry, ancestors, attested_in)


def _check_restates(
    checker: _Checker, registries: _Registries, entry: _Entry, ancestors: list[str]
) -> None:
    """``restates`` names another attestation of the same claim that counts.

    In a derived document it may be one in a document this one derives from (a copy restates
    its parent, whoever the source); anywhere it may be another source's (an endorsement, or a
    repetition of someone else's report, which adds no witness).
    """
    att = entry.item
    target = registries.attestations.get(att.restates)
    claim_of = registries.claim_of
    if target is None:
        message = _unknown("attestation", att.restates, registries.attestations, itself=att.id)
        checker.add(entry.problem("restates", message))
    elif claim_of[att.restates] != claim_of[att.id]:
        checker.add(
            entry.problem(
                "restates",
                f"{att.restates!r} attests claim {claim_of[att.restates]!r}, "
                f"not {claim_of[att.id]!r}",
            )
        )
    elif target.item.restates is not None:
        checker.add(
            entry.problem(
                "restates",
                f"{att.restates!r} itself restates {target.item.restates!r}: name the "
                "attestation that counts",
            )
        )
    elif target.item.document in ancestors:
        return
    elif target.item.source == att.source:
        where = (
            f"{att.restates!r} is in {target.item.document!r}, not in a document "
            f"{att.document!r} derives from"
            if ancestors
            else f"{att.restates!r} is by the same source {att.source!r}"
        )
        checker.add(
            entry.problem(
                "restates",
                f"{where}: outside a copy, a source does not restate itself (its repeated "
                "reports of a claim count once anyway)",
            )
        )


def _check_copy_cites_parent(
    checker: _Checker,
    registries: _Registries,
    entry: _Entry,
    ancestors: list[str],
    attested_in: dict[tuple[str, str], list[str]],
) -> None:
    """A claim already attested in a parent document must be cited with ``restates``."""
    att = entry.item
    cid = registries.claim_of[att.id]
    for ancestor in ancestors:
        parents = attested_in.get((cid, ancestor))
        if parents:
            checker.add(
                entry.problem(
                    "restates",
                    f"claim {cid!r} is attested in {ancestor!r}, which "
                    f"{att.document!r} derives from ({parents[0]!r}): cite it with 'restates'",
                )
            )
            return


# --- witnesses: which attestations count --------------------------------------------------


def _count_witnesses(
    registries: _Registries, resolved: _Resolved
) -> dict[str, list[AttestationRecord]]:
    """Verified attestations by claim; a restatement or a source's second one does not count."""
    source_seen: dict[str, dict[str, str]] = defaultdict(dict)
    records: dict[str, list[AttestationRecord]] = defaultdict(list)
    for aid in sorted(registries.attestations):
        entry = registries.attestations[aid]
        att = entry.item
        cid = registries.claim_of[aid]
        if cid not in registries.claims or aid not in resolved.verified:
            continue
        witness = _witness(registries, att.source)
        rate = resolved.rates[(witness, cid)][0]
        counted, because = True, None
        if att.restates is not None:
            target = registries.attestations.get(att.restates, entry).item
            counted = False
            because = (
                f"restates {att.restates} from a parent document"
                if target.document in _ancestors(att.document, resolved.documents)
                else f"repeats or endorses {att.restates} ({target.source}): not a witness"
            )
        elif witness in source_seen[cid]:
            counted = False
            first = source_seen[cid][witness]
            because = (
                f"source already counted for this claim via {first}"
                if witness == att.source
                else f"speaks for {witness}, already counted for this claim via {first}"
            )
        else:
            source_seen[cid][witness] = aid
        records[cid].append(
            AttestationRecord(
                id=aid,
                claim_id=cid,
                source_id=att.source,
                document_id=att.document,
                quote=att.quote,
                say_anyway=rate,
                restates=att.restates,
                where=entry.where,
                found_at=resolved.verified[aid],
                counted=counted,
                not_counted_because=because,
                witness_id=witness,
            )
        )
    return records


def _witness(registries: _Registries, source_id: str) -> str:
    """Who testifies for a source in the likelihood: its organisation, if it speaks for one."""
    entry = registries.sources.get(source_id)
    organisation = entry.item.speaks_for if entry is not None else None
    return organisation if organisation in registries.sources else source_id


def _check_restated_are_counted(
    checker: _Checker, registries: _Registries, records: dict[str, list[AttestationRecord]]
) -> None:
    """A restatement or endorsement names an attestation that counts (no chains)."""
    counted = {a.id: a for claim in records.values() for a in claim}
    for record in (a for claim in records.values() for a in claim):
        target = counted.get(record.restates or "")
        # A target that restates in its turn was refused already, naming the chain.
        if target is not None and not target.counted and target.restates is None:
            checker.add(
                registries.attestations[record.id].problem(
                    "restates",
                    f"{target.id!r} does not count ({target.not_counted_because}): name the "
                    "attestation that counts",
                )
            )


def _check_organisations(checker: _Checker, registries: _Registries) -> None:
    """``speaks_for`` names a declared source that speaks for no one (one level only)."""
    for entry in registries.sources.values():
        organisation = entry.item.speaks_for
        if organisation is None:
            continue
        if organisation not in registries.sources:
            message = _unknown("source", organisation, registries.sources, itself=entry.item.id)
            checker.add(entry.problem("speaks_for", message))
        elif organisation == entry.item.id:
            checker.add(entry.problem("speaks_for", "a source does not speak for itself"))
        elif registries.sources[organisation].item.speaks_for is not None:
            above = registries.sources[organisation].item.speaks_for
            checker.add(
                entry.problem(
                    "speaks_for",
                    f"{organisation!r} speaks for {above!r} itself: one level only (let "
                    f"{entry.item.id!r} speak for {above!r})",
                )
            )


def _warn_unused_reliabilities(
    checker: _Checker, registries: _Registries, claims: list[ClaimRecord]
) -> None:
    """A source's reliability setting that applies to none of its attestations is a warning.

    ``reliability`` applies to the acts and statements it counts for, ``judgment_reliability``
    to the opinions; a member of an organisation counts with the organisation's.
    """
    uses: dict[str, set[str]] = defaultdict(set)
    for claim in claims:
        for att in claim.counted_attestations:
            uses[att.witness_id].add("judgment_reliability" if claim.is_opinion else "reliability")
    for source_id, entry in registries.sources.items():
        for setting in ("reliability", "judgment_reliability"):
            if getattr(entry.item, setting) is None or setting in uses[source_id]:
                continue
            why = (
                f"it speaks for {entry.item.speaks_for!r}, whose setting applies"
                if entry.item.speaks_for
                else "none of its counted attestations is "
                + ("an opinion" if setting == "judgment_reliability" else "an act or a statement")
            )
            checker.warnings.append(
                entry.problem(setting, f"{setting} is set but applies to no attestation: {why}")
            )


# --- claims -------------------------------------------------------------------------------


def _check_claims_attested(checker: _Checker, registries: _Registries, resolved: _Resolved) -> None:
    """Every claim but an outcome has at least one attestation."""
    attested = set(registries.claim_of.values())
    for cid in sorted(registries.claims):
        entry = registries.claims[cid]
        if cid in resolved.thetas and entry.item.kind != "outcome" and cid not in attested:
            checker.add(entry.problem("attestations", "claim has no attestation"))


def _check_contradictions(checker: _Checker, registries: _Registries, resolved: _Resolved) -> None:
    """Claims that cannot both be true have judgments summing to at most 1 under every h."""
    hypotheses = registries.model.hypotheses
    thetas = resolved.thetas
    for cid in sorted(registries.claims):
        if cid not in thetas:
            continue
        entry = registries.claims[cid]
        for i, other in enumerate(entry.item.contradicts):
            if other not in registries.claims:
                message = _unknown("claim", other, registries.claims, itself=cid)
                checker.add(entry.problem(("contradicts", i), message))
                continue
            if other not in thetas:
                continue
            over = [
                h.id
                for h, a, b in zip(hypotheses, thetas[cid][0], thetas[other][0], strict=True)
                if a + b > 1.0 + 1e-12
            ]
            if over:
                checker.add(
                    entry.problem(
                        ("contradicts", i),
                        f"judgments of {cid!r} and {other!r} sum above 1 for {', '.join(over)}",
                    )
                )


def _check_model_has_claims(checker: _Checker, registries: _Registries) -> None:
    """A model without claims has nothing to weigh: its posterior would only be its prior.

    Reported only when nothing else is wrong: a file that failed to parse also has no claims.
    """
    if registries.claims or checker.problems:
        return
    name = registries.model_file.parsed.name
    checker.add(
        registries.model_file.loaded.problem(
            ("name",),
            f"model {name!r} has no claims: add an evidence file (evidence/*.yaml) whose "
            f"'model:' is {name!r}",
        )
    )


def _warn_claims_after_window(checker: _Checker, registries: _Registries) -> None:
    """Warn of a claim dated after the model's window: the assessment becomes current to it."""
    window = registries.model.window
    if window is None:
        return
    for cid in sorted(registries.claims):
        entry = registries.claims[cid]
        claim: Claim = entry.item
        # An outcome resolves a question after the fact; being late is what it is for.
        if claim.kind == "outcome" or claim.date is None or claim.date <= window.end:
            continue
        checker.warnings.append(
            entry.problem(
                "date",
                f"claim dated {claim.date}, after the model's window (ends {window.end}); "
                "it moves the as-of date",
            )
        )


def _claim_records(
    registries: _Registries,
    resolved: _Resolved,
    attestations: dict[str, list[AttestationRecord]],
) -> list[ClaimRecord]:
    """A record for every claim whose judgments resolved, in id order."""
    records: list[ClaimRecord] = []
    for cid in sorted(registries.claims):
        if cid not in resolved.thetas:
            continue
        entry = registries.claims[cid]
        claim: Claim = entry.item
        theta, low, high = resolved.thetas[cid]
        fact, if_true, if_false = resolved.fact_of.get(cid, (None, None, None))
        written = claim.judgments
        if claim.kind == "outcome" and claim.question in registries.questions:
            written = registries.questions[claim.question].item.judgments
        ties = () if fact is not None else _ties(written, registries.model.hypotheses)
        records.append(
            ClaimRecord(
                id=cid,
                kind=claim.kind,
                text=claim.text,
                date=claim.date,
                theta=theta,
                theta_low=low,
                theta_high=high,
                # A sign of a fact is never an opinion, whatever theta it implies.
                is_opinion=fact is None and _is_opinion(claim.kind, theta),
                directly_asserts=fact is None and claim.kind == "act" and _is_zero_one(theta),
                contradicts=tuple(claim.contradicts),
                question=claim.question,
                resolution=claim.resolution,
                where=entry.where,
                attestations=tuple(attestations.get(cid, ())),
                fact=fact,
                if_true=if_true,
                if_false=if_false,
                if_true_range=resolved.fact_ranges[cid][0] if fact is not None else None,
                if_false_range=resolved.fact_ranges[cid][1] if fact is not None else None,
                theta_ties=ties,
                rationale=claim.rationale,
            )
        )
    return records


def _ties(judgments: dict[str, Any], hypotheses: Sequence[Hypothesis]) -> tuple[int, ...]:
    """Per hypothesis, the first one whose cell shares its written word or ``otherwise``."""
    keys: list[tuple[str, str]] = []
    for h in hypotheses:
        written = judgments.get(h.id, judgments.get(OTHERWISE_KEY))
        if isinstance(written, Judgment) and written.word is not None:
            keys.append(("word", written.word))
        elif h.id not in judgments:
            keys.append(("otherwise", ""))
        else:
            keys.append(("cell", h.id))
    return tuple(keys.index(key) for key in keys)


# --- opinions and near-duplicates ---------------------------------------------------------


def opinion_likelihood_ratio(claim: ClaimRecord, sources: dict[str, SourceRecord]) -> float:
    """max_h / min_h of P(attestations | h) for an opinion, at fixed judgment reliabilities."""
    counted = claim.counted_attestations
    if not counted:
        return 1.0
    r = np.array([sources[a.witness_id].judgment_reliability for a in counted])
    rate = np.array([a.say_anyway for a in counted])
    log_lik = one_claim_log_likelihood(np.asarray(claim.theta), r, rate)
    return float(np.exp(log_lik.max() - log_lik.min()))


def opinion_excess(
    claims: Iterable[ClaimRecord], sources: dict[str, SourceRecord]
) -> tuple[dict[str, float], dict[str, tuple[float, tuple[str, ...]]]]:
    """Opinions over the caps, for every rule that enforces them.

    Returns each opinion over OPINION_LR_CAP (by claim id, with its likelihood ratio), and each
    source whose opinions together pass SOURCE_OPINION_LR_CAP (the ratio, and its opinions).
    """
    per_claim: dict[str, float] = {}
    per_source: dict[str, np.ndarray] = {}
    given: dict[str, list[str]] = defaultdict(list)
    for claim in claims:
        if not claim.is_opinion:
            continue
        ratio = opinion_likelihood_ratio(claim, sources)
        if ratio > OPINION_LR_CAP:
            per_claim[claim.id] = ratio
        for att in claim.counted_attestations:
            source = sources[att.witness_id]
            term = one_claim_log_likelihood(
                np.asarray(claim.theta), source.judgment_reliability, att.say_anyway
            )
            per_source[att.witness_id] = per_source.get(att.witness_id, 0.0) + term
            given[att.witness_id].append(claim.id)
    over = {}
    for source_id, total in sorted(per_source.items()):
        ratio = float(np.exp(total.max() - total.min()))
        if ratio > SOURCE_OPINION_LR_CAP:
            over[source_id] = (ratio, tuple(given[source_id]))
    return per_claim, over


def _check_opinions(
    checker: _Checker,
    registries: _Registries,
    claims: list[ClaimRecord],
    sources: dict[str, SourceRecord],
) -> None:
    """An opinion is weak evidence: cap its likelihood ratio, and all of one source's together."""
    per_claim, per_source = opinion_excess(claims, sources)
    for claim_id, ratio in per_claim.items():
        checker.add(
            registries.claims[claim_id].problem(
                "judgments",
                f"opinion's likelihood ratio {ratio:.2f} exceeds the cap {OPINION_LR_CAP} "
                "(lower the sources' judgment reliability or raise say_anyway)",
            )
        )
    for source_id, (ratio, _) in per_source.items():
        checker.add(
            registries.sources[source_id].problem(
                "judgment_reliability",
                f"opinions of {source_id!r} together have likelihood ratio {ratio:.2f}, "
                f"over the per-source cap {SOURCE_OPINION_LR_CAP}",
            )
        )


#: Quotes sharing a shingle beyond which it proposes no near-duplicate pair on its own.
_COMMON_SHINGLE = 50


def _warn_near_duplicates(checker: _Checker, attestations: dict[str, _Entry]) -> None:
    """Warn of quotes in different documents so alike that one may copy the other.

    Only pairs sharing a shingle can be similar, so quotes are indexed by shingle instead of
    comparing all pairs. A shingle that more than ``_COMMON_SHINGLE`` quotes share (a stock
    phrase) proposes no pair by itself: its pairs would grow with the square of its count.
    """
    items = dict(sorted(attestations.items()))
    grams = {aid: shingles(entry.item.quote, SHINGLE_WORDS) for aid, entry in items.items()}
    by_gram: dict[int, list[str]] = defaultdict(list)
    for aid, quote_grams in grams.items():
        for gram in quote_grams:
            by_gram[gram].append(aid)
    candidates = {
        (a, b)
        for ids in by_gram.values()
        if 1 < len(ids) <= _COMMON_SHINGLE
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
    }
    for aid, bid in sorted(candidates):
        entry, other = items[aid], items[bid]
        if entry.item.document == other.item.document:
            continue
        if entry.item.restates == bid or other.item.restates == aid:
            continue
        similarity = jaccard(grams[aid], grams[bid])
        if similarity >= NEAR_DUPLICATE_SIMILARITY:
            checker.warnings.append(
                other.problem(
                    "quote",
                    f"near-duplicate of {aid!r} in {entry.item.document!r} "
                    f"(shingle similarity {similarity:.2f}): is one a copy of the other?",
                )
            )


# --- the spec's fingerprint ---------------------------------------------------------------


def _if_set(**fields: Any) -> list[Any]:
    """Optional fields for the hash, named, and only when set: older specs hash as before."""
    return [[name, value] for name, value in fields.items() if value is not None]


def spec_hash(
    model: ModelFile,
    claims: list[ClaimRecord],
    sources: dict[str, SourceRecord],
    documents: dict[str, DocumentRecord],
    facts: tuple[FactRecord, ...] = (),
    analysts: tuple[AnalystRecord, ...] = (),
) -> str:
    """sha256 of everything the posterior depends on, independent of file layout and comments.

    A stored copy of an evidence file (its document paths rewritten) hashes the same as
    the original, so results can be matched to the spec they were computed from.
    """
    content = {
        "model": model.name,
        "hypotheses": [[h.id, h.prior] for h in model.hypotheses],
        "sources": [
            [
                s.id,
                s.fixed_reliability,
                s.alpha,
                s.beta,
                s.judgment_reliability,
                *_if_set(speaks_for=s.source.speaks_for),
            ]
            for s in sorted(sources.values(), key=lambda s: s.id)
        ],
        "claims": [
            [c.id, c.kind, list(c.theta), c.is_opinion]
            + _if_set(fact=c.fact, if_true=c.if_true, if_false=c.if_false)
            + [
                [
                    a.id,
                    a.source_id,
                    a.document_id,
                    a.quote,
                    a.say_anyway,
                    a.counted,
                    *_if_set(restates=a.restates),
                    *_if_set(witness=a.witness_id if a.witness_id != a.source_id else None),
                ]
                for a in c.attestations
            ]
            for c in claims
        ],
        "documents": {
            d: hashlib.sha256(r.text.encode("utf-8")).hexdigest()
            for d, r in sorted(documents.items())
        },
    }
    if facts:  # only when there are any, so that older specs hash as before
        content["facts"] = [[f.id, list(f.phi), list(f.claims)] for f in facts]
    if analysts:  # the same: a project without judgment files hashes as before
        content["analysts"] = [
            [
                a.id,
                a.judged_by,
                a.blind,
                sorted([c, list(v[0])] for c, v in a.theta.items()),
                sorted([c, list(v)] for c, v in a.signs.items()),
                sorted([f, list(v[0])] for f, v in a.phi.items()),
                None if a.prior is None else list(a.prior),
            ]
            for a in analysts
        ]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()
