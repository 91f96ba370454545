"""Turning one source file into a :class:`Task` or a :class:`Doc`.

A task is read from its front matter (or, in older files, ``key: value`` lines
under the title) through the configured field mapping, then from its body: the
named sections, the work-log entries and their checklists. Whatever cannot be
read becomes a :class:`Problem` on the task; reading never raises for bad input.
"""

from __future__ import annotations

import bisect
import itertools
import re
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, unquote

from markdown_it.token import Token

from taskmon_site import vocab
from taskmon_site.config import Config
from taskmon_site.dates import WRITTEN_DATE, parse_when
from taskmon_site.fields import PEOPLE_FIELDS
from taskmon_site.markdown import (RESOLVER, UNRESOLVED, Heading, Markdown, headings,
                                   inline_text)
from taskmon_site.model import (ChecklistItem, Doc, Page, Progress, Section, Task,
                                WorkLogEntry)
from taskmon_site.source import Parsed, Problem, decode, preamble_fields, split_front_matter
from taskmon_site.urls import link_target, relative

#: Section headings (casefolded) → section kind.
SECTION_KINDS: dict[str, str] = {
    "任务描述": "description", "最初任务描述": "description", "当前任务": "description",
    "项目概述": "description", "描述": "description", "任务": "description",
    "description": "description", "task description": "description",
    "overview": "description", "task": "description", "summary": "description",
    "当前状态": "state", "状态": "state", "current state": "state", "state": "state",
    "status": "state", "current status": "state",
    "执行计划": "plan", "计划": "plan", "实施计划": "plan", "plan": "plan",
    "execution plan": "plan", "implementation plan": "plan",
    "下一步计划": "next", "下一步": "next", "next steps": "next", "next": "next",
    "工作记录": "worklog", "工作日志": "worklog", "work log": "worklog",
    "worklog": "worklog", "log": "worklog", "history": "worklog",
    "相关文档": "related", "related docs": "related", "related documents": "related",
    "评论": "comments", "comments": "comments",
}

#: What separates an entry heading's date (and closing bracket) from the text after it:
#: a dash only before a space ("- 2 items"; "-5 items" keeps its sign).
_SEPARATOR = re.compile(r"^[\s)）]*(?:[:：|·]+|[-–—]+(?=\s|$))?\s*")
#: Where the role ends in a heading that starts with its date ("2025-02-25 研究员: …").
_ROLE_END = re.compile(r"[:：,，|]| [-–—] ")
_CHECK_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\[([ xX])\]")
_LIST_FIELDS = ("labels", "dependencies")
#: Han, kana and CJK punctuation (full-width forms too): scripts written without spaces.
_CJK = ("\u2e80-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
        "\U00020000-\U0002ffff")
#: A line break between two such characters is a soft wrap, not a word gap.
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")
_CHECK_MARK = re.compile(r"^\[[ xX]\]\s+")
#: Up to the first full stop: a Chinese one ends a sentence at once, "." only before a space.
_SENTENCE = re.compile(r"(.+?(?:[。！？]|[.!?](?=\s|$)))")


def section_kind(heading: str) -> str | None:
    key = heading.strip().rstrip(":：").strip().casefold()
    return SECTION_KINDS.get(key)


# Starting only where a run of name characters starts keeps the search linear.
_MENTION = re.compile(r"(?<![\w.\-])[\w.\-]+\.md\b")


