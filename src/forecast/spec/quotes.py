"""Quote verification: normalize text, find a quote in its document, say where or what is closest.

Normalization folds what differs between a quote typed by an analyst and the published text:
Unicode compatibility forms, curly and straight quotes, dashes, ellipses, runs of whitespace and
letter case. Nothing else is forgiven: a quote with a changed word is not found.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from array import array
from dataclasses import dataclass
from functools import cached_property

import numpy as np
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


@functools.lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Normalize quotes, dashes, whitespace and case; the form quotes are matched in."""
    if text.isascii():  # the common case, in C: NFKC changes no ASCII, casefold is lower
        return " ".join(text.translate(_ASCII_MAP).lower().split())
    return NormalizedText(text).text


#: The one ASCII character the fold maps: a backtick is an apostrophe.
_ASCII_MAP = str.maketrans(
    {c: v for c, v in _CHAR_MAP.items() if c.isascii() and len(v) == 1 and v.isascii()}
)
#: Byte tables for folding ASCII text: which bytes are whitespace, and each byte folded.
_ASCII_SPACE = np.array([chr(b).isspace() for b in range(128)] + [False] * 128, dtype=bool)
_ASCII_FOLDED = np.array(
    [ord(chr(b).translate(_ASCII_MAP).lower()) if b < 128 else b for b in range(256)],
    dtype=np.uint8,
)
#: Quotes are found through the first characters of the words they contain.
_GRAM = 4
#: A word so common that checking all its places would be slower than a plain search.
_MAX_CANDIDATES = 4096


class NormalizedText:
    """A text in normalized form, with a map from each normalized character to the original."""

    def __init__(self, original: str):
        self.original = original
        if original.isascii():
            self.text, self._origin = _fold_ascii(original)
        else:
            self.text, self._origin = _fold(original)

    def find(self, needle: str) -> int:
        """The first index of ``needle`` (already normalized) in the text, or -1.

        The same answer as ``text.find``, found through two indexes of the text's words, by
        their first and by their last ``_GRAM`` characters. Wherever the needle occurs, each of
        its words that follows a space starts a word of the text, and its first word, if a
        space follows it, ends one. The places of the rarest such word are the only candidates.
        """
        candidates = []
        first_space = needle.find(" ")
        if first_space >= _GRAM:
            ends = self._word_ends.get(needle[first_space - _GRAM : first_space], ())
            candidates.append((ends, first_space))
        starts = self._word_starts
        for i in range(first_space, len(needle) - _GRAM) if first_space >= 0 else ():
            if needle[i] == " ":
                candidates.append((starts.get(needle[i + 1 : i + 1 + _GRAM], ()), i + 1))
        if not candidates:
            return self.text.find(needle)
        places, offset = min(candidates, key=lambda candidate: len(candidate[0]))
        if len(places) > _MAX_CANDIDATES:
            return self.text.find(needle)
        for place in places:
            if place >= offset and self.text.startswith(needle, place - offset):
                return place - offset
        return -1

    @property
    def _word_starts(self) -> dict[str, array]:
        """Where each word of the text starts, by its first ``_GRAM`` characters, in order."""
        return self._word_indexes[0]

    @property
    def _word_ends(self) -> dict[str, array]:
        """Where each word of the text ends (the index after it), by its last characters."""
        return self._word_indexes[1]

    @cached_property
    def _word_indexes(self) -> tuple[dict[str, array], dict[str, array]]:
        text = self.text
        starts, ends = [], []
        place = 0
        for word in text.split(" "):  # normalized text has single spaces and no others
            starts.append((text[place : place + _GRAM], place))
            place += len(word)
            ends.append((text[max(place - _GRAM, 0) : place], place))
            place += 1
        return _index(starts), _index(ends)

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(m.end() for m in re.finditer("\n", self.original))
        return starts

    def position(self, normalized_index: int) -> tuple[int, int]:
        """1-based (line, column) in the original text of a normalized character."""
        import bisect

        size = len(self._origin)
        offset = int(self._origin[min(normalized_index, size - 1)]) if size else 0
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def excerpt(self, start: int, end: int) -> str:
        """The original text behind normalized characters ``start:end``, on one line."""
        if not len(self._origin):
            return ""
        first = int(self._origin[start])
        last = int(self._origin[min(end, len(self._origin)) - 1]) + 1
        return " ".join(self.original[first:last].split())


def _index(keyed: list[tuple[str, int]]) -> dict[str, array]:
    """Places by key, each list in the order given (compact arrays)."""
    index: dict[str, array] = {}
    for key, place in keyed:
        found = index.get(key)
        if found is None:
            index[key] = found = array("q")
        found.append(place)
    return index


def _fold(original: str) -> tuple[str, np.ndarray]:
    """Normalize any text, one character at a time, remembering where each came from."""
    chars: list[str] = []
    origin = array("q")
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
    return "".join(chars), np.frombuffer(origin, dtype=np.int64)


def _fold_ascii(original: str) -> tuple[str, np.ndarray]:
    """:func:`_fold` for ASCII text, with arrays: the same text and origins, far faster.

    A run of whitespace between two characters becomes one space, whose origin is the run's
    last character; whitespace at either end goes.
    """
    raw = np.frombuffer(original.encode("ascii"), dtype=np.uint8)
    kept = np.flatnonzero(~_ASCII_SPACE[raw])
    gaps = np.flatnonzero(np.diff(kept) > 1) + 1
    origin = np.insert(kept, gaps, kept[gaps] - 1)
    chars = np.insert(_ASCII_FOLDED[raw[kept]], gaps, ord(" "))
    return chars.tobytes().decode("ascii"), origin


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
    index = document.find(needle)
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


def shingles(text: str, size: int) -> frozenset[int]:
    """Word ``size``-grams of the normalized text (the whole text if it is shorter), hashed.

    Hashes, not the word tuples: a large project holds one set per quote, and only whether
    two quotes share a shingle matters (two different shingles share a hash about once in
    2^64 pairs).
    """
    words = _WORD.findall(normalize(text))
    if len(words) <= size:
        return frozenset([hash(tuple(words))]) if words else frozenset()
    return frozenset(hash(tuple(words[i : i + size])) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    """Jaccard similarity of two sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
