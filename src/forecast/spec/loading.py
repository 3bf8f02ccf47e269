"""YAML files to plain Python data, remembering the line of every node.

Only PyYAML's safe constructors are used: a ``!!python/...`` tag is reported as an error and
never executed. Duplicate keys, which ``yaml.safe_load`` would silently collapse, are errors.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from forecast.constants import MAX_SPEC_BYTES
from forecast.errors import Problem, SpecError

Loc = tuple[str | int, ...]

_PLAIN_TAGS = {
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
}
#: libyaml's safe loader when PyYAML was built with it (same marks, much faster), else Python's.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Anchors and aliases can make a small file expand enormously; stop well before that.
_MAX_NODES = 200_000
#: No spec needs deeper nesting; a deeper file is refused before it can exhaust the stack.
_MAX_DEPTH = 64


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML file: its text, its data, and the 1-based line of every key or item.

    ``text`` is the text parsed (without a byte-order mark). Lines are found when first asked
    for (a message needs one), by reading the text again: a large file that passes every check
    never holds them. ``spans`` (only when asked for at parsing) gives, for every mapping entry,
    the character offsets in ``text`` where its key starts and its value ends.
    """

    display: str
    data: Any
    text: str = field(default="", repr=False)
    spans: dict[Loc, tuple[int, int]] = field(default_factory=dict, repr=False)
    _lines: dict[Loc, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def lines(self) -> dict[Loc, int]:
        """The line of every key and item, by location."""
        if not self._lines and self.text:
            self._lines.update(_Events(self.text, self.display, lines=True).run().lines)
        return self._lines

    def line(self, loc: Sequence[str | int]) -> int:
        """Line of the innermost node on ``loc`` that the file has (1 if none)."""
        lines = self.lines
        loc = tuple(loc)
        while loc and loc not in lines:
            loc = loc[:-1]
        return lines.get(loc, 1)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        """A problem located at ``loc`` in this file."""
        return Problem(self.display, self.line(loc), format_loc(loc), message)

    def without_data(self) -> LoadedYaml:
        """The same file without its parsed data, once a schema holds it (saves memory)."""
        return LoadedYaml(self.display, None, self.text, self.spans, self._lines)


def format_loc(loc: Sequence[str | int]) -> str:
    """Render a location as a field path: ``claims[3].judgments.powerplay``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def read_text_limited(path: Path, display: str, limit: int, what: str) -> str:
    """Read a UTF-8 text file, refusing one over ``limit`` bytes."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise SpecError([Problem(display, 1, "(file)", f"{what} not found")]) from None
    if not stat.S_ISREG(status.st_mode):  # a folder, or a FIFO that would block the read
        raise SpecError([Problem(display, 1, "(file)", f"{what} is not a regular file")])
    size = status.st_size
    if size > limit:
        raise SpecError(
            [Problem(display, 1, "(file)", f"{what} is {size} bytes, over the {limit}-byte limit")]
        )
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            [Problem(display, 1, "(file)", f"{what} is not UTF-8 text ({exc.reason})")]
        ) from None


def load_yaml(path: Path, display: str | None = None, *, spans: bool = False) -> LoadedYaml:
    """Load one YAML file; raise ``SpecError`` on any syntax problem (see :func:`parse_yaml`)."""
    display = display or str(path)
    text = read_text_limited(path, display, MAX_SPEC_BYTES, "file")
    return parse_yaml(text, display, spans=spans)


def parse_yaml(text: str, display: str, *, spans: bool = False) -> LoadedYaml:
    """Parse YAML text into plain data; raise ``SpecError`` on any syntax problem.

    With ``spans``, also record where each mapping entry starts and ends in the text.
    """
    # YAML ignores a byte-order mark and libyaml's offsets skip it: drop it so ``spans`` index
    # ``text`` with either loader.
    text = text.removeprefix("\ufeff")
    events = _Events(text, display, spans=spans).run()
    return LoadedYaml(display, events.data, text, events.spans)