def read_file(path: Path, src_uri: str) -> tuple[Parsed, str]:
    """Decode and split a file; an unreadable file becomes an empty body + problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = Problem(src_uri, f"cannot read: {exc.strerror}", None, "error")
        return Parsed({}, "", 1, False, [problem]), ""
    source = decode(data, src_uri)
    parsed = split_front_matter(source.text, src_uri)
    parsed.problems[:0] = source.problems
    front = source.text[: len(source.text) - len(parsed.body)] if parsed.has_front_matter else ""
    return parsed, front


def mentions(text: str) -> set[str]:
    """Lower-cased ``*.md`` names in a text: the files whose arrival may change its links."""
    return {m.rsplit("/", 1)[-1].casefold() for m in _MENTION.findall(text)}


def make_resolver(page: Page, urls: dict[str, str], config: Config) -> Callable:
    """Map a link in *page* to the relative URL of the page built from its target.

    Every candidate path looked up is recorded in ``page.lookups`` (so a cached
    page can tell whether its links would still resolve the same), and every
    page found in ``page.references``.
    """

    def resolve(href: str) -> str | None:
        found = link_target(href, page.src_uri)
        if found is None:
            return None
        candidates, fragment = found
        for candidate in candidates:
            url = urls.get(candidate)
            page.lookups[candidate] = url
            if url is not None:
                if candidate != page.src_uri:
                    page.references.add(candidate)
                return relative(url + (f"#{fragment}" if fragment else ""), page.url)
        return _repo_link(config, candidates, fragment)

    return resolve


def report_missing(page: Page, config: Config, offset: int) -> Callable:
    """Note a problem for each link to a ``.md`` file that is not in the repository.

    *offset* is the file line of the Markdown text's first line. Links leaving
    the repository and links to other kinds of files are not checked.
    """

    def unresolved(href: str, line: int | None) -> None:
        found = link_target(href, page.src_uri)
        if not found or not found[0] or not found[0][0].casefold().endswith(".md"):
            return
        # TODO: as in _repo_link, a cached page keeps this problem when the file appears.
        if any((config.source_dir / candidate).exists() for candidate in found[0]):
            return
        path = unquote(href.partition("#")[0].split("?", 1)[0])
        where = None if line is None else line + offset
        message = f"link target {path!r} does not exist"
        page.problems.append(Problem(page.src_uri, message, where))

    return unresolved


def _repo_link(config: Config, candidates: list[str], fragment: str) -> str | None:
    if not config.repo_url:
        return None
    for candidate in candidates:
        # TODO: a file created later does not invalidate cached pages linking to it.
        if (config.source_dir / candidate).exists():
            suffix = f"#{quote(fragment, safe='')}" if fragment else ""
            return config.repo_url.rstrip("/") + "/" + candidate + suffix
    return None


class Reader:
    """Reads tasks and docs for one site; *urls* maps every page's src_uri to its URL."""

    def __init__(self, config: Config, urls: dict[str, str]) -> None:
        self.config = config
        self.markdown = Markdown(config.html)
        self.urls = urls

    def read(self, page: Page) -> Page:
        return self.read_task(page) if isinstance(page, Task) else self.read_doc(page)

    def read_doc(self, doc: Doc) -> Doc:
        parsed, _ = read_file(doc.abs_src_path, doc.src_uri)
        doc.problems = list(parsed.problems)
        tokens, heads = self._render(doc, parsed.body, parsed.body_line)
        title = parsed.meta.get("title")
        first_h1 = next((h.text for h in heads if h.level == 1), "")
        doc.title = title if isinstance(title, str) and title else (
            first_h1 or Path(doc.src_uri).stem)
        doc.toc = [h for h in heads if 2 <= h.level <= 3]
        doc.text = _plain_text(tokens)
        return doc

    def read_task(self, task: Task) -> Task:
        parsed, front = read_file(task.abs_src_path, task.src_uri)
        task.problems = list(parsed.problems)
        task.has_front_matter = parsed.has_front_matter
        task.front_matter = front.strip("\n")
        meta, lines = dict(parsed.meta), dict(parsed.key_lines)
        if not parsed.has_front_matter:
            found = preamble_fields(parsed.body)
            meta = {k: v for k, (v, _) in found.items()}
            lines = {k: parsed.body_line + n for k, (_, n) in found.items()}
        task.meta = meta
        meta_title = self._apply_fields(task, meta, lines)

        tokens, heads = self._render(task, parsed.body, parsed.body_line)
        body_lines = parsed.body.split("\n")
        offset = parsed.body_line
        self._read_sections(task, tokens, heads, offset)
        task.items = _checklist(tokens, body_lines, heads, offset)
        task.progress = Progress(sum(i.done for i in task.items), len(task.items))
        task.worklog = _worklog(task, heads, tokens, offset, self.config)
        task.sort_keys()
        task.toc = [h for h in heads if 1 <= h.level <= 2]
        task.title, task.title_from = _title(task, meta_title, heads, tokens)
        task.title_anchor = _title_anchor(task.title, tokens)
        task.text = _plain_text(tokens)
        desc = task.sections.get("description")
        task.summary = _first_sentence(desc.text if desc else _lead(tokens))
        task.excerpt = " ".join((desc.text if desc else task.text).split())[:EXCERPT_CHARS]
        return task

    def _render(self, page: Page, body: str, offset: int) -> tuple[list[Token], list[Heading]]:
        page.references = set()
        page.lookups = {}
        page.mentions = mentions(body)
        env: dict[str, Any] = {RESOLVER: make_resolver(page, self.urls, self.config),
                               UNRESOLVED: report_missing(page, self.config, offset)}
        tokens = self.markdown.parse(body, env)
        _drop_cjk_softbreaks(tokens)
        heads = headings(tokens)
        page.html = self.markdown.render(tokens, env)
        return tokens, heads

    def _apply_fields(self, task: Task, meta: dict[str, Any], lines: dict[str, int]) -> str:
        """Set the canonical fields from *meta*; returns the title it gives, if any.

        *lines* gives each key's line in the file, for the problems found.
        """
        taken: set[str] = set()
        line: dict[str, int | None] = {}
        people = PEOPLE_FIELDS[self.config.fields_preset]

        def get(name: str) -> Any:
            present = [k for k in dict.fromkeys(self.config.field_keys(name)) if k in meta]
            if not present:
                return None
            used = present[0]
            taken.add(used)
            line[name] = lines.get(used)
            if isinstance(meta[used], (list, dict)) and name not in (*_LIST_FIELDS, *people):
                shape = "list" if isinstance(meta[used], list) else "mapping"
                message = (f"{used!r} holds a {shape}, not one value: read as "
                           f"{_scalar(meta[used])!r}")
                task.problems.append(Problem(task.src_uri, message, lines.get(used)))
            for other in present[1:]:
                if meta[other] != meta[used]:
                    message = f"{used!r} and {other!r} are both set; the value of {used!r} is used"
                    task.problems.append(Problem(task.src_uri, message, lines.get(other)))
            return meta[used]

        raw_id = get("id")
        task.id = _scalar(raw_id) or Path(task.src_uri).stem
        task.status_raw = _scalar(get("status"))
        task.status = self._canonical(task, "status", task.status_raw, line.get("status"))
        task.current_role_raw = _scalar(get("current_role"))
        task.current_role = self._canonical(task, "role", task.current_role_raw,
                                            line.get("current_role"), "current_role" in people)
        task.next_role_raw = _scalar(get("next_role"))
        task.next_role = self._canonical(task, "role", task.next_role_raw,
                                         line.get("next_role"), "next_role" in people)
        for name in ("created", "updated", "completed"):
            raw = _scalar(get(name))
            setattr(task, f"{name}_raw", raw)
            setattr(task, name, self._date(task, name, raw, line.get(name)))
        task.flow = _scalar(get("flow"))
        task.session = _scalar(get("session"))
        task.priority = _scalar(get("priority"))
        for name in _LIST_FIELDS:
            setattr(task, name, _as_list(get(name)))
        title = _scalar(get("title"))
        task.extra = {k: v for k, v in meta.items() if k not in taken}
        return title

    def _canonical(self, task: Task, kind: str, raw: str, line: int | None,
                   people: bool = False) -> str | None:
        """The canonical id of *raw*; unknown is a problem unless the field holds people."""
        if not raw:
            return None
        if kind == "status":
            found = vocab.canonical_status(raw, self.config.statuses)
        else:
            found = vocab.canonical_role(raw, self.config.roles)
        if found is None and not people:
            task.problems.append(Problem(task.src_uri, f"unknown {kind} {raw!r}", line))
        return found

    def _date(self, task: Task, name: str, raw: str, line: int | None):
        if not raw:
            return None
        when = parse_when(raw, self.config.timezone)
        if when is None:
            message = f"{name} date {raw!r} is not a date"
            task.problems.append(Problem(task.src_uri, message, line))
        return when

    def _read_sections(self, task: Task, tokens: list[Token], heads: list[Heading],
                       offset: int) -> None:
        for i, head in enumerate(heads):
            kind = section_kind(head.text)
            if kind is None or kind in task.sections:
                continue
            end = _section_end(heads, i)
            text = _plain_text(_tokens_between(tokens, head.line + 1, end))
            task.sections[kind] = Section(kind, head.text, head.anchor, head.line + offset, text)


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return str(value).strip()


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v != ""]  # a null item is no item
    return [v.strip() for v in str(value).split(",") if v.strip()]


