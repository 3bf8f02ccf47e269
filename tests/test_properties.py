"""Property tests: quote normalization, YAML and spec round trips, NUTS against exact on random models."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Indel, Levenshtein

from forecast.compat import import_pymc
from forecast.model.likelihood import EvidenceArrays
from forecast.spec.loading import dump_yaml, parse_yaml
from forecast.spec.quotes import (
    ClosestPassage,
    NormalizedText,
    _fold,
    _fold_ascii,
    closest_passage,
    find_quote,
    normalize,
)
from forecast.spec.schema import EvidenceFile


@pytest.fixture(scope="module")
def pymc():
    """PyMC, imported before Hypothesis starts a test: PyTensor raises the recursion limit."""
    return import_pymc()


CURLY = {"'": "\u2019", '"': "\u201c", "-": "\u2014"}
alphabet = st.characters(
    codec="utf-8", categories=("L", "N", "P", "Zs"), include_characters="\n\t’‘“”—–-'\" …"
)


def disguise(text: str, data) -> str:
    """What an analyst might type: other quotes and dashes, other spacing, other case."""
    out = []
    for ch in text:
        choice = data.draw(st.integers(0, 3))
        if ch in CURLY and choice == 0:
            out.append(CURLY[ch])
        elif ch.isspace() and choice == 1:
            out.append("  \n ")
        elif choice == 2:
            out.append(ch.upper() if ch.upper().casefold() == ch.casefold() else ch)
        else:
            out.append(ch)
    return "".join(out)


@given(st.text(alphabet))
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


@given(st.text(alphabet))
def test_normalized_text_knows_where_each_character_came_from(text):
    document = NormalizedText(text)
    origins = [int(o) for o in document._origin]
    assert len(origins) == len(document.text)
    assert origins == sorted(origins)
    folded: dict[int, str] = {}
    for index, (character, origin) in enumerate(zip(document.text, origins, strict=True)):
        if character == " ":
            # One space stands for a run of whitespace, placed at the run's last character.
            assert text[origin].isspace() and not text[origin + 1].isspace()
        else:
            folded[origin] = folded.get(origin, "") + character
        line_start = text.rfind("\n", 0, origin) + 1
        assert document.position(index) == (
            text.count("\n", 0, origin) + 1,
            origin - line_start + 1,
        )
    for origin, character in enumerate(text):
        assert folded.get(origin, "") == normalize(character)


ascii_text = st.text(st.characters(codec="ascii"), max_size=200)


@given(ascii_text)
def test_ascii_text_folds_as_any_text_does(text):
    """The array path for ASCII gives the same text and origins as the general one."""
    fast, slow = _fold_ascii(text), _fold(text)
    assert fast[0] == slow[0]
    assert list(fast[1]) == list(slow[1])


@given(st.one_of(st.text(alphabet), ascii_text))
def test_normalize_is_the_text_of_normalized_text(text):
    assert normalize(text) == NormalizedText(text).text


words = st.sampled_from(["the", "ferry", "left", "late", "a", "crew", "on", "strike", "x"])


@given(st.lists(words, min_size=1, max_size=60), st.data())
def test_find_through_the_word_index_is_str_find(document_words, data):
    document = NormalizedText(" ".join(document_words))
    text = document.text
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    for needle in (text[start:end], " ".join(data.draw(st.lists(words, min_size=1, max_size=5)))):
        assert document.find(needle) == text.find(needle), needle


@given(st.text(alphabet, min_size=1, max_size=300), st.data())
def test_any_passage_is_found_however_it_is_typed(document, data):
    start = data.draw(st.integers(0, len(document) - 1))
    end = data.draw(st.integers(start + 1, len(document)))
    passage = document[start:end]
    if not normalize(passage):
        return
    typed = disguise(passage, data)
    location = find_quote(typed, NormalizedText(document))
    assert location is not None
    first = start + len(passage) - len(passage.lstrip())
    assert location.line <= document.count("\n", 0, first) + 1


@given(
    st.text(alphabet, min_size=20, max_size=200),
    st.text(st.sampled_from("xyzq"), min_size=5, max_size=10),
)
def test_a_changed_word_is_not_found(document, word):
    # A quote containing a letter sequence absent from the document is never "found".
    if normalize(word) in normalize(document):
        return
    assert find_quote(document[:10] + word, NormalizedText(document)) is None


# Words of one length: with 'baa' beside 'baaaaa', a passage without the first word can be as
# close to the quote as the true one, and the line it starts on is then another.
lowercase_words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=5, max_size=5)


@given(st.lists(lowercase_words, min_size=12, max_size=80, unique=True), st.data())
def test_a_passage_with_one_word_changed_is_reported_where_it_starts(words, data):
    document, starts = "", []
    for word in words:
        if document:
            document += data.draw(st.sampled_from([" ", "\n", " \n  "]))
        starts.append(len(document))
        document += word
    first = data.draw(st.integers(0, len(words) - 8))
    last = data.draw(st.integers(first + 8, len(words)))
    changed = data.draw(st.integers(first + 1, last - 2))
    quoted = words[first:last]
    quoted[changed - first] = data.draw(lowercase_words.filter(lambda word: word not in words))
    quote = " ".join(quoted)
    assume(find_quote(quote, NormalizedText(document)) is None)
    close = closest_passage(quote, NormalizedText(document))
    assert close.line == document.count("\n", 0, starts[first]) + 1
    edits_from_source = Levenshtein.distance(quote, " ".join(words[first:last]))
    assert Levenshtein.distance(quote, close.passage) <= edits_from_source
    # One changed word (at most 10 insertions and deletions) in a quote of at least 47 characters.
    assert close.similarity >= 0.7


@given(st.text(alphabet, max_size=300), st.text(alphabet, min_size=1, max_size=80))
def test_closest_passage_is_a_passage_of_the_document_scored_against_the_quote(document, quote):
    close = closest_passage(quote, NormalizedText(document))
    if not normalize(quote) or not normalize(document):
        assert close == ClosestPassage(1, 0.0, "")
        return
    assert close.passage in " ".join(document.split())
    assert 1 <= close.line <= document.count("\n") + 1
    if find_quote(quote, NormalizedText(document)) is not None:
        assert close.similarity == 1.0
        return
    similarity = Indel.normalized_similarity(normalize(quote), normalize(close.passage))
    assert close.similarity == min(round(similarity, 2), 0.99)


@given(st.text(alphabet, min_size=200, max_size=400), st.data())
def test_a_near_miss_is_never_reported_as_a_perfect_match(document, data):
    # Dropping one character of a long passage leaves a similarity above 0.995.
    cut = data.draw(st.integers(0, len(document) - 1))
    quote = document[:cut] + document[cut + 1 :]
    assume(find_quote(quote, NormalizedText(document)) is None)
    assert closest_passage(quote, NormalizedText(document)).similarity == 0.99


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(alphabet, max_size=40),
    st.dates(),
)
yaml_data = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(alphabet, min_size=1, max_size=10), children, max_size=4),
    ),
    max_leaves=20,
)


@pytest.mark.slow
@given(
    st.dictionaries(st.text(alphabet, min_size=1, max_size=12), yaml_data, min_size=1, max_size=5)
)
def test_yaml_load_dump_load_round_trip(data):
    loaded = parse_yaml(dump_yaml(data), "x.yaml")
    assert loaded.data == data
    assert parse_yaml(dump_yaml(loaded.data), "x.yaml").data == loaded.data


ids = st.from_regex(re.compile(r"[a-z][a-z0-9-]{0,10}"), fullmatch=True)
words = st.sampled_from(
    ["likely", "very unlikely", "almost certain", "roughly even chance", "remote"]
)
numbers = st.floats(0, 1, allow_nan=False)
judgment = st.one_of(words, numbers, st.tuples(numbers, numbers).map(lambda t: sorted(t)))
texts = st.text(alphabet, min_size=1, max_size=60).filter(lambda s: s.strip() == s and s)
attestation = st.fixed_dictionaries(
    {"id": ids, "source": ids, "document": ids, "quote": texts},
    optional={"say_anyway": st.floats(0.01, 1), "restates": ids},
)
claim = st.fixed_dictionaries(
    {
        "id": ids,
        "kind": st.sampled_from(["act", "statement", "opinion"]),
        "text": texts,
        "judgments": st.dictionaries(ids, judgment, max_size=4),
        "attestations": st.lists(attestation, max_size=3),
    },
    optional={
        "date": st.dates(dt.date(1990, 1, 1), dt.date(2030, 1, 1)),
        "contradicts": st.lists(ids, max_size=2),
    },
)
evidence = st.fixed_dictionaries(
    {
        "model": ids,
        "judged_by": texts,
        "judged_on": st.dates(),
        "claims": st.lists(claim, min_size=1, max_size=3),
    }
)


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(evidence)
def test_evidence_file_load_dump_load_round_trip(data):
    parsed = EvidenceFile.model_validate(parse_yaml(dump_yaml(data), "e.yaml").data)
    dumped = parsed.model_dump(exclude_defaults=True)
    again = EvidenceFile.model_validate(parse_yaml(dump_yaml(dumped), "e.yaml").data)
    assert again == parsed
    assert again.model_dump(exclude_defaults=True) == dumped


# --- random small models: NUTS against the exact engine ------------------------------------


@st.composite
def small_models(draw):
    n_hyp = draw(st.integers(2, 4))
    n_src = draw(st.integers(1, 3))
    n_claims = draw(st.integers(1, 5))
    theta = np.array(
        [
            [draw(st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.8, 1.0])) for _ in range(n_hyp)]
            for _ in range(n_claims)
        ]
    )
    pairs = []
    for c in range(n_claims):
        sources = draw(st.lists(st.integers(0, n_src - 1), min_size=1, max_size=n_src, unique=True))
        pairs += [(c, s, draw(st.sampled_from([0.1, 0.3, 0.5, 0.9]))) for s in sources]
    prior = np.array([draw(st.integers(1, 5)) for _ in range(n_hyp)], dtype=float)
    alpha = np.array([draw(st.sampled_from([1.0, 2.0, 6.0])) for _ in range(n_src)])
    beta = np.array([draw(st.sampled_from([1.0, 2.0, 4.0])) for _ in range(n_src)])
    return EvidenceArrays(
        hypothesis_ids=tuple(f"h{i}" for i in range(n_hyp)),
        claim_ids=tuple(f"c{i}" for i in range(n_claims)),
        log_prior=np.log(prior / prior.sum()),
        theta=theta,
        pair_claim=np.array([p[0] for p in pairs]),
        pair_source=tuple(f"s{p[1]}" for p in pairs),
        pair_slot=np.array([p[1] for p in pairs]),
        pair_fixed=np.full(len(pairs), np.nan),
        say_anyway=np.array([p[2] for p in pairs]),
        direct=np.zeros(n_claims, dtype=bool),
        sampled_sources=tuple(f"s{i}" for i in range(n_src)),
        alpha=alpha,
        beta=beta,
    )


@pytest.mark.slow
@settings(
    max_examples=5, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(arrays=small_models())
def test_random_small_models_nuts_agrees_with_exact(pymc, arrays):
    from forecast.model.build import build_model
    from forecast.model.exact import exact_posterior
    from forecast.model.sample import add_hypothesis_posterior, agreement_of

    pm = pymc
    exact = exact_posterior(arrays)
    with build_model(arrays):
        idata = pm.sample(
            draws=500,
            tune=500,
            chains=2,
            cores=1,
            random_seed=7,
            progressbar=False,
            compute_convergence_checks=False,
        )
    add_hypothesis_posterior(arrays, idata)
    agreement = agreement_of(idata, exact)
    assert agreement.within, (agreement.difference, agreement.tolerance)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, derandomize=True)
@given(small_models())
def test_random_small_models_importance_sampling_agrees_with_quadrature(arrays):
    from forecast.model.exact import exact_posterior

    quadrature = exact_posterior(arrays)
    sampled = exact_posterior(arrays, max_dim=0, max_grid=0, draws=20_000)
    tolerance = np.maximum(4 * sampled.standard_error, 1e-6)
    assert np.all(np.abs(sampled.posterior - quadrature.posterior) <= tolerance)
