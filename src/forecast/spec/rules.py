"""Every rule a spec must pass, in one place; every problem is reported with file, line and field.

:func:`load_spec` reads the model file, every evidence file naming the model, and the documents
they quote; it returns a validated :class:`~forecast.spec.Spec` or raises
:class:`~forecast.errors.SpecError` listing all problems at once.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from forecast.constants import (
    MAX_DOCUMENT_BYTES,
    NEAR_DUPLICATE_SIMILARITY,
    OPINION_LR_CAP,
    OTHERWISE_KEY,
    PRIOR_SUM_TOLERANCE,
    SAY_ANYWAY_DEFAULTS,
    SHINGLE_WORDS,
    SOURCE_OPINION_LR_CAP,
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
    AttestationRecord,
    Claim,
    ClaimRecord,
    Document,
    DocumentRecord,
    EvidenceFile,
    Hypothesis,
    ModelFile,
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


def _pydantic_problems(loaded: LoadedYaml, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = _data_loc(loaded.data, error["loc"])
        kind = error["type"]
        if kind == "missing":
            message = "missing field"
        elif kind == "extra_forbidden":
            message = "unknown field"
        else:
            message = error["msg"].removeprefix("Value error, ")
        problems.append(loaded.problem(loc, message))
    return problems


def _data_loc(data: Any, loc: Sequence[Any]) -> tuple[str | int, ...]:
    """Keep the part of a pydantic location that addresses the data (drop union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str):
            out.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        else:
            break
    return tuple(out)


def parse_file(loaded: LoadedYaml, schema: type[SchemaT]) -> SchemaT:
    """Validate loaded YAML against a file schema, raising located problems."""
    if not isinstance(loaded.data, dict):
        raise SpecError([loaded.problem((), "expected a mapping of fields at the top level")])
    try:
        return schema.model_validate(loaded.data)
    except ValidationError as exc:
        raise SpecError(_pydantic_problems(loaded, exc)) from None


# --- the checker --------------------------------------------------------------------------


@dataclass
class _File:
    loaded: LoadedYaml
    parsed: EvidenceFile | ModelFile
    documents_dir: Path


@dataclass
class _Entry:
    """A declared item with the file and location it came from."""

    item: Any
    file: _File
    loc: tuple[str | int, ...]

    @property
    def where(self) -> Where:
        return Where(self.file.loaded.display, self.file.loaded.line(self.loc))

    def problem(self, field_name: str | tuple[str | int, ...], message: str) -> Problem:
        tail = field_name if isinstance(field_name, tuple) else (field_name,)
        loc = (*self.loc, *tail)
        return Problem(self.where.path, self.file.loaded.line(loc), format_loc(loc), message)