#: Characters of a title taken from a task's description.
TITLE_CHARS = 80


def _title(task: Task, meta_title: str, heads: list[Heading],
           tokens: list[Token]) -> tuple[str, str]:
    if meta_title:
        return meta_title, "front matter"
    for head in heads:
        if head.level == 1 and head.text and section_kind(head.text) is None:
            return _heading_text(tokens, head) or head.text, "heading"
    described = _description_title(heads, tokens)
    if described:
        return described, "description"
    return task.id, "id"


def _heading_text(tokens: list[Token], head: Heading) -> str:
    """The text a heading shows, without Markdown marks (``**Bold** `x` &amp; y`` shows
    ``Bold x & y``)."""
    for opening, inline in itertools.pairwise(tokens):
        if opening.type == "heading_open" and opening.map and opening.map[0] == head.line:
            return _one_line(inline)
    return ""


def _one_line(inline: Token) -> str:
    """What an inline token shows, its runs of spaces and line breaks made one space."""
    return " ".join(inline_text(inline).split())


def _title_anchor(title: str, tokens: list[Token]) -> str:
    """The anchor of the level-1 heading the body opens with, when it shows the title
    (the page shows that heading as its own title rather than twice); else ""."""
    if len(tokens) > 1 and tokens[0].type == "heading_open" and tokens[0].tag == "h1" and \
            _one_line(tokens[1]) == title:
        return str(tokens[0].attrGet("id") or "")
    return ""


