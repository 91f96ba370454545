"""Property tests: an edit changes the intended values and not one other byte.

Task files are generated in both key variants, with CRLF or LF, with or without
a BOM, in UTF-8 or GB18030, with YAML comments, every quoting style for values
and for keys (``"status":``, ``'status':``), unknown keys (including block
lists) and bodies holding ``---`` and key-like lines.
The expected bytes are computed from the generator's own model of each line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskmon_site import taskedit as te
from taskmon_site import vocab

NOW = datetime(2025, 3, 1, 10, 20, 30)
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

KEYS = {
    "zh": {"task_id": "任务ID", "flow": "流程", "current_role": "当前角色", "next_role": "下一角色",
           "status": "状态", "created": "创建", "updated": "更新", "completed": "完成"},
    "en": {"task_id": "task_id", "session": "session_id", "flow": "flow_file",
           "current_role": "current_role", "next_role": "next_role", "status": "status",
           "created": "created_at", "updated": "updated_at"},
}
ALL_KEYS = {k for table in KEYS.values() for k in table.values()} | {"completed_at"}
STATUSES = {
    "pending": ("Pending", "待启动"), "in_progress": ("In progress", "进行中"),
    "paused": ("Paused", "暂停"), "review": ("Review", "待审核"), "rework": ("Rework", "返工"),
    "completed": ("Completed", "完成"), "failed": ("Failed", "失败"),
    "cancelled": ("Cancelled", "取消"),
}
ROLES = {
    "manager": ("Manager", "管理者"), "researcher": ("Researcher", "研究员"),
    "planner": ("Planner", "规划员"), "executor": ("Executor", "执行员"),
    "debugger": ("Debugger", "调试员"),
}
NEXT = {"manager": "researcher", "researcher": "planner", "planner": "executor",
        "executor": "debugger", "debugger": "manager"}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S",
                "%Y/%m/%d %H:%M:%S")
ALPHABET = list("abcxyzABZ019 _-.,;!?()/+=") + list("中文任务状态测试评论说明") + ["é", "😀"]
GB_MARKER = "中文内容"  # never valid UTF-8 once in GB18030, so the reader must pick GB18030


@dataclass
class Entry:
    """One front-matter line as the generator built it."""

    field: str | None
    prefix: str
    token: str
    suffix: str
    quote: str = ""
    style: str = "id"
    value: str = ""

    @property
    def text(self) -> str:
        return self.prefix + self.token + self.suffix


@dataclass
class Doc:
    variant: str
    newline: str
    bom: bool
    encoding: str
    entries: list[object]  # Entry, or a raw line of text
    body: list[str]
    date_format: str
    date_quote: str

    def lines(self) -> list[str]:
        fm = [e.text if isinstance(e, Entry) else e for e in self.entries]
        return ["---", *fm, "---", *self.body]

    def to_bytes(self) -> bytes:
        text = "".join(line + self.newline for line in self.lines())
        return (("\ufeff" if self.bom else "") + text).encode(self.encoding)

    def entry(self, field: str) -> Entry | None:
        return next((e for e in self.entries if isinstance(e, Entry) and e.field == field), None)


def quote(value: str, style: str) -> str:
    if style == '"':
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    return value


def spell(term: str, style: str) -> str:
    en, zh = {**STATUSES, **ROLES}[term]
    return {"id": term, "en": en, "zh": zh}[style]


safe_text = st.text(alphabet=st.sampled_from(ALPHABET), max_size=12)
quotes = st.sampled_from(['"', "'", ""])


@st.composite
def trailers(draw) -> str:
    if not draw(st.booleans()):
        return draw(st.sampled_from(["", " ", "  "]))
    return " " * draw(st.integers(1, 3)) + "#" + draw(safe_text).rstrip()


@st.composite
def entries(draw, field: str, key: str, value: str, style: str = "id", q: str | None = None):
    q = draw(quotes) if q is None else q
    token = quote(value, q)
    suffix = draw(trailers())
    # The key may be quoted too; YAML reads "status": and 'status': as status.
    written_key = quote(key, draw(quotes)) + draw(st.sampled_from(["", " "]))
    if not token:
        # An empty plain value: nothing but the trailer follows the colon.
        suffix = suffix if suffix.startswith(" ") else ""
        return Entry(field, f"{written_key}:", "", suffix, q, style)
    prefix = f"{written_key}:" + " " * draw(st.integers(1, 3))
    return Entry(field, prefix, token, suffix, q, style, value)


@st.composite
def term_entry(draw, field: str, key: str, terms: dict):
    term = draw(st.sampled_from(sorted(terms)))
    style = draw(st.sampled_from(["id", "en", "zh"]))
    return draw(entries(field, key, spell(term, style), style))


@st.composite
def unknown_lines(draw) -> list[object]:
    kind = draw(st.sampled_from(["scalar", "plain", "list", "comment", "blank"]))
    key = draw(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
        lambda k: k not in ALL_KEYS))
    if kind == "scalar":
        return [draw(entries(None, key, draw(safe_text), q=draw(st.sampled_from(['"', "'"]))))]
    if kind == "plain":
        value = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}", fullmatch=True))
        return [draw(entries(None, key, value, q=""))]
    if kind == "list":
        items = draw(st.lists(st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True), min_size=1,
                              max_size=3))
        return [f"{key}:", *(f"  - {item}" for item in items)]
    if kind == "comment":
        return ["# " + draw(safe_text).rstrip()]
    return [""]


@st.composite
def docs(draw) -> Doc:
    variant = draw(st.sampled_from(["zh", "en"]))
    keys = KEYS[variant]
    date_format = draw(st.sampled_from(DATE_FORMATS))
    date_quote = draw(quotes)

    def date() -> str:
        when = draw(st.datetimes(datetime(2000, 1, 1), datetime(2030, 12, 31)))
        return when.strftime(date_format)

    known = [
        draw(term_entry("status", keys["status"], STATUSES)),
        draw(term_entry("current_role", keys["current_role"], ROLES)),
        draw(term_entry("next_role", keys["next_role"], ROLES)),
        draw(entries("created", keys["created"], date(), q=date_quote)),
    ]
    if draw(st.booleans()):
        known.append(draw(entries("updated", keys["updated"], date(), q=date_quote)))
    if variant == "zh" and draw(st.booleans()):
        known.append(draw(entries("completed", keys["completed"],
                                  draw(st.sampled_from(["", date()])), q=draw(quotes))))
    if draw(st.booleans()):
        known.append(draw(entries("task_id", keys["task_id"], "task_20250101_000000_abcdef01")))
    groups = [[e] for e in known] + draw(st.lists(unknown_lines(), max_size=5))
    flat = [line for group in draw(st.permutations(groups)) for line in group]

    body_line = st.one_of(
        st.sampled_from(["---", "", "# 评论", "# Comments", "status: done", "更新: 2020-01-01",
                         "## 工作记录", "- [x] 完成项"]),
        safe_text.map(str.rstrip),
    )
    encoding = draw(st.sampled_from(["utf-8", "gb18030"]))
    body = draw(st.lists(body_line, max_size=8))
    if encoding == "gb18030":
        body.insert(0, GB_MARKER)
    return Doc(variant, draw(st.sampled_from(["\n", "\r\n"])), draw(st.booleans()), encoding,
               flat, body, date_format, date_quote)


# -- expected results from the model ------------------------------------------------------------

def expected_lines(doc: Doc, changes: dict[str, str]) -> list[bytes]:
    """The file's lines after setting each field in *changes* and the updated date."""
    stamp = NOW.strftime(doc.date_format)
    lines = []
    for item in ["---", *doc.entries, "---", *doc.body]:
        if isinstance(item, Entry) and item.field in changes:
            item = _replaced(item, changes[item.field], doc.date_quote)
        elif isinstance(item, Entry) and item.field == "updated":
            item = _replaced(item, stamp, doc.date_quote)
        lines.append(item.text if isinstance(item, Entry) else item)
        if isinstance(item, Entry) and item.field == "created" and not doc.entry("updated"):
            key = KEYS[doc.variant]["updated"]
            lines.append(f"{key}: {quote(stamp, doc.date_quote)}")
    encoded = [(line + doc.newline).encode(doc.encoding) for line in lines]
    if doc.bom:
        encoded[0] = "\ufeff".encode(doc.encoding) + encoded[0]
    return encoded


