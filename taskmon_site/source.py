"""Reading source files: bytes → text → front matter + body, with problems.

Nothing here raises on bad input: each reader returns what it could read and
a list of :class:`Problem` naming the file and, where known, the line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # The C loader is several times faster; the pure-Python one is the fallback.
    from yaml import CBaseLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import BaseLoader as _BaseLoader


@dataclass
class Problem:
    """Something in a source file that could not be read as intended."""

    src_uri: str
    message: str
    line: int | None = None
    level: str = "warning"

    def __str__(self) -> str:
        where = f"{self.src_uri}:{self.line}" if self.line else self.src_uri
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.src_uri, "line": self.line, "message": self.message,
                "level": self.level}


@dataclass
class SourceText:
    """A decoded file: its text with LF line ends, and how it was stored."""

    text: str
    encoding: str
    problems: list[Problem] = field(default_factory=list)


#: Byte-order marks and their encodings, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode(data: bytes, src_uri: str) -> SourceText:
    """Decode by byte-order mark, else UTF-8; fall back to GB18030 with a warning.

    A file with NUL bytes (outside UTF-16/32) is not text: it gives an empty
    text and an error, like Git's rule for binary files.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    problems = []
    if encoding in ("utf-16", "utf-32"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            text = data.decode(encoding, errors="replace")
            line = data[: exc.start].decode(encoding, errors="replace").count("\n") + 1
            message = f"not valid {encoding.upper()}; bad bytes replaced"
            problems.append(Problem(src_uri, message, line))
    elif b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        message = "not a text file (it has NUL bytes); nothing of it is read"
        return SourceText("", "binary", [Problem(src_uri, message, line, "error")])
    else:
        if encoding == "utf-8-sig":
            data = data[3:]
        text, encoding, problems = _decode_8bit(data, src_uri, encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SourceText(text, encoding, problems)


def _decode_8bit(data: bytes, src_uri: str, encoding: str) -> tuple[str, str, list[Problem]]:
    try:
        return data.decode("utf-8"), encoding, []
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("gb18030")
            return text, "gb18030", [Problem(src_uri, "not UTF-8; decoded as GB18030")]
        except UnicodeDecodeError:
            line = data[: exc.start].count(b"\n") + 1
            problem = Problem(src_uri, "not valid UTF-8; bad bytes replaced", line)
            return data.decode("utf-8", errors="replace"), encoding, [problem]


#: What YAML reads as null when not quoted: kept as "" (like an empty value), not text.
_YAML_NULLS = frozenset({"~", "null", "Null", "NULL"})


class _KeepAsWrittenLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Every scalar stays the string it was written as (a null stays ""); duplicate keys
    are noted.

    Ids like ``0012`` and dates like ``2025-02-23`` must not become numbers or
    dates (the YAML 1.1 resolver would turn ``0012`` into 10).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_scalar(self, node: yaml.ScalarNode) -> str:
        value = super().construct_scalar(node)
        if not node.style and value in _YAML_NULLS:  # plain: None, or "" from the C parser
            return ""  # no value, as a key with nothing after it
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as key: construct_mapping's error names it
            key = key_node.value
            if key in seen:
                self.duplicates.append((key, key_node.start_mark.line))
            seen.add(key)
        return super().construct_mapping(node, deep=True)


_YAML_OPEN = re.compile(r"-{3,}[ \t]*")
_YAML_CLOSE = re.compile(r"(?:-{3,}|\.\.\.)[ \t]*")
_TOML_FENCE = re.compile(r"\+{3}[ \t]*")


@dataclass
class Parsed:
    """A Markdown file split into metadata and body."""

    meta: dict[str, Any]
    body: str
    #: 1-based line number in the file where the body starts.
    body_line: int
    has_front_matter: bool
    problems: list[Problem] = field(default_factory=list)
    #: Front-matter key → its 1-based line in the file (the last one for a repeated key).
    key_lines: dict[str, int] = field(default_factory=dict)


def split_front_matter(text: str, src_uri: str) -> Parsed:
    """Separate YAML (``---``) or TOML (``+++``) front matter from the body; never raises.

    YAML front matter may also end with YAML's own end marker, ``...``.
    """
    first = text[: text.find("\n")] if "\n" in text else text
    if _YAML_OPEN.fullmatch(first):
        close, fence, load = _YAML_CLOSE, "---", load_yaml
    elif _TOML_FENCE.fullmatch(first):
        close, fence, load = _TOML_FENCE, "+++", load_toml
    else:
        return Parsed({}, text, 1, False)
    lines = text.split("\n")
    end = next((i for i in range(1, len(lines)) if close.fullmatch(lines[i])), None)
    if end is None:
        problem = Problem(src_uri, f"front matter is not closed by a '{fence}' line", 1, "error")
        return Parsed({}, text, 1, False, [problem])
    # A leading empty line stands for the opening fence, so line n of fm is file line n + 1.
    fm = "\n".join(["", *lines[1:end], ""])
    meta, problems, key_lines = load(fm, src_uri)
    return Parsed(meta, "\n".join(lines[end + 1:]), end + 2, True, problems, key_lines)


Loaded = tuple[dict[str, Any], list[Problem], dict[str, int]]


def load_yaml(fm: str, src_uri: str) -> Loaded:
    """Front matter as a dict of strings/lists/dicts, its problems and its key lines.

    Line n (0-based) of *fm* is line n + 1 of the file.
    """
    try:
        loader = _KeepAsWrittenLoader(fm)
        try:
            node = loader.get_single_node()
            too_big = _alias_bomb(node, src_uri) if node is not None else None
            if too_big:
                return {}, [too_big], {}
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        return {}, [_yaml_problem(exc, src_uri)], {}
    problems = [
        Problem(src_uri, f"duplicate front-matter key {key!r}; the last value is used",
                line + 1)
        for key, line in loader.duplicates
    ]
    if data is None:
        return {}, problems, {}
    if not isinstance(data, dict):
        problems.append(Problem(src_uri, "front matter is not a mapping of keys to values",
                                2, "error"))
        return {}, problems, {}
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value
             if isinstance(k, yaml.ScalarNode)}
    return {str(k): v for k, v in data.items()}, problems, lines


_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)$")