@dataclass
class _Checker:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
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

    # -- documents and sources --

    def document_text(self, entry: _Entry) -> DocumentRecord | None:
        document: Document = entry.item
        if (document.path is None) == (document.text is None):
            self.add(entry.problem("path", "give exactly one of 'path' or 'text'"))
            return None
        if document.text is not None:
            return DocumentRecord(document, document.text, f"{entry.where} (inline)", entry.where)
        assert document.path is not None
        relative = Path(document.path)
        jail = entry.file.documents_dir
        if relative.is_absolute() or document.path.startswith(("/", "\\")):
            self.add(entry.problem("path", f"document path {document.path!r} must be relative"))
            return None
        if ".." in relative.parts:
            self.add(
                entry.problem("path", f"document path {document.path!r} must not contain '..'")
            )
            return None
        base = self.root if jail == Layout(self.root).seeds else jail
        target = (base / relative).resolve()
        if not target.is_relative_to(jail.resolve()):
            self.add(
                entry.problem(
                    "path", f"document path {document.path!r} leaves {display_path(jail)}/"
                )
            )
            return None
        display = display_path(target)
        try:
            text = read_text_limited(target, display, MAX_DOCUMENT_BYTES, "document")
        except SpecError as exc:
            for problem in exc.problems:
                self.add(entry.problem("path", f"{display}: {problem.message}"))
            return None
        return DocumentRecord(document, text, display, entry.where)

    def check_derivation(self, documents: dict[str, _Entry]) -> None:
        for entry in documents.values():
            parent = entry.item.derived_from
            if parent is None:
                continue
            if parent not in documents:
                self.add(entry.problem("derived_from", f"unknown document {parent!r}"))
                continue
            chain, current = {entry.item.id}, parent
            while current is not None and current in documents:
                if current in chain:
                    self.add(entry.problem("derived_from", f"derivation cycle through {current!r}"))
                    break
                chain.add(current)
                current = documents[current].item.derived_from

    # -- claims --

    def theta(
        self, entry: _Entry, judgments: dict[str, Any], hypotheses: Sequence[Hypothesis], what: str
    ) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] | None:
        ids = [h.id for h in hypotheses]
        ok = True
        for key in judgments:
            if key != OTHERWISE_KEY and key not in ids:
                self.add(entry.problem(("judgments", key), f"unknown hypothesis {key!r}"))
                ok = False
        otherwise = judgments.get(OTHERWISE_KEY)
        missing = [h for h in ids if h not in judgments and otherwise is None]
        if missing:
            self.add(
                entry.problem(
                    "judgments",
                    f"{what} has no judgment for {', '.join(missing)} "
                    f"(give one, or '{OTHERWISE_KEY}')",
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


def _ancestors(document_id: str, documents: dict[str, DocumentRecord]) -> list[str]:
    out, current = [], documents[document_id].document.derived_from
    while current is not None and current in documents and current not in out:
        out.append(current)
        current = documents[current].document.derived_from
    return out


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
    model_path = Path(model_path)
    layout = Layout(find_root(model=model_path))
    checker = _Checker(layout.root)
    seeds = layout.seeds

    files: list[_File] = []
    model_file: _File | None = None
    try:
        loaded = load_yaml(model_path, display_path(model_path))
        model = parse_file(loaded, ModelFile)
        model_file = _File(loaded, model, seeds)
        files.append(model_file)
    except SpecError as exc:
        checker.problems.extend(exc.problems)

    inputs = [(p, seeds, False) for p in layout.evidence_files()]
    inputs += [(e.path, e.documents_dir, True) for e in extra]
    for path, documents_dir, must_match in inputs:
        try:
            loaded = load_yaml(path, display_path(path))
            evidence = parse_file(loaded, EvidenceFile)
        except SpecError as exc:
            checker.problems.extend(exc.problems)
            continue
        if model_file is not None and evidence.model != model_file.parsed.name:
            if must_match:
                checker.add(
                    loaded.problem(
                        ("model",),
                        f"names model {evidence.model!r}, not {model_file.parsed.name!r}",
                    )
                )
            continue
        if not evidence.claims and not evidence.attestations:
            checker.add(loaded.problem((), "evidence file has neither claims nor attestations"))
        files.append(_File(loaded, evidence, documents_dir))

    if model_file is None:
        raise SpecError(checker.problems)
    spec = _resolve(checker, model_file, files)
    if checker.problems:
        raise SpecError(checker.problems)
    assert spec is not None
    return spec


def _resolve(checker: _Checker, model_file: _File, files: list[_File]) -> Spec | None:
    model = model_file.parsed
    assert isinstance(model, ModelFile)

    # hypotheses and priors
    hypotheses = checker.registry(
        (_Entry(h, model_file, ("hypotheses", i)) for i, h in enumerate(model.hypotheses)),
        "hypothesis",
    )
    for entry in hypotheses.values():
        if entry.item.id == OTHERWISE_KEY:
            checker.add(entry.problem("id", f"{OTHERWISE_KEY!r} is reserved in judgments"))
    total = sum(h.prior for h in model.hypotheses)
    if abs(total - 1.0) > PRIOR_SUM_TOLERANCE:
        checker.add(
            model_file.loaded.problem(("hypotheses",), f"priors sum to {total:.12g}, not 1")
        )
    hypothesis_list = model.hypotheses

    # documents and sources, from the model file and every evidence file
    documents = checker.registry(
        (_Entry(d, f, ("documents", i)) for f in files for i, d in enumerate(f.parsed.documents)),
        "document",
    )
    sources = checker.registry(
        (_Entry(s, f, ("sources", i)) for f in files for i, s in enumerate(f.parsed.sources)),
        "source",
    )
    checker.check_derivation(documents)
    for entry in hypotheses.values():
        for i, doc in enumerate(entry.item.proposed_in):
            if doc not in documents:
                checker.add(entry.problem(("proposed_in", i), f"unknown document {doc!r}"))
    document_records: dict[str, DocumentRecord] = {}
    normalized: dict[str, NormalizedText] = {}
    for doc_id, entry in documents.items():
        record = checker.document_text(entry)
        if record is not None:
            document_records[doc_id] = record
            normalized[doc_id] = NormalizedText(record.text)
    source_records = {sid: SourceRecord.resolve(e.item, e.where) for sid, e in sources.items()}

    questions = checker.registry(
        (_Entry(q, model_file, ("questions", i)) for i, q in enumerate(model.questions)),
        "question",
    )
    question_theta = {}
    for qid, entry in questions.items():
        question_theta[qid] = checker.theta(
            entry, entry.item.judgments, hypothesis_list, "question"
        )

    # claims and attestations
    claim_entries = checker.registry(
        (
            _Entry(c, f, ("claims", i))
            for f in files
            if isinstance(f.parsed, EvidenceFile)
            for i, c in enumerate(f.parsed.claims)
        ),
        "claim",
    )
    attestation_entries: list[tuple[_Entry, str]] = []
    for f in files:
        if not isinstance(f.parsed, EvidenceFile):
            continue
        for i, claim in enumerate(f.parsed.claims):
            for j, att in enumerate(claim.attestations):
                attestation_entries.append(
                    (_Entry(att, f, ("claims", i, "attestations", j)), claim.id)
                )
        for i, att in enumerate(f.parsed.attestations):
            attestation_entries.append((_Entry(att, f, ("attestations", i)), att.claim))
    attestations = checker.registry((e for e, _ in attestation_entries), "attestation")
    claim_of = {
        e.item.id: cid for e, cid in attestation_entries if attestations.get(e.item.id) is e
    }

    # claim judgments
    thetas: dict[str, tuple[tuple[float, ...], ...]] = {}
    for cid, entry in claim_entries.items():
        claim: Claim = entry.item
        if claim.kind == "outcome":
            _check_outcome(checker, entry, questions)
            q = question_theta.get(claim.question or "")
            if q is not None:
                if claim.resolution == "yes":
                    thetas[cid] = q
                else:
                    flip = tuple(tuple(1.0 - v for v in part) for part in q)
                    thetas[cid] = (flip[0], flip[2], flip[1])
            continue
        for name in ("question", "resolution"):
            if getattr(claim, name) is not None:
                checker.add(entry.problem(name, f"only an 'outcome' claim has a {name}"))
        t = checker.theta(entry, claim.judgments, hypothesis_list, "claim")
        if t is not None:
            thetas[cid] = t

    # attestations: references, quotes, derivation, witnesses
    verified: dict[str, str] = {}
    by_source_quote: dict[tuple[str, str], _Entry] = {}
    rate_of: dict[tuple[str, str], tuple[float, _Entry]] = {}
    for aid, entry in attestations.items():
        att = entry.item
        cid = claim_of[aid]
        ok = True
        if cid not in claim_entries:
            checker.add(entry.problem("claim", f"unknown claim {cid!r}"))
            ok = False
        elif claim_entries[cid].item.kind == "outcome":
            checker.add(
                entry.problem("id", f"claim {cid!r} is an outcome; outcomes have no attestations")
            )
            ok = False
        if att.source not in sources:
            checker.add(entry.problem("source", f"unknown source {att.source!r}"))
            ok = False
        if att.document not in documents:
            checker.add(entry.problem("document", f"unknown document {att.document!r}"))
            ok = False
        elif att.document in normalized:
            location = find_quote(att.quote, normalized[att.document])
            if location is None:
                close = closest_passage(att.quote, normalized[att.document])
                checker.add(
                    entry.problem(
                        "quote",
                        f"quote not found in {document_records[att.document].display_path}; "
                        f"closest passage (line {close.line}, similarity {close.similarity:.2f}): "
                        f"{close.passage!r}",
                    )
                )
                ok = False
            elif ok:
                verified[aid] = str(location)
        if not ok:
            continue
        key = (att.source, normalize(att.quote))
        first = by_source_quote.get(key)
        if first is not None:
            checker.add(
                entry.problem(
                    "quote",
                    f"source {att.source!r} already attests this quote in {first.item.id!r} "
                    f"(claim {claim_of[first.item.id]!r}, {first.where}): "
                    "one witness counted twice",
                )
            )
        else:
            by_source_quote[key] = entry
        kind = claim_entries[cid].item.kind
        if cid in thetas and _is_opinion(kind, thetas[cid][0]):
            kind = "opinion"
        rate = att.say_anyway if att.say_anyway is not None else SAY_ANYWAY_DEFAULTS[kind]
        previous = rate_of.get((att.source, cid))
        if previous is not None and previous[0] != rate:
            checker.add(
                entry.problem(
                    "say_anyway",
                    f"source {att.source!r} has rate {previous[0]} for claim {cid!r} in "
                    f"{previous[1].item.id!r}; one (source, claim) pair has one rate",
                )
            )
        rate_of.setdefault((att.source, cid), (rate, entry))

    # derived documents: a copy restates, it does not testify again
    attested_in: dict[tuple[str, str], list[str]] = defaultdict(list)
    for aid, entry in attestations.items():
        attested_in[(claim_of[aid], entry.item.document)].append(aid)
    for aid, entry in attestations.items():
        att = entry.item
        if att.document not in document_records:
            continue
        ancestors = _ancestors(att.document, document_records)
        if att.restates is not None:
            target = attestations.get(att.restates)
            if not ancestors:
                checker.add(
                    entry.problem(
                        "restates", f"document {att.document!r} is not derived from another"
                    )
                )
            elif target is None:
                checker.add(entry.problem("restates", f"unknown attestation {att.restates!r}"))
            elif target.item.document not in ancestors:
                checker.add(
                    entry.problem(
                        "restates",
                        f"{att.restates!r} is in {target.item.document!r}, not in a document "
                        f"{att.document!r} derives from",
                    )
                )
            elif claim_of[att.restates] != claim_of[aid]:
                checker.add(
                    entry.problem(
                        "restates",
                        f"{att.restates!r} attests claim {claim_of[att.restates]!r}, "
                        f"not {claim_of[aid]!r}",
                    )
                )
            continue
        for ancestor in ancestors:
            parents = attested_in.get((claim_of[aid], ancestor))
            if parents:
                checker.add(
                    entry.problem(
                        "restates",
                        f"claim {claim_of[aid]!r} is attested in {ancestor!r}, which "
                        f"{att.document!r} derives from ({parents[0]!r}): cite it with 'restates'",
                    )
                )
                break

    # build claim records
    source_seen: dict[str, dict[str, str]] = defaultdict(dict)
    attestation_records: dict[str, list[AttestationRecord]] = defaultdict(list)
    for aid in sorted(attestations):
        entry = attestations[aid]
        att = entry.item
        cid = claim_of[aid]
        if cid not in claim_entries or aid not in verified:
            continue
        rate = rate_of[(att.source, cid)][0]
        counted, because = True, None
        if att.restates is not None:
            counted, because = False, f"restates {att.restates} from a parent document"
        elif att.source in source_seen[cid]:
            counted = False
            because = f"source already counted for this claim via {source_seen[cid][att.source]}"
        else:
            source_seen[cid][att.source] = aid
        attestation_records[cid].append(
            AttestationRecord(
                id=aid,
                claim_id=cid,
                source_id=att.source,
                document_id=att.document,
                quote=att.quote,
                say_anyway=rate,
                restates=att.restates,
                where=entry.where,
                found_at=verified[aid],
                counted=counted,
                not_counted_because=because,
            )
        )

    attested_claims = set(claim_of.values())
    claim_records: list[ClaimRecord] = []
    for cid in sorted(claim_entries):
        entry = claim_entries[cid]
        claim = entry.item
        if cid not in thetas:
            continue
        theta, low, high = thetas[cid]
        records = tuple(attestation_records.get(cid, ()))
        if claim.kind != "outcome" and cid not in attested_claims:
            checker.add(entry.problem("attestations", "claim has no attestation"))
        zero_one = _is_zero_one(theta)
        for i, other in enumerate(claim.contradicts):
            if other not in claim_entries:
                checker.add(entry.problem(("contradicts", i), f"unknown claim {other!r}"))
            elif other in thetas:
                over = [
                    h.id
                    for h, a, b in zip(hypothesis_list, theta, thetas[other][0], strict=True)
                    if a + b > 1.0 + 1e-12
                ]
                if over:
                    checker.add(
                        entry.problem(
                            ("contradicts", i),
                            f"judgments of {cid!r} and {other!r} sum above 1 for {', '.join(over)}",
                        )
                    )
        claim_records.append(
            ClaimRecord(
                id=cid,
                kind=claim.kind,
                text=claim.text,
                date=claim.date,
                theta=theta,
                theta_low=low,
                theta_high=high,
                is_opinion=_is_opinion(claim.kind, theta),
                directly_asserts=claim.kind == "act" and zero_one,
                contradicts=tuple(claim.contradicts),
                question=claim.question,
                resolution=claim.resolution,
                where=entry.where,
                attestations=records,
            )
        )

    _check_opinions(checker, claim_records, source_records, claim_entries, sources)
    _warn_near_duplicates(checker, attestations)

    if checker.problems:
        return None
    return Spec(
        name=model.name,
        title=model.title,
        explanandum=model.explanandum,
        model_path=model_file.loaded.display,
        hypotheses=tuple(model.hypotheses),
        documents=document_records,
        sources=source_records,
        claims=tuple(claim_records),
        evidence_files=tuple(f.loaded.display for f in files[1:]),
        warnings=tuple(sorted(checker.warnings)),
        sha256=spec_hash(model, claim_records, source_records, document_records),
    )


def spec_hash(
    model: ModelFile,
    claims: list[ClaimRecord],
    sources: dict[str, SourceRecord],
    documents: dict[str, DocumentRecord],
) -> str:
    """sha256 of everything the posterior depends on, independent of file layout and comments.

    A stored copy of an evidence file (paths rewritten, comments dropped) hashes the same as
    the original, so results can be matched to the spec they were computed from.
    """
    content = {
        "model": model.name,
        "hypotheses": [[h.id, h.prior] for h in model.hypotheses],
        "sources": [
            [s.id, s.fixed_reliability, s.alpha, s.beta, s.judgment_reliability]
            for s in sorted(sources.values(), key=lambda s: s.id)
        ],
        "claims": [
            [c.id, c.kind, list(c.theta), c.is_opinion]
            + [
                [a.id, a.source_id, a.document_id, a.quote, a.say_anyway, a.counted]
                for a in c.attestations
            ]
            for c in claims
        ],
        "documents": {
            d: hashlib.sha256(r.text.encode("utf-8")).hexdigest()
            for d, r in sorted(documents.items())
        },
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def _check_outcome(checker: _Checker, entry: _Entry, questions: dict[str, _Entry]) -> None:
    claim: Claim = entry.item
    if claim.attestations:
        checker.add(entry.problem("attestations", "an outcome claim has no attestations"))
    if claim.judgments:
        checker.add(entry.problem("judgments", "an outcome takes its judgments from its question"))
    if claim.question is None:
        checker.add(entry.problem("question", "an outcome claim names the question it resolves"))
    elif claim.question not in questions:
        checker.add(entry.problem("question", f"unknown question {claim.question!r}"))
    if claim.resolution is None:
        checker.add(entry.problem("resolution", "an outcome claim needs 'resolution: yes' or 'no'"))


def opinion_likelihood_ratio(claim: ClaimRecord, sources: dict[str, SourceRecord]) -> float:
    """max_h / min_h of P(attestations | h) for an opinion, at fixed judgment reliabilities."""
    counted = claim.counted_attestations
    if not counted:
        return 1.0
    r = np.array([sources[a.source_id].judgment_reliability for a in counted])
    rate = np.array([a.say_anyway for a in counted])
    log_lik = one_claim_log_likelihood(np.asarray(claim.theta), r, rate)
    return float(np.exp(log_lik.max() - log_lik.min()))


def _check_opinions(
    checker: _Checker,
    claims: list[ClaimRecord],
    sources: dict[str, SourceRecord],
    claim_entries: dict[str, _Entry],
    source_entries: dict[str, _Entry],
) -> None:
    per_source: dict[str, np.ndarray] = {}
    for claim in claims:
        if not claim.is_opinion:
            continue
        ratio = opinion_likelihood_ratio(claim, sources)
        if ratio > OPINION_LR_CAP:
            checker.add(
                claim_entries[claim.id].problem(
                    "judgments",
                    f"opinion's likelihood ratio {ratio:.2f} exceeds the cap {OPINION_LR_CAP} "
                    "(lower the sources' judgment reliability or raise say_anyway)",
                )
            )
        for att in claim.counted_attestations:
            source = sources[att.source_id]
            term = one_claim_log_likelihood(
                np.asarray(claim.theta), source.judgment_reliability, att.say_anyway
            )
            per_source[att.source_id] = per_source.get(att.source_id, 0.0) + term
    for source_id, total in sorted(per_source.items()):
        ratio = float(np.exp(total.max() - total.min()))
        if ratio > SOURCE_OPINION_LR_CAP:
            checker.add(
                source_entries[source_id].problem(
                    "judgment_reliability",
                    f"opinions of {source_id!r} together have likelihood ratio {ratio:.2f}, "
                    f"over the per-source cap {SOURCE_OPINION_LR_CAP}",
                )
            )


def _warn_near_duplicates(checker: _Checker, attestations: dict[str, _Entry]) -> None:
    items = dict(sorted(attestations.items()))
    grams = {aid: shingles(entry.item.quote, SHINGLE_WORDS) for aid, entry in items.items()}
    # Only pairs sharing a shingle can be similar: index quotes by shingle instead of
    # comparing all pairs.
    by_gram: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for aid, quote_grams in grams.items():
        for gram in quote_grams:
            by_gram[gram].append(aid)
    candidates = {
        (a, b) for ids in by_gram.values() for i, a in enumerate(ids) for b in ids[i + 1 :]
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
