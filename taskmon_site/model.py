"""What a site is made of: tasks, docs, work-log entries, and their pages.

Naming: ``src_uri`` is a source file's path relative to the source root with
'/' separators; ``abs_src_path`` is the absolute filesystem path; ``url`` is a
page's path relative to the site root ('/'-separated, never starting with '/').
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from taskmon_site.dates import iso, sort_key
from taskmon_site.source import Problem


@dataclass
class Heading:
    level: int
    text: str
    anchor: str
    #: 0-based line in the Markdown text.
    line: int


@dataclass
class ChecklistItem:
    text: str
    done: bool
    #: 1-based line in the source file.
    line: int
    #: The sub-heading the item stands under (e.g. "完成项", "Hand-over"), if any.
    group: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "done": self.done, "line": self.line, "group": self.group}


@dataclass
class Progress:
    """Checklist progress: items done out of all items (nested ones count)."""

    done: int = 0
    total: int = 0

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def to_json(self) -> dict[str, int]:
        return {"done": self.done, "total": self.total}


@dataclass
class WorkLogEntry:
    """One ``## <role> (<date>)`` entry of a task's work log."""

    #: Canonical role id, or None when the heading names no known role.
    role: str | None
    #: The role as written in the heading.
    role_raw: str
    #: The date as written in the heading.
    when_raw: str
    when: date | datetime | None
    #: 1-based line of the heading in the source file.
    line: int
    anchor: str
    summary: str = ""
    items: list[ChecklistItem] = field(default_factory=list)
    #: ``when`` as seconds since the epoch, for ordering (-inf when undated).
    when_key: float = field(init=False, default=float("-inf"))

    def __post_init__(self) -> None:
        self.when_key = sort_key(self.when)

    @property
    def progress(self) -> Progress:
        return Progress(sum(i.done for i in self.items), len(self.items))

    @property
    def handover(self) -> list[ChecklistItem]:
        """Open items: what this entry hands to the next role."""
        return [i for i in self.items if not i.done]

    def to_json(self, items: bool = True) -> dict[str, Any]:
        data = {
            "role": self.role, "role_raw": self.role_raw, "when_raw": self.when_raw,
            "when": iso(self.when), "line": self.line, "anchor": self.anchor,
            "summary": self.summary, "progress": self.progress.to_json(),
        }
        if items:
            data["items"] = [i.to_json() for i in self.items]
        return data


@dataclass
class Section:
    """A named part of a task body (description, current state, plan, …)."""

    kind: str
    heading: str
    anchor: str
    line: int
    text: str


@dataclass(eq=False)
class Page:
    """Anything that becomes one HTML page built from one source file.

    A page is *slim* (see :meth:`slim`) once the parts only its own HTML page
    and ``tasks.json`` need are dropped; the index pages need no more, and a
    site of ten thousand tasks keeps only slim pages in memory. (No ``slots``:
    a build loads thousands of pickled pages, and slotted dataclasses unpickle
    through Python code, several times slower.)
    """

    src_uri: str
    #: None on a slim page loaded from the build state: there it is the source
    #: folder / ``src_uri``, and building thousands of paths costs more than a load.
    abs_src_path: Path | None
    url: str
    #: Hash of the source file's bytes when it was read.
    digest: str = ""
    title: str = ""
    #: The rendered body, zlib-compressed (empty on a slim page).
    html_z: bytes = b""
    toc: list[Heading] = field(default_factory=list)
    #: src_uris of the tasks and docs this page links to or mentions.
    references: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    #: Plain text used for search and excerpts.
    text: str = ""
    #: Link candidates this page looked up while being read → the URL found (or None).
    lookups: dict[str, str | None] = field(default_factory=dict)
    #: Lower-cased ``*.md`` file names the source mentions (links may resolve later).
    mentions: set[str] = field(default_factory=set)
    #: True when the parts only the page itself shows were dropped.
    is_slim: bool = False
    #: Hash of ``digest`` and ``lookups``, made on first use: what of the page itself
    #: its output depends on (see ``Renderer.task_key``); kept with the slim page.
    own_key: str = ""

    @property
    def html(self) -> str:
        """The body rendered to HTML."""
        return zlib.decompress(self.html_z).decode("utf-8") if self.html_z else ""

    @html.setter
    def html(self, value: str) -> None:
        self.html_z = zlib.compress(value.encode("utf-8"), 1)

    def slim(self) -> Page:
        """A copy without the body, table of contents and other page-only parts."""
        return dataclasses.replace(self, html_z=b"", toc=[], is_slim=True)