def _replaced(entry: Entry, value: str, empty_quote: str) -> Entry:
    if not entry.token:
        return Entry(entry.field, entry.prefix + " ", quote(value, empty_quote), entry.suffix)
    return Entry(entry.field, entry.prefix, quote(value, entry.quote), entry.suffix)


def front_matter(data: bytes, encoding: str) -> dict:
    lines = data.decode(encoding).lstrip("\ufeff").splitlines()
    return yaml.safe_load("\n".join(lines[1:lines.index("---", 1)])) or {}


def assert_other_keys_equal(before: dict, after: dict, changed: set[str]) -> None:
    assert {k: v for k, v in before.items() if k not in changed} == \
        {k: v for k, v in after.items() if k not in changed}


# -- properties --------------------------------------------------------------------------

@SETTINGS
@given(doc=docs(), target=st.sampled_from(sorted(STATUSES)))
def test_set_status_touches_only_status_and_dates(doc, target):
    data = doc.to_bytes()
    tf = te.parse_task_bytes(data)
    assert (tf.encoding, tf.bom, tf.variant) == (doc.encoding, doc.bom, doc.variant)

    edited = te.set_status(tf, target, force=True, now=NOW)
    current = doc.entry("status")
    if spell(target, current.style) == current.value:
        assert edited.to_bytes() == data, "the status it has already: nothing to change"
        return

    changes = {"status": spell(target, current.style)}
    if target == "completed" and doc.entry("completed"):
        changes["completed"] = NOW.strftime(doc.date_format)
    new = edited.to_bytes()
    assert new.splitlines(keepends=True) == expected_lines(doc, changes)
    keys = KEYS[doc.variant]
    touched = {keys["status"], keys["updated"], keys.get("completed")}
    assert_other_keys_equal(front_matter(data, doc.encoding), front_matter(new, doc.encoding),
                            touched)
    assert front_matter(new, doc.encoding)[keys["status"]] == changes["status"]


