"""Quote verification: normalize text, find a quote in its document, say where or what is closest.

Normalization folds what differs between a quote typed by an analyst and the published text:
Unicode compatibility forms, curly and straight quotes, dashes, ellipses, runs of whitespace and
letter case. Nothing else is forgiven: a quote with a changed word is not found.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Levenshtein

_CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    "\u2026": "...",
}
_WORD = re.compile(r"\w+")
# How many words each edge of the best window may move to make the closest passage whole words:
# enough for a quote that leaves out or adds a short clause, few enough to stay cheap.
_EDGE_REACH_WORDS = 8


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
    """The passage of the document, cut at word boundaries, that resembles the quote most.

    rapidfuzz's ``partial_ratio_alignment`` finds the window of the quote's normalized length with
    the fewest character insertions and deletions. The search is exhaustive yet fast on a 2 MB
    text: shifting a window by one character changes that count by at most two, which rules out
    most windows unseen. The window's edges then move to the word starts and ends, up to
    ``_EDGE_REACH_WORDS`` words away, that leave the fewest edits from the quote, so the passage
    is whole words even when the quote adds or leaves out some. Its similarity is the normalized
    Indel similarity, 2 x matched characters / total length: difflib's ratio, with the longest
    common subsequence as the matches. It is rounded to two places, and never to 1 for a passage
    that differs from the quote.
    """
    needle = normalize(quote)
    haystack = document.text
    if not needle or not haystack:
        return ClosestPassage(1, 0.0, "")
    start = haystack.find(needle)
    if start >= 0:
        end = start + len(needle)
    else:
        alignment = fuzz.partial_ratio_alignment(needle, haystack)
        start, end = _word_aligned(needle, haystack, alignment.dest_start, alignment.dest_end)
    similarity = Indel.normalized_similarity(needle, haystack[start:end])
    rounded = round(similarity, 2)
    if rounded == 1 and similarity < 1:
        rounded = 0.99
    line, _ = document.position(start)
    return ClosestPassage(line, rounded, document.excerpt(start, end))


def _word_aligned(needle: str, haystack: str, start: int, end: int) -> tuple[int, int]:
    """The passage fewest edits from ``needle`` among those starting and ending at nearby words.

    Edits are Levenshtein's, in which a changed character is one edit: the passage then keeps a
    word the quote changed, where fewest insertions and deletions would leave it out.
    """
    starts = [gap + 1 for gap in _gaps_near(haystack, start) if gap + 1 < len(haystack)]
    ends = [gap for gap in _gaps_near(haystack, end) if gap > 0]
    windows = [(first, last) for first in starts for last in ends if first < last]
    return min(windows, key=lambda window: Levenshtein.distance(needle, haystack[slice(*window)]))


def _gaps_near(text: str, index: int) -> list[int]:
    """Where the spaces between words lie nearest ``index`` on either side, in order.

    The text's two ends count as gaps (-1 and ``len(text)``), so a word start is a gap plus one
    and a word end is a gap.
    """
    gaps = []
    position = index
    for _ in range(_EDGE_REACH_WORDS):
        position = text.rfind(" ", 0, position)
        gaps.append(position)
        if position < 0:
            break
    position = index - 1
    for _ in range(_EDGE_REACH_WORDS):
        position = text.find(" ", position + 1)
        if position < 0:
            gaps.append(len(text))
            break
        gaps.append(position)
    return sorted(set(gaps))


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