@dataclass(eq=False)
class Task(Page):
    id: str = ""
    title_from: str = "id"
    #: The anchor of the heading the body opens with when it shows the title ("": none).
    title_anchor: str = ""
    status: str | None = None
    status_raw: str = ""
    current_role: str | None = None
    current_role_raw: str = ""
    next_role: str | None = None
    next_role_raw: str = ""
    created_raw: str = ""
    updated_raw: str = ""
    completed_raw: str = ""
    created: date | datetime | None = None
    updated: date | datetime | None = None
    completed: date | datetime | None = None
    flow: str = ""
    session: str = ""
    labels: list[str] = field(default_factory=list)
    priority: str = ""
    dependencies: list[str] = field(default_factory=list)
    #: Every front-matter (or preamble) key as written, in file order.
    meta: dict[str, Any] = field(default_factory=dict)
    #: Keys of ``meta`` that no canonical field took: shown, never dropped.
    extra: dict[str, Any] = field(default_factory=dict)
    #: The front matter text as written, for the "raw" view.
    front_matter: str = ""
    has_front_matter: bool = False
    sections: dict[str, Section] = field(default_factory=dict)
    worklog: list[WorkLogEntry] = field(default_factory=list)
    #: Every checklist item of the body (empty on a slim task; see ``progress``).
    items: list[ChecklistItem] = field(default_factory=list)
    #: Checklist items done out of all, kept when ``items`` are dropped.
    progress: Progress = field(default_factory=Progress)
    summary: str = ""
    #: The start of the description (or of the text), for filtering in the browser.
    excerpt: str = ""
    stale: bool = False
    #: ``updated`` as seconds since the epoch and the ``when_key`` of the latest dated
    #: work-log entry (-inf: none), for ordering; set with them (see ``sort_keys``).
    updated_key: float = float("-inf")
    activity_key: float = float("-inf")

    def sort_keys(self) -> None:
        """Set ``updated_key`` and ``activity_key`` from ``updated`` and ``worklog``."""
        self.updated_key = sort_key(self.updated)
        self.activity_key = max((e.when_key for e in self.worklog), default=float("-inf"))

    @property
    def last_entry(self) -> WorkLogEntry | None:
        return self.worklog[-1] if self.worklog else None

    def slim(self) -> Task:
        """A copy for the index pages: no body, sections, items, raw front matter or
        field table. Work-log entries keep their heading data and summary, not items.
        """
        entries = [dataclasses.replace(e, items=[]) for e in self.worklog]
        return dataclasses.replace(
            self, html_z=b"", toc=[], meta={}, extra={}, front_matter="", items=[],
            sections={}, worklog=entries, is_slim=True)

    def to_json(self, items: bool = True) -> dict[str, Any]:
        """Every field, for ``tasks.json`` and ``task show --json`` (a full task only);
        with *items*, also the checklist items of each work-log entry."""
        assert not self.is_slim, f"{self.src_uri}: to_json needs the full task"
        return {
            "id": self.id, "title": self.title, "url": self.url, "source": self.src_uri,
            "status": self.status, "status_raw": self.status_raw,
            "current_role": self.current_role, "current_role_raw": self.current_role_raw,
            "next_role": self.next_role, "next_role_raw": self.next_role_raw,
            "created": iso(self.created), "created_raw": self.created_raw,
            "updated": iso(self.updated), "updated_raw": self.updated_raw,
            "completed": iso(self.completed), "completed_raw": self.completed_raw,
            "flow": self.flow, "session": self.session, "labels": self.labels,
            "priority": self.priority, "dependencies": self.dependencies,
            "stale": self.stale, "summary": self.summary,
            "progress": self.progress.to_json(),
            "sections": {k: s.heading for k, s in self.sections.items()},
            "worklog": [e.to_json(items) for e in self.worklog],
            "extra": self.extra, "meta": self.meta,
            "references": sorted(self.references),
            "problems": [p.to_json() for p in self.problems],
        }


@dataclass(eq=False)
class Doc(Page):
    #: Tasks that reference this doc, filled in when the site is indexed.
    referenced_by: list[Task] = field(default_factory=list)

    def slim(self) -> Doc:
        return dataclasses.replace(self, html_z=b"", toc=[], referenced_by=[], is_slim=True)