def load_toml(fm: str, src_uri: str) -> Loaded:
    """TOML front matter, its values turned into text as YAML's are kept."""
    try:
        data = tomllib.loads(fm)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_LINE.search(message)
        line = int(found.group(1)) if found else None
        reason = message[: found.start()].rstrip() if found else message
        problem = Problem(src_uri, f"front matter is not valid TOML: {reason}", line, "error")
        return {}, [problem], {}
    return {k: _toml_text(v) for k, v in data.items()}, [], _toml_key_lines(fm)


_TOML_KEY = re.compile(r"\s*(?:\"((?:[^\"\\]|\\.)*)\"|'([^']*)'|([\w-]+))\s*[=.]")


def _toml_key_lines(fm: str) -> dict[str, int]:
    """Lines of the top-level keys: those before the first ``[table]``."""
    found: dict[str, int] = {}
    for number, line in enumerate(fm.split("\n")):
        if line.lstrip().startswith("["):
            break
        match = _TOML_KEY.match(line)
        if match:
            key = next(g for g in match.groups() if g is not None)
            found.setdefault(key, number + 1)
    return found


def _toml_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _toml_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


#: How many values YAML aliases may add to a front matter by repeating others.
ALIAS_LIMIT = 10_000


def _alias_bomb(root: yaml.Node, src_uri: str) -> Problem | None:
    """A problem when aliases would multiply the front matter ("billion laughs").

    PyYAML shares an aliased node instead of copying it, so the loaded data is
    small; it is every later use (templates, JSON) that would expand it.
    """
    sizes = _expanded_sizes(root)
    added = sizes[id(root)] - len(sizes)
    if added <= ALIAS_LIMIT:
        return None
    where = root
    if isinstance(root, yaml.MappingNode) and root.value:
        where, _ = max(root.value, key=lambda pair: sizes[id(pair[1])])
    return Problem(src_uri, f"front matter is not read: its YAML aliases would add {added:,} "
                   f"values (the limit is {ALIAS_LIMIT:,})", where.start_mark.line + 1, "error")


def _expanded_sizes(root: yaml.Node) -> dict[int, int]:
    """id(node) → number of values under it with aliases expanded, for every node."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes and not children_done:
            continue
        children = _children(node)
        if children_done:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 0) for c in children)
            continue
        sizes[id(node)] = 1  # a recursive alias counts once; the constructor refuses it
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _yaml_problem(exc: yaml.YAMLError, src_uri: str) -> Problem:
    """The YAML error at its file line, with where the broken construct began."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None and context_mark.line + 1 != line:
        reason += f" ({context} that starts on line {context_mark.line + 1})"
    return Problem(src_uri, f"front matter is not valid YAML: {reason}", line, "error")


_PREAMBLE_KEY = re.compile(r"^([A-Za-z_][\w-]*|[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z_]*)"
                           r"\s*[:：]\s*(\S.*)")
_COMMENT = re.compile(r"\s#\s")


def preamble_fields(body: str) -> dict[str, tuple[str, int]]:
    """``key: value`` lines that older task files put under the title.

    Only the lines before the first second-level heading are read; a trailing
    ``# comment`` is dropped. Returns {key: (value, 0-based body line)}.
    """
    found: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(body.split("\n")):
        if line.startswith("## ") or line.startswith("```"):
            break
        match = _PREAMBLE_KEY.match(line)
        if match and not line.startswith("#"):
            value = _COMMENT.split(match.group(2), 1)[0].strip()
            found.setdefault(match.group(1), (value, number))
    return found