def _description_title(heads: list[Heading], tokens: list[Token]) -> str:
    """The first sentence of the description's first paragraph, without its full stop."""
    index = next((i for i, h in enumerate(heads) if section_kind(h.text) == "description"), None)
    if index is None:
        return ""
    section = _tokens_between(tokens, heads[index].line + 1, _section_end(heads, index))
    for before, token in zip(section, section[1:]):
        if before.type == "paragraph_open" and token.type == "inline":
            text = _CHECK_MARK.sub("", _plain_text([token]))
            sentence = _first_sentence(text, TITLE_CHARS)
            return sentence[:-1] if sentence.endswith(("。", ".", "．")) else sentence
    return ""


def _lead(tokens: list[Token]) -> str:
    """The text of the body's first paragraph not inside a list or quote (else of its
    first paragraph): what a body without a description section opens with."""
    paragraphs = [(opening.level, token) for opening, token in itertools.pairwise(tokens)
                  if opening.type == "paragraph_open" and token.type == "inline"]
    first = next((t for level, t in paragraphs if level == 0), None) or next(
        (t for _, t in paragraphs), None)
    return _plain_text([first]) if first else ""


def _section_end(heads: list[Heading], index: int) -> int | None:
    """0-based body line where the section of heads[index] ends (None: at the end)."""
    level = heads[index].level
    for later in heads[index + 1:]:
        if later.level <= level:
            return later.line
    return None


def _tokens_between(tokens: list[Token], start: int, end: int | None) -> list[Token]:
    return [t for t in tokens if t.map and t.map[0] >= start and (end is None or t.map[0] < end)]


#: Plain text kept per page and section: enough for excerpts and summaries.
TEXT_LIMIT = 400
#: Characters of a task's description shipped to the browser for filtering.
EXCERPT_CHARS = 160


def _plain_text(tokens: list[Token]) -> str:
    parts, size = [], 0
    for token in tokens:
        if token.type in ("inline", "fence", "code_block"):
            parts.append(inline_text(token) if token.type == "inline" else token.content)
            size += len(token.content)
            if size > TEXT_LIMIT * 2:
                break
    text = _join_cjk_breaks(" ".join(parts))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:TEXT_LIMIT]


def _join_cjk_breaks(text: str) -> str:
    """Drop line breaks that only wrap Chinese (or Japanese) text: "数据\\n清洗" → "数据清洗"."""
    return _CJK_BREAK.sub("", text)


def _drop_cjk_softbreaks(tokens: list[Token]) -> None:
    """Render a soft line break between two Chinese characters as nothing, not a space."""
    for token in tokens:
        words = [c for c in token.children or []
                 if c.type == "softbreak" or (c.type in ("text", "code_inline") and c.content)]
        for before, softbreak, after in zip(words, words[1:], words[2:]):
            if (softbreak.type == "softbreak" and before.type == after.type == "text"
                    and _CJK_BREAK.search(before.content[-1:] + "\n" + after.content[:1])):
                softbreak.type, softbreak.content = "text", ""


def _first_sentence(text: str, limit: int = 160) -> str:
    match = _SENTENCE.match(text)
    sentence = match.group(1) if match else text
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _checklist(tokens: list[Token], lines: list[str], heads: list[Heading],
               offset: int) -> list[ChecklistItem]:
    """Every ``- [x]`` / ``- [ ]`` item, nested ones included, with its group heading."""
    items = []
    group, next_head = "", 0
    for i, token in enumerate(tokens):
        if token.type != "list_item_open" or "task-list-item" not in str(
                token.attrGet("class") or ""):
            continue
        line = token.map[0] if token.map else 0
        while next_head < len(heads) and heads[next_head].line < line:
            group = heads[next_head].text
            next_head += 1
        match = _CHECK_LINE.match(lines[line]) if line < len(lines) else None
        inline = next((t for t in tokens[i:i + 3] if t.type == "inline"), None)
        text = inline.content.strip() if inline else ""
        done = bool(match and match.group(1) in "xX")
        items.append(ChecklistItem(text, done, line + offset, group))
    return items


