"""Safe, surgical edits of task files that people and agents both write.

A task file is read as bytes and edited as text lines. An edit replaces only
the value token of one front-matter line, or inserts one line where a key is
absent, so key order, quoting, comments, indentation, line endings, encoding
and BOM stay byte-for-byte as they were. YAML is never re-dumped.

Edits are pure: each returns a new :class:`TaskFile`. :func:`write_task_file`
puts one on disk atomically and refuses when the file changed since it was read.

A repository's ``taskmon.toml`` may spell fields, statuses and roles its own
way (``[fields]``, ``[statuses]``, ``[roles]``); a file read with those
:class:`Spellings` is understood as the site understands it, and written back
in its own vocabulary (see :func:`set_status`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from taskmon_site import fields, vocab

if TYPE_CHECKING:
    from taskmon_site.config import Config

__all__ = [
    "ConflictError", "EditError", "EncodingError", "FrontMatterError",
    "InvalidTaskIdError", "ReadOnlyError", "Spellings", "TaskExistsError", "TaskFile",
    "TransitionError", "UnknownRoleError", "UnknownStatusError", "add_comment",
    "check_writable", "create_task", "handoff", "new_task_id", "new_task_text",
    "parse_task_bytes",
    "read_task_file", "set_status", "write_task_file",
]


# -- errors ------------------------------------------------------------------

class EditError(Exception):
    """A task file cannot be edited as asked; nothing was written."""

    def __init__(self, path: str | Path | None, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)


class UnknownStatusError(EditError):
    """A status spelling that the vocabulary does not know."""


class UnknownRoleError(EditError):
    """A role spelling that the vocabulary does not know."""


class TransitionError(EditError):
    """A status change that the lifecycle does not allow."""

    def __init__(self, path: str | Path, message: str, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        super().__init__(path, message)


class FrontMatterError(EditError):
    """Front matter that cannot be edited without touching more than one value."""


class EncodingError(EditError):
    """Bytes that are neither UTF-8 nor GB18030, or would not survive a rewrite."""


class ConflictError(EditError):
    """The file changed on disk since it was read; re-read it and retry."""


class TaskExistsError(EditError):
    """A new task would overwrite an existing file."""


class InvalidTaskIdError(EditError):
    """A task id that is not a safe file name."""


class ReadOnlyError(EditError):
    """A file without write permission: someone meant it not to change."""


# -- field names of the two front-matter variants ------------------------------

#: Keys the site reads for each canonical field; an edit finds existing values by these.
_READ_KEYS = fields.PRESETS["workflow"]

#: The key written where a field is absent: (Chinese variant, English variant).
_WRITE_KEYS: dict[str, tuple[str | None, str | None]] = {
    "id": ("任务ID", "task_id"),
    "session": (None, "session_id"),
    "flow": ("流程", "flow_file"),
    "current_role": ("当前角色", "current_role"),
    "next_role": ("下一角色", "next_role"),
    "status": ("状态", "status"),
    "created": ("创建", "created_at"),
    "updated": ("更新", "updated_at"),
    "completed": ("完成", "completed_at"),
}
_FIELD_ORDER = tuple(_WRITE_KEYS)
_DATE_FIELDS = ("created", "updated", "completed")
#: Any date in the workflow documents' own format, for files that show none.
_DEFAULT_DATE = "2000-01-01 00:00:00"
_CJK_RE = re.compile(r"[\u3400-\u9fff]")

#: How a comment entry dates itself; minutes, like the work-log headings.
COMMENT_DATE_FORMAT = "%Y-%m-%d %H:%M"
COMMENT_HEADINGS = {"zh": "评论", "en": "Comments"}

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+\Z")
#: A top-level key: plain, or quoted as YAML allows (``"status":``, ``'status':``).
_KEY_RE = re.compile(
    r"""(?:(?P<plain>[^\s#:'"?\-][^:#]*?)"""
    r"""|(?P<dq>"(?:[^"\\\r\n]|\\.)*")"""
    r"""|(?P<sq>'(?:[^'\r\n]|'')*'))"""
    r"""[ \t]*:(?=[ \t\r\n]|$)"""
)
#: Front-matter fences as the site's reader takes them: three or more dashes open
#: the block, they or YAML's "..." end marker close it.
_OPEN_RE = re.compile(r"-{3,}[ \t]*")
_CLOSE_RE = re.compile(r"(?:-{3,}|\.\.\.)[ \t]*")
#: TOML front matter, which the site reads but the editor does not write.
_TOML_RE = re.compile(r"\+{3}[ \t]*")
_HEADING_RE = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*")
_FENCE_RE = re.compile(r"(`{3,}|~{3,})(.*)")
#: The start of a line (its indent gone) that makes a heading: ``#`` … ``######``
#: (ATX), or a line of ``=`` or ``-`` alone (it underlines the line before it: setext).
_HEADING_MARK = re.compile(r"#{1,6}(?=[ \t]|$)|[=-]+[ \t]*$")
_TASK_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_DATE_RE = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:(?P<t>[ T])(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>\.\d+)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_PLAIN_UNSAFE_START = set("-?:,[]{}#&*!|>'\"%@`")


# -- a repository's own spellings --------------------------------------------------

@dataclass(frozen=True)
class Spellings:
    """How a repository spells fields, statuses and roles besides the workflow's words.

    The default knows the workflow's two front-matter variants only; a site's
    config adds its ``[fields]`` (preset and extra keys), ``[statuses]`` and
    ``[roles]`` through :meth:`from_config`.
    """

    preset: str = "workflow"  #: the field preset, as in fields.PRESETS
    keys: tuple[tuple[str, tuple[str, ...]], ...] = ()  #: field → keys tried first
    statuses: tuple[tuple[str, str], ...] = ()  #: spelling → status id, in config order
    roles: tuple[tuple[str, str], ...] = ()  #: spelling → role id, in config order

    @classmethod
    def from_config(cls, config: Config) -> Spellings:
        return cls(
            preset=config.fields_preset,
            keys=tuple((name, tuple(keys)) for name, keys in config.fields.items()),
            statuses=tuple(config.statuses.items()), roles=tuple(config.roles.items()),
        )

    def extra_keys(self, field: str) -> tuple[str, ...]:
        return dict(self.keys).get(field, ())

    def preset_keys(self, field: str) -> tuple[str, ...]:
        return tuple(fields.PRESETS[self.preset].get(field, ()))

    def table(self, field: str) -> tuple[tuple[str, str], ...]:
        """The configured spellings of the values of *field* (status or a role)."""
        return self.statuses if field == "status" else self.roles

    def status(self, value: str) -> str | None:
        return vocab.canonical_status(value, dict(self.statuses))

    def role(self, value: str) -> str | None:
        return vocab.canonical_role(value, dict(self.roles))

    def canonical(self, field: str, value: str) -> str | None:
        """The id a value of *field* (status or a role) stands for, or None."""
        return self.status(value) if field == "status" else self.role(value)


WORKFLOW_SPELLINGS = Spellings()


# -- the file model ---------------------------------------------------------------

@dataclass(frozen=True)
class FrontMatter:
    """Where the front matter block sits, as indexes into :attr:`TaskFile.lines`."""

    open: int
    close: int
    keys: dict[str, int]
    duplicates: frozenset[str]


@dataclass(frozen=True)
class Slot:
    """Where a value sits on its line: ``line[:start] + token + line[end:]``."""

    start: int
    end: int
    quote: str  #: '"', "'" or "" (plain)
    value: str  #: the decoded value


@dataclass(frozen=True)
class TaskFile:
    """A task file as read, or as edited but not yet written."""

    path: Path
    lines: tuple[str, ...]  #: decoded lines, each with its own line ending
    encoding: str  #: "utf-8" or "gb18030"
    bom: bool
    newline: str  #: the file's dominant line ending, used for new lines
    digest: str  #: sha256 of the bytes as read, for conflict detection
    mtime_ns: int | None = None
    spellings: Spellings = WORKFLOW_SPELLINGS  #: how its repository spells things

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def to_bytes(self) -> bytes:
        return (("\ufeff" if self.bom else "") + self.text).encode(self.encoding)

    @property
    def modified(self) -> bool:
        return _sha256(self.to_bytes()) != self.digest

    @cached_property
    def front_matter(self) -> FrontMatter | None:
        return _find_front_matter(self.lines)

    @property
    def variant(self) -> str:
        """"zh" for Chinese front-matter keys, else "en"."""
        fm = self.front_matter
        return "zh" if fm and any(_CJK_RE.search(k) for k in fm.keys) else "en"

    def key_for(self, field: str) -> str | None:
        """The key this file uses for a canonical field, or None when absent."""
        fm = self.front_matter
        spellings = self.spellings
        preferred: tuple[str | None, ...] = ()
        if spellings.preset == "workflow":
            zh, en = _WRITE_KEYS.get(field, (None, None))
            preferred = (zh, en) if self.variant == "zh" else (en, zh)
        candidates = (*spellings.extra_keys(field), *preferred, *spellings.preset_keys(field))
        return next((k for k in candidates if k and fm and k in fm.keys), None)

    def value(self, field: str) -> str | None:
        """The decoded value of a canonical field; None when absent or not a scalar."""
        key = self.key_for(field)
        slot = _slot(self, key) if key else None
        return slot.value if slot else None

    @property
    def status(self) -> str | None:
        raw = self.value("status")
        return self.spellings.status(raw) if raw else None

    @property
    def current_role(self) -> str | None:
        raw = self.value("current_role")
        return self.spellings.role(raw) if raw else None

    @property
    def next_role(self) -> str | None:
        raw = self.value("next_role")
        return self.spellings.role(raw) if raw else None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _body(line: str) -> str:
    return line.rstrip("\r\n")


def _eol(line: str) -> str:
    return line[len(_body(line)):]


def _with_lines(tf: TaskFile, lines: list[str]) -> TaskFile:
    return replace(tf, lines=tuple(lines))


# -- reading ----------------------------------------------------------------------

def read_task_file(path: str | Path, spellings: Spellings = WORKFLOW_SPELLINGS) -> TaskFile:
    """Read a task file, remembering what is needed to write it back faithfully."""
    with open(path, "rb") as fh:
        data = fh.read()
        mtime_ns = os.fstat(fh.fileno()).st_mtime_ns
    return parse_task_bytes(data, path, mtime_ns=mtime_ns, spellings=spellings)


def parse_task_bytes(
    data: bytes, path: str | Path = "<memory>", *, mtime_ns: int | None = None,
    spellings: Spellings = WORKFLOW_SPELLINGS,
) -> TaskFile:
    """A :class:`TaskFile` from raw bytes, as :func:`read_task_file` would give."""
    text, encoding = _decode(data, path)
    bom = text.startswith("\ufeff")
    text = text[1:] if bom else text
    crlf = text.count("\r\n")
    newline = "\r\n" if crlf > text.count("\n") - crlf else "\n"
    return TaskFile(
        path=Path(path), lines=tuple(_LINE_RE.findall(text)), encoding=encoding,
        bom=bom, newline=newline, digest=_sha256(data), mtime_ns=mtime_ns,
        spellings=spellings,
    )


def _decode(data: bytes, path: str | Path) -> tuple[str, str]:
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # A few GB18030 byte sequences decode to characters that encode back
        # differently; such a file could not be rewritten unchanged.
        if text.encode(encoding) != data:
            raise EncodingError(path, f"{encoding} text that would not survive a rewrite")
        return text, encoding
    raise EncodingError(path, "is neither UTF-8 nor GB18030 text")


def _find_front_matter(lines: tuple[str, ...]) -> FrontMatter | None:
    if not lines or not _OPEN_RE.fullmatch(_body(lines[0])):
        return None
    close = next((i for i in range(1, len(lines)) if _CLOSE_RE.fullmatch(_body(lines[i]))), None)
    if close is None:
        return None
    keys: dict[str, int] = {}
    duplicates = set()
    for index in range(1, close):
        match = _KEY_RE.match(lines[index])
        if match:
            key = _key_name(match)
            if key in keys:
                duplicates.add(key)
            keys.setdefault(key, index)
    return FrontMatter(0, close, keys, frozenset(duplicates))


def _key_name(match: re.Match[str]) -> str:
    """The key a key match stands for: ``"status"`` and ``'status'`` are ``status``."""
    quoted = match["dq"] or match["sq"]
    return _unquote(quoted) if quoted else match["plain"]


def _slot(tf: TaskFile, key: str) -> Slot | None:
    """The value slot of a top-level key, or None when it is not a one-line scalar."""
    fm = tf.front_matter
    index = fm.keys[key]
    if _has_continuation(tf.lines, index, fm.close):
        return None
    line = _body(tf.lines[index])
    return _parse_slot(line, _KEY_RE.match(line).end())


def _has_continuation(lines: tuple[str, ...], index: int, close: int) -> bool:
    for line in lines[index + 1:close]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        return line[0] in " \t" or stripped == "-" or stripped.startswith("- ")
    return False


def _parse_slot(line: str, after_colon: int) -> Slot | None:
    start = after_colon + len(line[after_colon:]) - len(line[after_colon:].lstrip(" \t"))
    rest = line[start:]
    if not rest or rest.startswith("#"):
        return Slot(after_colon, after_colon, "", "")
    if rest[0] in "\"'":
        end = _closing_quote(rest)
        if end is None or not _is_trailer(rest[end:]):
            return None
        return Slot(start, start + end, rest[0], _unquote(rest[:end]))
    if rest[0] in "|>[{&*!%@`":
        return None
    comment = re.search(r"[ \t]#", rest)
    value = (rest[:comment.start()] if comment else rest).rstrip(" \t")
    return Slot(start, start + len(value), "", value)


def _closing_quote(token: str) -> int | None:
    """Index just past the quote that closes *token*, or None if it runs on."""
    quote, i = token[0], 1
    while i < len(token):
        if quote == '"' and token[i] == "\\":
            i += 2
        elif token[i] == quote and quote == "'" and token[i + 1:i + 2] == "'":
            i += 2
        elif token[i] == quote:
            return i + 1
        else:
            i += 1
    return None


def _is_trailer(text: str) -> bool:
    stripped = text.lstrip(" \t")
    return not stripped or (stripped.startswith("#") and stripped != text)


def _unquote(token: str) -> str:
    if token[0] == "'":
        return token[1:-1].replace("''", "'")
    try:
        return json.loads(token)
    except ValueError:
        # YAML escapes that JSON lacks (\x41, \e); only the value's meaning is
        # lost here, never its bytes, and the values we read are plain words.
        return token[1:-1]


def _quote(value: str, style: str) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"' or not _plain_safe(value):
        return json.dumps(value, ensure_ascii=False)
    return value


def _plain_safe(value: str) -> bool:
    return bool(value) and value == value.strip() and value[0] not in _PLAIN_UNSAFE_START \
        and ": " not in value and " #" not in value and not value.endswith(":")


# -- setting one field --------------------------------------------------------------

def _set_field(tf: TaskFile, field: str, value: str, insert_quote: str = "") -> TaskFile:
    """Replace the value token of *field*, or insert its line when it is absent."""
    key = tf.key_for(field)
    if key is None:
        return _insert_field(tf, field, value, insert_quote)
    if key in tf.front_matter.duplicates:
        first = tf.front_matter.keys[key] + 1
        raise FrontMatterError(tf.path, f"line {first}: key {key!r} appears more than once")
    slot = _slot(tf, key)
    if slot is None:
        raise FrontMatterError(tf.path, f"{key!r} is not a one-line value; edit it by hand")
    lines = list(tf.lines)
    index = tf.front_matter.keys[key]
    line = lines[index]
    empty = slot.start == slot.end
    # An empty value has no quoting of its own; take the one a new line would get.
    token = _quote(value, insert_quote if empty else slot.quote)
    pad = " " if empty else ""
    lines[index] = line[:slot.start] + pad + token + line[slot.end:]
    return _with_lines(tf, lines)


def _insert_field(tf: TaskFile, field: str, value: str, quote: str) -> TaskFile:
    key = _new_key(tf, field)
    lines = list(tf.lines)
    lines.insert(_insert_index(tf, field), f"{key}: {_quote(value, quote)}{tf.newline}")
    return _with_lines(tf, lines)


def _new_key(tf: TaskFile, field: str) -> str:
    """The key for a field the file lacks: the config's first, else the file's variant's."""
    spellings = tf.spellings
    configured = spellings.extra_keys(field)
    if not configured and spellings.preset != "workflow":
        configured = spellings.preset_keys(field)
    if configured:
        return configured[0]
    zh, en = _WRITE_KEYS[field]
    return zh if tf.variant == "zh" and zh else en or zh


def _insert_index(tf: TaskFile, field: str) -> int:
    """After the nearest present field that precedes *field* in workflow order."""
    fm = tf.front_matter
    position = _FIELD_ORDER.index(field)
    for other in reversed(_FIELD_ORDER[:position]):
        key = tf.key_for(other)
        if key:
            return _value_end(tf.lines, fm.keys[key], fm.close)
    for other in _FIELD_ORDER[position + 1:]:
        key = tf.key_for(other)
        if key:
            return fm.keys[key]
    return fm.close


def _value_end(lines: tuple[str, ...], index: int, close: int) -> int:
    end = index + 1
    while end < close and lines[end].strip() and (
        lines[end][0] in " \t" or lines[end].startswith("-")
    ):
        end += 1
    return end


def _ensure_front_matter(tf: TaskFile) -> TaskFile:
    """Give a file without front matter an empty block to put fields in."""
    if tf.front_matter is not None:
        return tf
    if tf.lines and _OPEN_RE.fullmatch(_body(tf.lines[0])):
        raise FrontMatterError(tf.path, "front matter has no closing '---' line")
    if tf.lines and _TOML_RE.fullmatch(_body(tf.lines[0])):
        raise FrontMatterError(tf.path, "has TOML front matter (+++), which task commands "
                                        "do not edit; change it by hand")
    fence = "---" + tf.newline
    return _with_lines(tf, [fence, fence, *tf.lines])


# -- dates ------------------------------------------------------------------------------

def _set_date(tf: TaskFile, field: str, now: datetime) -> TaskFile:
    """Write *now* into a date field in the format and quoting the file already uses."""
    shape = _date_shape(tf, field)
    return _set_field(tf, field, _render_date(shape, now), _date_quote(tf))


def _date_shape(tf: TaskFile, field: str) -> re.Match[str]:
    for candidate in (field, *_DATE_FIELDS):
        raw = tf.value(candidate)
        match = _DATE_RE.fullmatch(raw.strip()) if raw else None
        if match:
            return match
    return _DATE_RE.fullmatch(_DEFAULT_DATE)


def _date_quote(tf: TaskFile) -> str:
    for field in _DATE_FIELDS:
        key = tf.key_for(field)
        slot = _slot(tf, key) if key else None
        if slot and slot.value:
            return slot.quote
    return '"'


def _render_date(shape: re.Match[str], now: datetime) -> str:
    now = _in_zone(now, shape["tz"])
    sep = shape["sep"]
    month = f"{now.month:0{len(shape['m'])}d}"
    day = f"{now.day:0{len(shape['d'])}d}"
    text = f"{now.year:04d}{sep}{month}{sep}{day}"
    if shape["t"]:
        text += f"{shape['t']}{now.hour:0{len(shape['H'])}d}:{now.minute:02d}"
    if shape["S"]:
        text += f":{now.second:02d}"
    if shape["f"]:
        digits = len(shape["f"]) - 1
        text += "." + f"{now.microsecond:06d}"[:digits].ljust(digits, "0")
    return text + (shape["tz"] or "")


def _in_zone(now: datetime, suffix: str | None) -> datetime:
    """*now* as wall time in the zone of a date's *suffix* (``Z``, ``+08:00``).

    A naive *now* is the machine's local time (as ``datetime.now()`` gives),
    so it is converted like an aware one: the instant stays the same.
    """
    if not suffix:
        return now
    if suffix == "Z":
        return now.astimezone(timezone.utc)
    sign = -1 if suffix[0] == "-" else 1
    digits = suffix[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return now.astimezone(timezone(sign * offset))


# -- spelling statuses and roles the way the file does ----------------------------------

def _spelling_style(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    value = value.strip()
    for known in vocab.STATUSES + vocab.ROLES:
        if value == known.zh:
            return "zh"
        if value == known.en and known.en != known.id:
            return "en"
    if _CJK_RE.search(value):
        return "zh"
    return "id"


def _is_workflow_spelling(value: str) -> bool:
    """Is *value* a status's or role's id, English or Chinese label, exactly?"""
    return any(value in (t.id, t.en, t.zh) for t in vocab.STATUSES + vocab.ROLES)


def _spell(tf: TaskFile, field: str, term_id: str, siblings: tuple[str, ...]) -> str:
    """*term_id* written in the file's own vocabulary; see :func:`set_status`."""
    found = vocab.term(term_id)
    raw = (tf.value(field) or "").strip()
    table = tf.spellings.table(field)
    if raw and (_is_workflow_spelling(raw) and raw.casefold() not in
                {spelling.casefold() for spelling, _ in table}):
        raw = ""  # the workflow's own words: spelled in the same style below
    if raw:
        if tf.spellings.canonical(field, raw) == term_id:
            return raw
        configured = next((spelling for spelling, target in table if target == term_id), None)
        if configured:
            return configured
        style = "zh" if tf.variant == "zh" or _CJK_RE.search(raw) else "id"
    else:
        styles = (_spelling_style(tf.value(f)) for f in (field, *siblings))
        style = next((s for s in styles if s), "id")
    return {"zh": found.zh, "en": found.en}.get(style, found.id)


def _known(
    tf: TaskFile, value: str, lookup: Callable[[str], str | None], error: type[EditError],
    what: str, choices: tuple[str, ...],
) -> str:
    found = lookup(value) if isinstance(value, str) else None
    if found is None:
        raise error(tf.path, f"unknown {what} {value!r}; expected one of: {', '.join(choices)}")
    return found


# -- edits --------------------------------------------------------------------------------

def set_status(
    tf: TaskFile, new_status: str, force: bool = False, *, now: datetime | None = None
) -> TaskFile:
    """Move the task to *new_status* if the lifecycle allows it (or *force*).

    *new_status* may be any known spelling, the repository's own included
    (:class:`Spellings`). It is written in the file's own vocabulary, as are
    the roles :func:`handoff` writes:

    - a file that spells the value with the workflow's words (an id such as
      ``in_progress``, an English label such as ``In progress``, a Chinese one
      such as ``进行中``) gets the new value in that same style;
    - a file that spells it otherwise — a spelling from the config's
      ``[statuses]`` / ``[roles]``, or a common alias like ``To Do`` — speaks
      its repository's vocabulary: it gets the config's spelling of the new
      value (the first listed), or where the config has none, the workflow's
      name matching the file: the Chinese label in a file with Chinese keys
      (or a Chinese value), else the id;
    - a file without the value follows the style of its other values.

    Reaching completed also fills the completion date when the file has that
    key. A file without a status may take any status. A task that already has
    *new_status* is returned as it is: there is nothing to change or to date.
    """
    now = now or datetime.now()
    target = _known(tf, new_status, tf.spellings.status, UnknownStatusError,
                    "status", vocab.STATUS_IDS)
    if tf.status == target and tf.key_for("status") not in tf.front_matter.duplicates:
        return tf
    if not force:
        _check_transition(tf, target)
    spelled = _spell(tf, "status", target, ("current_role", "next_role"))
    edited = _set_field(_ensure_front_matter(tf), "status", spelled)
    if target == "completed" and edited.key_for("completed"):
        edited = _set_date(edited, "completed", now)
    return _set_date(edited, "updated", now)


def _check_transition(tf: TaskFile, target: str) -> None:
    raw = tf.value("status")
    if raw is None or not raw.strip():
        return
    current = tf.spellings.status(raw)
    if current is None:
        raise TransitionError(
            tf.path, f"current status {raw!r} is not a known status; use force to set it", ()
        )
    allowed = vocab.TRANSITIONS[current]
    if target in allowed:
        return
    if current in vocab.FINAL_STATUSES:
        message = f"status {current} is final; no change is allowed (use force)"
    else:
        message = (f"cannot change status from {current} to {target}; "
                   f"allowed: {', '.join(allowed)}")
    raise TransitionError(tf.path, message, allowed)


def handoff(
    tf: TaskFile, to: str | None = None, *, force: bool = False, now: datetime | None = None
) -> TaskFile:
    """Hand the task on: the next role becomes current.

    The role after it becomes next: *to* when given, else the normal successor
    from :data:`vocab.NEXT_ROLE`. A file without a next role hands on to the
    successor of its current role. A task whose status is final (completed,
    cancelled) is not handed on unless *force*. The role taking the task is
    never also the next one, forced or not.
    """
    now = now or datetime.now()
    if not force:
        _check_open(tf)
    after = None
    if to is not None:
        after = _known(tf, to, tf.spellings.role, UnknownRoleError, "role", vocab.ROLE_IDS)
    new_current = _file_role(tf, "next_role") or _successor(tf)
    new_next = after or vocab.NEXT_ROLE[new_current]
    if new_next == new_current:
        raise EditError(tf.path, f"{new_current} takes the task now, so it cannot be the next "
                                 f"role too; choose another role to come after it")
    spelled_current = _spell(tf, "current_role", new_current, ("next_role", "status"))
    spelled_next = _spell(tf, "next_role", new_next, ("current_role", "status"))
    edited = _set_field(_ensure_front_matter(tf), "current_role", spelled_current)
    edited = _set_field(edited, "next_role", spelled_next)
    return _set_date(edited, "updated", now)


def _check_open(tf: TaskFile) -> None:
    status = tf.status
    if status in vocab.FINAL_STATUSES:
        raise TransitionError(
            tf.path, f"status {status} is final; a finished task is not handed off "
            f"(use force to hand it off anyway)", ())


def _successor(tf: TaskFile) -> str:
    current = _file_role(tf, "current_role")
    if current is None:
        raise EditError(tf.path, "has neither a next role nor a current role to hand off from")
    return vocab.NEXT_ROLE[current]


def _file_role(tf: TaskFile, field: str) -> str | None:
    raw = tf.value(field)
    if raw is None or not raw.strip():
        return None
    role = tf.spellings.role(raw)
    if role is None:
        raise UnknownRoleError(tf.path, f"{tf.key_for(field)} {raw!r} is not a known role")
    return role


def add_comment(
    tf: TaskFile, text: str, author: str | None = None, *, now: datetime | None = None
) -> TaskFile:
    """Append a dated entry to the comments section, creating it at the end if missing.

    The section is ``# 评论`` in files with Chinese keys, ``# Comments`` otherwise.
    The updated date changes too when the file has front matter.
    """
    now = now or datetime.now()
    entry = _comment_entry(tf, text, author, now)
    lines = list(tf.lines)
    if lines and not _eol(lines[-1]):
        lines[-1] += tf.newline
    heading = _find_comments_heading(tf)
    if heading is None:
        _append_section(lines, COMMENT_HEADINGS[tf.variant], entry, tf.newline)
    else:
        _insert_entry(lines, heading, entry, tf.newline)
    edited = _with_lines(tf, lines)
    return _set_date(edited, "updated", now) if edited.front_matter else edited


def _comment_entry(tf: TaskFile, text: str, author: str | None, now: datetime) -> list[str]:
    body = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise EditError(tf.path, "a comment needs some text")
    author = (author or "").strip()
    if "\n" in author or "\r" in author:
        raise EditError(tf.path, f"an author name is one line, not {author!r}")
    stamp = f"**{now.strftime(COMMENT_DATE_FORMAT)}**"
    first, *more = body.split("\n")
    if _fence_step(first.lstrip(" \t"), ""):  # a fence starts a line: the item's second
        first, more = "", [first, *more]
    head = (f"- {stamp} {author}: {first}" if author else f"- {stamp} {first}").rstrip()
    entry = [head, *_item_lines(more)]
    try:
        "".join(entry).encode(tf.encoding)
    except UnicodeEncodeError as exc:
        raise EncodingError(tf.path, f"the comment cannot be written as {tf.encoding}") from exc
    return entry


#: What keeps a comment's lines after its first inside its list item.
_ITEM_INDENT = "  "


def _item_lines(lines: list[str]) -> list[str]:
    """Lines of a comment as lines of its list item.

    Each is indented. Outside code fences, a line that would make a heading is
    escaped: it would end the comments section (and might read as a work-log
    entry), and the next comment would go before it. A fence's own lines start
    at the item's text, where :func:`_headings` (which finds the section's end)
    and the page both see them, and a fence left open is closed, as the page
    closes it at the end of the item.
    """
    found: list[str] = []
    fence = ""
    for line in lines:
        if not line.strip():
            found.append("")
            continue
        body = line.lstrip(" \t")
        lead = line[:len(line) - len(body)]
        # Four columns in from the item's text make indented code: no fence, no heading.
        shallow = len((_ITEM_INDENT + lead).expandtabs(4)) - len(_ITEM_INDENT) < 4
        step = _fence_step(body, fence) if shallow else None
        if step is not None:
            fence, line = step, body
        elif shallow and not fence and _HEADING_MARK.match(body):
            line = lead + "\\" + body
        found.append(_ITEM_INDENT + line)
    if fence:
        found.append(_ITEM_INDENT + fence)
    return found


def _fence_step(text: str, fence: str) -> str | None:
    """The code fence open after *text* (a line, its indent gone) when it opens one
    (its marker) or closes *fence*, the one open (""); None when it does neither. A
    backtick fence's info string holds no backtick."""
    if fence:
        marks = text.rstrip(" \t")
        closes = len(marks) >= len(fence) and marks == fence[0] * len(marks)
        return "" if closes else None
    opened = _FENCE_RE.match(text)
    if not opened or opened[1][0] == "`" and "`" in opened[2]:
        return None
    return opened[1]


def _find_comments_heading(tf: TaskFile) -> tuple[int, int] | None:
    """(line index, level) of the first comments heading in the body."""
    names = {name.casefold() for name in COMMENT_HEADINGS.values()}
    start = tf.front_matter.close + 1 if tf.front_matter else 0
    for index, level, title in _headings(tf.lines, start):
        if title.casefold() in names:
            return index, level
    return None


def _headings(lines: Sequence[str], start: int) -> Iterator[tuple[int, int, str]]:
    """(index, level, title) of each ATX heading from *start*, skipping code fences."""
    fence = ""
    for index in range(start, len(lines)):
        line = _body(lines[index])
        text = line.lstrip(" ")
        step = _fence_step(text, fence) if len(line) - len(text) <= 3 else None
        if step is not None:
            fence = step
            continue
        heading = _HEADING_RE.fullmatch(line)
        if heading and not fence:
            yield index, len(heading[1]), heading[2]


def _insert_entry(lines: list[str], heading: tuple[int, int], entry: list[str], nl: str) -> None:
    index, level = heading
    end = _section_end(lines, index, level)
    last = max(i for i in range(index, end) if lines[i].strip())
    block = ["", *entry]
    if last + 1 < len(lines) and lines[last + 1].strip():
        block.append("")
    lines[last + 1:last + 1] = [line + nl for line in block]


def _section_end(lines: list[str], index: int, level: int) -> int:
    for other, other_level, _ in _headings(lines, index + 1):
        if other_level <= level:
            return other
    return len(lines)


def _append_section(lines: list[str], title: str, entry: list[str], nl: str) -> None:
    block = [f"# {title}", "", *entry]
    if lines and lines[-1].strip():
        block.insert(0, "")
    lines.extend(line + nl for line in block)


# -- writing ------------------------------------------------------------------------------

def write_task_file(tf: TaskFile) -> TaskFile:
    """Write *tf* atomically, keeping the file's permissions; returns it as now on disk.

    Raises :class:`ConflictError` when the file's bytes changed since it was read.
    """
    # Write through a symlink to its target instead of replacing the link.
    target = Path(os.path.realpath(tf.path))
    data = tf.to_bytes()
    _check_unchanged(tf, target)
    if _sha256(data) != tf.digest:
        check_writable(tf.path)
        info = os.stat(target)
        _atomic_write(target, data, lambda tmp: (_copy_mode(tmp, info), os.replace(tmp, target)))
    return parse_task_bytes(data, tf.path, mtime_ns=os.stat(target).st_mtime_ns)


def check_writable(path: str | Path) -> None:
    """Refuse a file nobody may write to (mode 444, say), although a rename would replace it.

    Files are replaced by renaming a new file over them, which needs only the
    folder's permission; so the file's own mode is checked here, for root too.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ConflictError(path, "was deleted since it was read") from None
    if not mode & 0o222 or not os.access(path, os.W_OK):
        raise ReadOnlyError(path, f"is read-only (mode {stat.S_IMODE(mode):o}); "
                                  f"make it writable to change it")


def _check_unchanged(tf: TaskFile, target: Path) -> None:
    try:
        current = target.read_bytes()
    except FileNotFoundError:
        raise ConflictError(tf.path, "was deleted since it was read") from None
    if _sha256(current) != tf.digest:
        raise ConflictError(tf.path, "changed on disk since it was read; re-read it and retry")


def _copy_mode(tmp: Path, info: os.stat_result) -> None:
    os.chmod(tmp, stat.S_IMODE(info.st_mode))
    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
        try:
            os.chown(tmp, info.st_uid, info.st_gid)
        except PermissionError:
            pass  # only root may give a file away; the mode was still kept


def _atomic_write(target: Path, data: bytes, commit: Callable[[Path], object]) -> None:
    """Write *data* to a temporary file beside *target*, then *commit* it into place."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        commit(tmp)
    finally:
        tmp.unlink(missing_ok=True)


# -- new tasks -----------------------------------------------------------------------------

_SECTIONS = {
    "zh": ("# 相关文档\n\n# 最初任务描述\n{quoted}\n\n# 当前任务\n{title}\n\n"
           "# 当前状态\n新建任务，等待研究员分析。\n\n# 执行计划\n\n# 工作记录\n"),
    "en": ("# Task description\n{description}\n\n# Current status\n"
           "New task, waiting for the researcher.\n\n# Plan\n\n# Work log\n"),
}


def new_task_id(now: datetime | None = None) -> str:
    """A fresh id: ``task_YYYYMMDD_HHMMSS_<8 hex digits>``."""
    now = now or datetime.now()
    return f"task_{now:%Y%m%d_%H%M%S}_{secrets.token_hex(4)}"


def new_task_text(
    title: str, lang: str = "zh", now: datetime | None = None, *,
    task_id: str | None = None, description: str = "",
) -> str:
    """The text of a new task in the workflow's format (LF line endings).

    Pending, with the researcher to start and the planner next. *lang* picks
    the variant: "zh" for tasker-v2.md's Chinese keys, "en" for tasker.md's.
    """
    now = now or datetime.now()
    title = _one_line(title, "title")
    if lang not in _SECTIONS:
        raise EditError(None, f"unknown language {lang!r}; expected zh or en")
    task_id = _checked_id(task_id) if task_id else new_task_id(now)
    stamp = f'"{now:%Y-%m-%d %H:%M:%S}"'
    detail = f"{title}\n\n{description.strip()}" if description.strip() else title
    # JSON strings are valid YAML double-quoted scalars: any title is safe.
    quoted_title = json.dumps(title, ensure_ascii=False)
    if lang == "zh":
        head = (f"任务ID: {task_id}\n标题: {quoted_title}\n流程: ai/tasker-v2.md\n"
                f"当前角色: researcher\n"
                f"下一角色: planner\n状态: pending\n创建: {stamp}\n更新: {stamp}\n完成: \"\"\n")
    else:
        head = (f"task_id: {task_id}\ntitle: {quoted_title}\n"
                f"session_id: session_{now:%Y%m%d_%H%M%S}\n"
                f"flow_file: ai/tasker.md\ncurrent_role: researcher\nnext_role: planner\n"
                f"status: pending\ncreated_at: {stamp}\nupdated_at: {stamp}\n")
    quoted = "\n".join(f"> {line}".rstrip() for line in detail.split("\n"))
    body = _SECTIONS[lang].format(title=title, quoted=quoted, description=detail)
    return f"---\n{head}---\n\n{body}"


def create_task(
    directory: str | Path, title: str, lang: str = "zh", now: datetime | None = None, *,
    task_id: str | None = None, description: str = "",
) -> Path:
    """Write a new task file ``<task id>.md`` into *directory*; never overwrites."""
    now = now or datetime.now()
    task_id = _checked_id(task_id) if task_id else new_task_id(now)
    text = new_task_text(title, lang, now, task_id=task_id, description=description)
    if not Path(directory).is_dir():
        raise EditError(directory, "is not a folder")
    target = Path(directory) / f"{task_id}.md"
    try:
        _atomic_write(target, text.encode("utf-8"), lambda tmp: _place_new(tmp, target))
    except FileExistsError:
        raise TaskExistsError(target, "already exists; not overwriting it") from None
    return target


def _place_new(tmp: Path, target: Path) -> None:
    """Put a finished file at *target*, failing with FileExistsError if it is taken."""
    try:
        # A hard link appears whole or not at all, and never replaces a file.
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:
        # Some file systems have no hard links; an exclusive create never replaces either.
        with open(target, "xb") as fh:
            fh.write(tmp.read_bytes())


def _checked_id(task_id: str) -> str:
    if not isinstance(task_id, str) or not _TASK_ID_RE.fullmatch(task_id):
        raise InvalidTaskIdError(None, f"bad task id {task_id!r}: use letters, digits, _ . -")
    return task_id


def _one_line(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or "\n" in value or "\r" in value:
        raise EditError(None, f"a task {what} is one non-empty line, not {value!r}")
    return value
