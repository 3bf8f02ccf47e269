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
    """A parsed YAML file: its data and the 1-based line of every key or item in it.

    ``text`` is the text parsed (without a byte-order mark); ``spans`` gives, for every mapping
    entry, the character offsets in ``text`` where its key starts and its value ends.
    """

    display: str
    data: Any
    lines: dict[Loc, int] = field(repr=False)
    spans: dict[Loc, tuple[int, int]] = field(default_factory=dict, repr=False)
    text: str = field(default="", repr=False)

    def line(self, loc: Sequence[str | int]) -> int:
        """Line of the innermost node on ``loc`` that the file has (1 if none)."""
        loc = tuple(loc)
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        """A problem located at ``loc`` in this file."""
        return Problem(self.display, self.line(loc), format_loc(loc), message)


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


def load_yaml(path: Path, display: str | None = None) -> LoadedYaml:
    """Load one YAML file with line numbers; raise ``SpecError`` on any syntax problem."""
    display = display or str(path)
    text = read_text_limited(path, display, MAX_SPEC_BYTES, "file")
    return parse_yaml(text, display)


def parse_yaml(text: str, display: str) -> LoadedYaml:
    """Parse YAML text with line numbers; raise ``SpecError`` on any syntax problem."""
    # YAML ignores a byte-order mark and libyaml's offsets skip it: drop it so ``spans`` index
    # ``text`` with either loader.
    text = text.removeprefix("\ufeff")
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise SpecError([_reader_problem(display, text, exc)]) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.reader.ReaderError as exc:
            raise SpecError([_reader_problem(display, text, exc)]) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            message = f"YAML syntax error: {exc.problem or exc.context}"
            raise SpecError([Problem(display, line, "(file)", message)]) from None
        if node is None:
            raise SpecError([Problem(display, 1, "(file)", "file is empty")])
        walker = _Walker(loader, display)
        data = walker.walk(node, ())
        if walker.problems:
            raise SpecError(walker.problems)
        return LoadedYaml(display, data, walker.lines, walker.spans, text)
    finally:
        loader.dispose()


def _reader_problem(display: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (a NUL byte, say), at its line."""
    line = text.count("\n", 0, max(exc.position, 0)) + 1
    code = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return Problem(display, line, "(file)", f"character U+{code:04X} is not allowed in YAML")


class _Walker:
    """Turn a composed node tree into plain data, recording lines and refusing unsafe tags."""

    def __init__(self, loader: Any, display: str):
        self.loader = loader
        self.display = display
        self.lines: dict[Loc, int] = {}
        self.spans: dict[Loc, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.count = 0
        #: The mappings and sequences being walked, from the root down: a cycle's guard.
        self.open_nodes: set[int] = set()

    def _problem(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.problems.append(
            Problem(self.display, node.start_mark.line + 1, format_loc(loc), message)
        )

    def walk(self, node: yaml.Node, loc: Loc) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            if self.count == _MAX_NODES + 1:
                self._problem(node, loc, f"more than {_MAX_NODES} YAML nodes (alias expansion?)")
            return None
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, loc)
        if node.tag not in _PLAIN_TAGS:
            self._problem(node, loc, f"YAML tag {node.tag!r} is not allowed")
            return None
        if id(node) in self.open_nodes:
            self._problem(node, loc, "an alias refers to a node that contains it (a cycle)")
            return None
        if len(loc) >= _MAX_DEPTH:
            self._problem(node, loc, f"nested more than {_MAX_DEPTH} levels deep")
            return None
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(item, (*loc, i)) for i, item in enumerate(node.value)]
            return self._mapping(node, loc)
        finally:
            self.open_nodes.discard(id(node))

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self._problem(node, loc, f"YAML tag {node.tag!r} is not allowed ({exc.problem})")
            return None
        except ValueError:
            # A timestamp that is no calendar date (2025-02-30): keep the text, so the schema
            # reports it where a date is expected.
            return node.value

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, loc) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self._problem(key_node, loc, "mapping keys must be plain strings")
                continue
            if key in out:
                self._problem(key_node, (*loc, key), "duplicate key")
                continue
            self.lines[(*loc, key)] = key_node.start_mark.line + 1
            self.spans[(*loc, key)] = (key_node.start_mark.index, value_node.end_mark.index)
            out[key] = self.walk(value_node, (*loc, key))
        return out


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