def _worklog(task: Task, heads: list[Heading], tokens: list[Token], offset: int,
             config: Config) -> list[WorkLogEntry]:
    """Entries: ``<role> (<date>)`` headings anywhere; any role or bare dates in the work log.

    An entry runs to the next entry heading of any level, or to the end of its
    section, whichever comes first.
    """
    log_section = task.sections.get("worklog")
    log_start = log_section.line - offset if log_section else None
    log_index = next((i for i, h in enumerate(heads) if h.line == log_start), None)
    log_end = _log_end(heads, log_index, config.roles) if log_index is not None else 0
    found = []
    for i, head in enumerate(heads):
        in_log = log_index is not None and log_index < i < log_end
        entry = _entry(task, head, in_log, config, offset)
        if entry is not None:
            found.append((i, entry))

    ends = _section_ends(heads)
    item_lines = [item.line for item in task.items]
    paragraphs = [(t.map[0], tokens[i + 1]) for i, t in enumerate(tokens)
                  if t.type == "paragraph_open" and t.level == 0 and t.map]
    paragraph_lines = [line for line, _ in paragraphs]
    entries = []
    for n, (i, entry) in enumerate(found):
        head, end = heads[i], ends[i]
        if n + 1 < len(found):
            following = heads[found[n + 1][0]].line
            end = following if end is None else min(end, following)
        entry.line = head.line + offset
        first = bisect.bisect_right(item_lines, entry.line)
        last = len(item_lines) if end is None else bisect.bisect_left(item_lines, end + offset)
        entry.items = task.items[first:last]
        if not entry.summary:
            k = bisect.bisect_right(paragraph_lines, head.line)
            if k < len(paragraphs) and (end is None or paragraphs[k][0] < end):
                paragraph = inline_text(paragraphs[k][1]).replace("\n", " ").strip()
                entry.summary = _first_sentence(paragraph)
        entries.append(entry)
    return entries


def _section_ends(heads: list[Heading]) -> list[int | None]:
    """For each heading, the 0-based line where its section ends (None: at the end)."""
    ends: list[int | None] = [None] * len(heads)
    open_heads: list[int] = []
    for j, head in enumerate(heads):
        while open_heads and heads[open_heads[-1]].level >= head.level:
            ends[open_heads.pop()] = head.line
        open_heads.append(j)
    return ends


def _log_end(heads: list[Heading], log_index: int, roles: dict[str, str]) -> int:
    """Index of the first heading after the work-log section.

    Entry headings at the level of the work-log heading itself (``## 工作记录``
    then ``## 研究员 (…)``) belong to the work log too.
    """
    level = heads[log_index].level
    for j in range(log_index + 1, len(heads)):
        head = heads[j]
        if head.level < level or (
                head.level == level and _entry_heading(head.text, roles) is None):
            return j
    return len(heads)


def _entry_heading(text: str, roles: dict[str, str]) -> tuple[str, str, str] | None:
    """(role as written, date as written, text after them) of a heading like an entry.

    Forms: ``role (date)`` with ``()`` or ``（）`` and optional text after it,
    ``date role`` (also ``(date) role``), and a bare date. After a leading date,
    words that are not a role (*roles* adds spellings) are text, not a role.
    """
    found = WRITTEN_DATE.search(text)
    if found is None:
        return None
    before, after = text[: found.start()].rstrip(), text[found.end():].lstrip()
    if before.endswith(("(", "（")) and after.startswith((")", "）")):
        role, rest = before[:-1].strip(" \t*_:："), _SEPARATOR.sub("", after[1:])
        if role:
            return role, found.group(), rest
    elif before:
        return None
    rest = _SEPARATOR.sub("", after)
    cut = _ROLE_END.search(rest)
    role = (rest[: cut.start()] if cut else rest).strip(" \t*_")
    if role and vocab.canonical_role(role, roles):
        return role, found.group(), rest[cut.end():].strip() if cut else ""
    return "", found.group(), rest


def _entry(task: Task, head: Heading, in_log: bool, config: Config,
           offset: int) -> WorkLogEntry | None:
    parsed = _entry_heading(head.text, config.roles)
    if parsed is None:
        return None
    raw_role, when_raw, rest = parsed
    role = vocab.canonical_role(raw_role, config.roles) if raw_role else None
    if role is None and not in_log:
        return None
    when = parse_when(when_raw, config.timezone)
    if when is None:
        message = f"work-log date {when_raw!r} is not a date"
        task.problems.append(Problem(task.src_uri, message, head.line + offset))
    return WorkLogEntry(role, raw_role, when_raw, when, 0, head.anchor, rest)