@SETTINGS
@given(doc=docs(), to=st.one_of(st.none(), st.sampled_from(sorted(ROLES))))
def test_handoff_touches_only_roles_and_updated(doc, to):
    data = doc.to_bytes()
    current, nxt = doc.entry("current_role"), doc.entry("next_role")
    new_current = next(term for term in ROLES if spell(term, nxt.style) == nxt.value)
    changes = {
        "current_role": spell(new_current, current.style),
        "next_role": spell(to or NEXT[new_current], nxt.style),
    }

    tf = te.parse_task_bytes(data)
    if tf.status in vocab.FINAL_STATUSES:
        with pytest.raises(te.TransitionError, match="is final; a finished task is not"):
            te.handoff(tf, to=to, now=NOW)
    if to == new_current:
        with pytest.raises(te.EditError, match=f"^<memory>: {to} takes the task now, so it "
                                               f"cannot be the next role too; "):
            te.handoff(tf, to=to, force=True, now=NOW)
        return
    new = te.handoff(tf, to=to, force=True, now=NOW).to_bytes()

    assert new.splitlines(keepends=True) == expected_lines(doc, changes)
    keys = KEYS[doc.variant]
    assert_other_keys_equal(front_matter(data, doc.encoding), front_matter(new, doc.encoding),
                            {keys["current_role"], keys["next_role"], keys["updated"]})


@SETTINGS
@given(doc=docs(), text=safe_text.filter(str.strip), author=st.sampled_from([None, "bo"]))
def test_add_comment_only_inserts_the_entry(doc, text, author):
    data = doc.to_bytes()
    new = te.add_comment(te.parse_task_bytes(data), text, author, now=NOW).to_bytes()

    want = expected_lines(doc, {})
    fm_end = want.index(("---" + doc.newline).encode(doc.encoding), 1) + 1
    got = new.splitlines(keepends=True)
    assert got[:fm_end] == want[:fm_end]

    nl = doc.newline.encode()
    extras = _extras(want[fm_end:], got[fm_end:])
    stamp = f"- **{NOW:%Y-%m-%d %H:%M}** " + (f"{author}: " if author else "") + text.strip()
    entry = (stamp + doc.newline).encode(doc.encoding)
    heading = ("# " + {"zh": "评论", "en": "Comments"}[doc.variant] + doc.newline)
    assert [line for line in extras if line != nl] in (
        [entry], [heading.encode(doc.encoding), entry])


def _extras(old: list[bytes], new: list[bytes]) -> list[bytes]:
    """Lines of *new* that are not part of *old*, which must be a subsequence of it."""
    extras, matched = [], 0
    for line in new:
        if matched < len(old) and line == old[matched]:
            matched += 1
        else:
            extras.append(line)
    assert matched == len(old)
    return extras


@SETTINGS
@given(data=st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(alphabet=st.sampled_from(ALPHABET + ["\r", "\n", "-", ":"]), max_size=60)
    .map(lambda t: t.encode("gb18030")),
))
def test_reading_then_writing_nothing_gives_the_same_bytes(data):
    try:
        tf = te.parse_task_bytes(data)
    except te.EncodingError:
        return
    assert tf.to_bytes() == data
    assert not tf.modified
