"""Quote verification: normalize text, find a quote in its document, say where or what is closest.

Normalization folds what differs between a quote typed by an analyst and the published text:
Unicode compatibility forms, curly and straight quotes, dashes, ellipses, runs of whitespace and
letter case. Nothing else is forgiven: a quote with a changed word is not found.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

_CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    "\u2026": "...",
}
_WORD = re.compile(r"\w+")


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    ch = unicodedata.normalize("NFKC", ch)
    ch = "".join(_CHAR_MAP.get(c, c) for c in ch)
    return ch.casefold()


def normalize(text: str) -> str:
    """Normalize quotes, dashes, whitespace and case; the form quotes are matched in."""
    return NormalizedText(text).text


class NormalizedText:
    """A text in normalized form, with a map from each normalized character to the original."""

    def __init__(self, original: str):
        self.original = original
        chars: list[str] = []
        origin: list[int] = []
        pending_space = False
        for index, ch in enumerate(original):
            if ch.isspace():
                pending_space = bool(chars)
                continue
            if pending_space:
                chars.append(" ")
                origin.append(index - 1)
                pending_space = False
            for folded in _fold_char(ch):
                if folded.isspace():
                    continue
                chars.append(folded)
                origin.append(index)
        self.text = "".join(chars)
        self._origin = origin

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(m.end() for m in re.finditer("\n", self.original))
        return starts

    def position(self, normalized_index: int) -> tuple[int, int]:
        """1-based (line, column) in the original text of a normalized character."""
        import bisect

        offset = self._origin[min(normalized_index, len(self._origin) - 1)] if self._origin else 0
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def excerpt(self, start: int, end: int) -> str:
        """The original text behind normalized characters ``start:end``, on one line."""
        if not self._origin:
            return ""
        first = self._origin[start]
        last = self._origin[min(end, len(self._origin)) - 1] + 1
        return " ".join(self.original[first:last].split())


@dataclass(frozen=True)
class QuoteLocation:
    """Where a quote was found: 1-based line and column in the document."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class ClosestPassage:
    """The passage of a document most similar to a quote that was not found."""

    line: int
    similarity: float
    passage: str


def find_quote(quote: str, document: NormalizedText) -> QuoteLocation | None:
    """Locate ``quote`` in ``document`` after normalization, or return None."""
    needle = normalize(quote)
    if not needle:
        return None
    index = document.text.find(needle)
    if index < 0:
        return None
    line, column = document.position(index)
    return QuoteLocation(line, column)


def closest_passage(quote: str, document: NormalizedText) -> ClosestPassage:
    """The window of the document, of the quote's length, that resembles it most."""
    needle = normalize(quote)
    haystack = document.text
    if not needle or not haystack:
        return ClosestPassage(1, 0.0, "")
    width = len(needle)
    starts = [0, *(m.start() + 1 for m in re.finditer(" ", haystack))]
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(needle)
    best = (-1.0, 0)
    for start in starts:
        matcher.set_seq1(haystack[start : start + width])
        if matcher.real_quick_ratio() <= best[0] or matcher.quick_ratio() <= best[0]:
            continue
        ratio = matcher.ratio()
        if ratio > best[0]:
            best = (ratio, start)
    ratio, start = best
    line, _ = document.position(start)
    return ClosestPassage(line, round(ratio, 2), document.excerpt(start, start + width))


def shingles(text: str, size: int) -> frozenset[tuple[str, ...]]:
    """Word ``size``-grams of the normalized text (the whole text if it is shorter)."""
    words = _WORD.findall(normalize(text))
    if len(words) <= size:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(tuple(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """Jaccard similarity of two sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