def _reader_problem(display: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (a NUL byte, say), at its line."""
    line = text.count("\n", 0, max(exc.position, 0)) + 1
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return Problem(display, line, "(file)", f"character U+{code:04X} is not allowed in YAML")


_SCALAR_EVENT, _ALIAS_EVENT = yaml.ScalarEvent, yaml.AliasEvent
_MAPPING_START, _SEQUENCE_START = yaml.MappingStartEvent, yaml.SequenceStartEvent
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_STR_TAG = "tag:yaml.org,2002:str"
#: A key whose entry is left out (it is not a string, or it repeats an earlier key).
_SKIP = object()


class _Frame:
    """A mapping or sequence being read: where it is, what it holds so far."""

    __slots__ = ("anchor", "container", "key", "key_start", "loc")

    def __init__(self, container: Any, loc: Loc, anchor: str | None):
        self.container = container
        self.loc = loc
        self.anchor = anchor
        self.key: Any = None
        self.key_start = 0


class _Events:
    """Read YAML as libyaml's events into plain data: one pass, no node tree, no recursion.

    Scalars are resolved and constructed by PyYAML's safe resolver and constructors, so the
    data is what ``yaml.safe_load`` gives. Unsafe tags, keys that are not strings, duplicate
    keys, alias cycles, too many nodes (alias expansion) and too deep nesting are problems.
    """

    def __init__(self, text: str, display: str, *, lines: bool = False, spans: bool = False):
        self.text, self.display = text, display
        self.record_lines, self.record_spans = lines, spans
        self.lines: dict[Loc, int] = {}
        self.spans: dict[Loc, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.data: Any = None
        self.count = 0
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.resolved: dict[tuple[str, tuple[bool, bool]], str] = {}
        #: Plain scalars already read, by their text: resolved values are immutable.
        self.plain: dict[str, Any] = {}

    def run(self) -> _Events:
        try:
            loader = _Loader(self.text)
        except yaml.reader.ReaderError as exc:
            raise SpecError([_reader_problem(self.display, self.text, exc)]) from None
        try:
            self._read(loader)
        except yaml.reader.ReaderError as exc:
            raise SpecError([_reader_problem(self.display, self.text, exc)]) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            message = f"YAML syntax error: {exc.problem or exc.context}"
            raise SpecError([Problem(self.display, line, "(file)", message)]) from None
        finally:
            loader.dispose()
        if self.problems:
            raise SpecError(self.problems)
        return self

    def _problem(self, mark: Any, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.display, mark.line + 1, format_loc(loc), message))

    def _syntax(self, mark: Any, message: str) -> SpecError:
        return SpecError(
            [Problem(self.display, mark.line + 1, "(file)", f"YAML syntax error: {message}")]
        )

    def _read(self, loader: Any) -> None:
        stack: list[_Frame] = []
        documents = 0
        skipping, after_skip = 0, None  # depth inside a collection that is not read; then what
        get_event, plain, missing = loader.get_event, self.plain, _SKIP
        fast = not (self.record_lines or self.record_spans)
        while True:
            event = get_event()
            kind = type(event)
            if (
                fast
                and kind is _SCALAR_EVENT
                and not skipping
                and stack
                and event.anchor is None
                and event.tag is None
            ):
                # The common case, kept short: an untagged scalar inside a collection.
                if event.implicit[0]:
                    value = plain.get(event.value, missing)
                    if value is missing:
                        value = self._scalar(event, _next_loc(stack[-1]))
                        if not self.problems:
                            plain[event.value] = value
                else:
                    value = event.value
                self.count += 1
                if self.count > _MAX_NODES:
                    message = f"more than {_MAX_NODES} YAML nodes (alias expansion?)"
                    self._problem(event.start_mark, _next_loc(stack[-1]), message)
                    raise SpecError(self.problems)
                frame = stack[-1]
                container = frame.container
                if frame.key is None and type(container) is dict and type(value) is str:
                    if value in container:
                        self._problem(event.start_mark, (*frame.loc, value), "duplicate key")
                        frame.key = _SKIP
                    else:
                        frame.key = value
                    continue
                if type(container) is list:
                    container.append(value)
                    continue
                if frame.key is not None:
                    if frame.key is not _SKIP:
                        container[frame.key] = value
                    frame.key = None
                    continue
                self._place(stack, value, event)  # a key that is not a string
                continue
            if kind is yaml.StreamEndEvent:
                break
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise self._syntax(event.start_mark, "expected a single document in the stream")
                continue
            if kind is yaml.StreamStartEvent or kind is yaml.DocumentEndEvent:
                continue
            starts = kind is _MAPPING_START or kind is _SEQUENCE_START
            if skipping:
                skipping += 1 if starts else -1 if kind in _COLLECTION_END else 0
                if not skipping:
                    after_skip(stack, event)
                continue
            if kind in _COLLECTION_END:
                frame = stack.pop()
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    first = self.anchors[frame.anchor][1]
                    self.anchors[frame.anchor] = (frame.container, self.count - first + 1)
                self._place(stack, frame.container, event)
                continue
            frame = stack[-1] if stack else None
            wants_key = (
                frame is not None and frame.key is None and isinstance(frame.container, dict)
            )
            if wants_key and kind is not _SCALAR_EVENT:  # a collection or an alias as a key
                self._problem(event.start_mark, frame.loc, "mapping keys must be plain strings")
                frame.key = _SKIP
                if starts:
                    skipping, after_skip = 1, _skip_key
                continue
            if frame is not None and frame.key is _SKIP and starts:  # the value of a bad key
                skipping, after_skip = 1, _discard
                continue
            loc = _next_loc(frame)
            self.count += 1
            if self.count > _MAX_NODES:
                message = f"more than {_MAX_NODES} YAML nodes (alias expansion?)"
                self._problem(event.start_mark, loc, message)
                raise SpecError(self.problems)
            if self.record_lines and not wants_key:
                self.lines.setdefault(loc, event.start_mark.line + 1)
            if kind is _SCALAR_EVENT:
                value = self._scalar(event, loc)
                if event.anchor is not None:
                    self._anchor(event, value, 1)
                self._place(stack, value, event)
            elif kind is _ALIAS_EVENT:
                self._place(stack, self._alias(event, loc), event)
            else:
                problem = self._collection_problem(event, loc)
                if problem:
                    self._problem(event.start_mark, loc, problem)
                    skipping, after_skip = 1, self._place_none
                    continue
                opened = _Frame({} if kind is _MAPPING_START else [], loc, event.anchor)
                if event.anchor is not None:
                    self._anchor(event, opened.container, self.count)
                    self.open_anchors.add(event.anchor)
                stack.append(opened)
        if documents == 0:
            raise SpecError([Problem(self.display, 1, "(file)", "file is empty")])

    @staticmethod
    def _collection_problem(event: Any, loc: Loc) -> str | None:
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _PLAIN_TAGS:
            return f"YAML tag {tag!r} is not allowed"
        if len(loc) >= _MAX_DEPTH:
            return f"nested more than {_MAX_DEPTH} levels deep"
        return None

    def _place_none(self, stack: list[_Frame], event: Any) -> None:
        self._place(stack, None, event)

    def _place(self, stack: list[_Frame], value: Any, event: Any) -> None:
        """Put a finished value into the collection being read (or make it the document)."""
        if not stack:
            self.data = value
            return
        frame = stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
            return
        if frame.key is None:  # this value is a key
            if not isinstance(value, str):
                self._problem(event.start_mark, frame.loc, "mapping keys must be plain strings")
                frame.key = _SKIP
            elif value in frame.container:
                self._problem(event.start_mark, (*frame.loc, value), "duplicate key")
                frame.key = _SKIP
            else:
                frame.key = value
                frame.key_start = event.start_mark.index
                if self.record_lines:
                    self.lines[(*frame.loc, value)] = event.start_mark.line + 1
            return
        if frame.key is not _SKIP:
            frame.container[frame.key] = value
            if self.record_spans:
                self.spans[(*frame.loc, frame.key)] = (frame.key_start, event.end_mark.index)
        frame.key = None

    def _scalar(self, event: Any, loc: Loc) -> Any:
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            key = (value, event.implicit)
            tag = self.resolved.get(key)
            if tag is None:
                tag = self.resolved[key] = _RESOLVER.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR_TAG:
            return value
        construct = _CONSTRUCTOR.yaml_constructors.get(tag)
        if construct is None:
            problem = f"could not determine a constructor for the tag {tag!r}"
            self._problem(event.start_mark, loc, f"YAML tag {tag!r} is not allowed ({problem})")
            return None
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
        try:
            return construct(_CONSTRUCTOR, node)
        except yaml.constructor.ConstructorError as exc:
            self._problem(event.start_mark, loc, f"YAML tag {tag!r} is not allowed ({exc.problem})")
            return None
        except ValueError:
            # A timestamp that is no calendar date (2025-02-30): keep the text, so the schema
            # reports it where a date is expected.
            return value

    def _anchor(self, event: Any, value: Any, size: int) -> None:
        if event.anchor in self.anchors:
            raise self._syntax(event.start_mark, f"found duplicate anchor {event.anchor!r}")
        self.anchors[event.anchor] = (value, size)

    def _alias(self, event: Any, loc: Loc) -> Any:
        anchor = event.anchor
        if anchor in self.open_anchors:
            self._problem(
                event.start_mark, loc, "an alias refers to a node that contains it (a cycle)"
            )
            return None
        if anchor not in self.anchors:
            raise self._syntax(event.start_mark, f"found undefined alias {anchor!r}")
        value, size = self.anchors[anchor]
        self.count += size - 1  # an alias stands for every node it repeats
        if self.count > _MAX_NODES:
            self._problem(
                event.start_mark, loc, f"more than {_MAX_NODES} YAML nodes (alias expansion?)"
            )
            raise SpecError(self.problems)
        return value


def _next_loc(frame: _Frame | None) -> Loc:
    """Where the next value read goes (for a mapping key: the mapping itself)."""
    if frame is None:
        return ()
    if isinstance(frame.container, list):
        return (*frame.loc, len(frame.container))
    if frame.key is None or frame.key is _SKIP:
        return frame.loc
    return (*frame.loc, frame.key)


def _skip_key(stack: list[_Frame], event: Any) -> None:
    """After a key that is a collection: its value is left out too."""
    stack[-1].key = _SKIP


def _discard(stack: list[_Frame], event: Any) -> None:
    """After the value of a key that was left out."""
    stack[-1].key = None


#: PyYAML's safe resolver and constructors, used one scalar at a time (no state is kept).
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def dump_yaml(data: Any) -> str:
    """Dump plain data as YAML that :func:`parse_yaml` reads back to equal data."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def replace_entries(loaded: LoadedYaml, entries: Mapping[Loc, tuple[str, Any]]) -> str:
    """The file's text with the mapping entry at each location rewritten as ``key: value``.

    Everything else is kept as written: comments, key order, quoting, blank lines. An entry runs
    from its key to the end of its value, so a multi-line block scalar is replaced whole; the
    line breaks that end it are kept.
    """
    text = loaded.text
    pieces, done = [], 0
    for loc in sorted(entries, key=lambda loc: loaded.spans[loc]):
        start, end = loaded.spans[loc]
        written = text[start:end].rstrip()
        key, value = entries[loc]
        entry = yaml.safe_dump({key: value}, allow_unicode=True, width=math.inf).rstrip("\n")
        pieces += [text[done:start], entry, text[start + len(written) : end].lstrip(" \t")]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)
