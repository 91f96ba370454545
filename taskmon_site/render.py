"""Rendering pages with Jinja: user theme → default theme lookup, one context shape.

Fragments shared by many pages (the docs navigation, a task's list row and
board card) are rendered once and reused, so building costs grow linearly
with the number of tasks.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

from jinja2 import (ChoiceLoader, Environment, FileSystemBytecodeCache, FileSystemLoader,
                    StrictUndefined, select_autoescape)
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from taskmon_site import __version__, vocab
from taskmon_site.config import Config
from taskmon_site.dates import iso, sort_key
from taskmon_site.model import Doc, Page, Task, WorkLogEntry
from taskmon_site.site import UNKNOWN, Site
from taskmon_site.urls import (BOARD_URL, DOCS_URL, INDEX_URL, LIST_URL, PROBLEMS_URL,
                               TASKS_JSON_URL, root_prefix)

BUILD_JS_URL = "assets/build.js"
DATA_JS_URL = "assets/data.js"

#: Columns of one task record in ``assets/data.js``, in order.
RECORD_FIELDS = ("url", "id", "title", "status", "current", "next", "flow", "stamp",
                 "created", "updated", "done", "total", "stale", "text")

#: strings.toml keys the JavaScript layer uses; they reach it in one JSON block.
JS_STRING_KEYS = (
    "shown_of", "show_more", "no_matches", "new", "mark_read", "mark_all_read",
    "changed_since", "search_needs_http", "search_no_index", "search_no_results",
    "search_title_matches", "search_loading", "kind_task", "kind_doc", "theme_dark",
    "theme_light", "unit_day", "unit_hour", "unit_minute", "just_now", "ago",
    "moved_to", "sort_asc", "sort_desc", "updated_since_visit", "unknown",
)


@dataclass
class Fragments:
    """Rendered once per task and reused by the index pages until its inputs change:
    its list row, its board card and its data.js record, UTF-8."""

    key: str
    row: bytes
    card: bytes
    record: bytes
    #: The board column the card goes in: the task's status id, or UNKNOWN.
    column: str = UNKNOWN


def theme_key(config: Config) -> str:
    """Changes whenever anything that shapes every page changes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((__version__, config.lang, config.title, config.base_url,
                        config.stale_days, config.repo_url)).encode("utf-8"))
    for folder in config.theme_dirs:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(folder).as_posix().encode("utf-8"))
                digest.update(path.read_bytes())
    return digest.hexdigest()


def load_strings(theme_dirs: list[Path], lang: str) -> dict[str, str]:
    """UI strings for *lang*: the default theme's, overridden by the user theme's."""
    strings: dict[str, str] = {}
    for folder in reversed(theme_dirs):
        path = folder / "strings.toml"
        if path.is_file():
            with path.open("rb") as fh:
                table = tomllib.load(fh)
            strings.update(table.get("en", {}))
            strings.update(table.get(lang, {}))
    return strings


def href(url: str) -> str:
    """Percent-encode a site-relative URL for an href attribute."""
    return quote(url, safe="/#")


class Renderer:
    """The theme's templates and strings; renders pages, never decides which."""

    def __init__(self, config: Config) -> None:
        self.config = config
        loaders = [FileSystemLoader(str(d / "templates")) for d in config.theme_dirs]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            bytecode_cache=_bytecode_cache(config),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.strings = load_strings(config.theme_dirs, config.lang)
        self.env.globals.update(
            t=self.strings, lang=config.lang, label=self.label, version=__version__,
            config=config, statuses=vocab.STATUS_IDS, roles=vocab.ROLE_IDS, UNKNOWN=UNKNOWN,
            urls={"index": INDEX_URL, "list": LIST_URL, "board": BOARD_URL,
                  "docs": DOCS_URL, "problems": PROBLEMS_URL, "json": TASKS_JSON_URL,
                  "build_js": BUILD_JS_URL, "data_js": DATA_JS_URL},
        )
        self.env.globals.update(ui_json=self._ui_json(), stamp=stamp, gaps=entry_gaps,
                                duration=self.duration)
        self.env.filters.update(href=href, iso=iso, tojson_attr=_tojson_attr)
        self.theme_key = theme_key(config)

    def label(self, term_id: str | None) -> str:
        if not term_id or term_id == UNKNOWN:
            return self.strings.get("unknown", "unknown")
        return vocab.label(term_id, self.config.lang)

    def duration(self, seconds: float | None) -> str:
        """A short, rounded length of time in the UI language: "3 d 4 h", "25 min"."""
        if seconds is None or seconds < 0:
            return ""
        minutes = int(seconds // 60)
        days, hours = minutes // 1440, minutes % 1440 // 60
        if days:
            parts = [(days, "unit_day")] + ([(hours, "unit_hour")] if hours and days < 7 else [])
        elif hours:
            parts = [(hours, "unit_hour")]
        else:
            parts = [(minutes % 60, "unit_minute")]
        return " ".join(self.strings[key].replace("{n}", str(n)) for n, key in parts)

    def _ui_json(self) -> Markup:
        """Strings and settings for the JavaScript layer, safe inside a <script> block."""
        data = {"lang": self.config.lang,
                "strings": {k: self.strings.get(k, k) for k in JS_STRING_KEYS},
                "statuses": list(vocab.STATUS_IDS), "roles": list(vocab.ROLE_IDS),
                "labels": {i: self.label(i) for i in (*vocab.STATUS_IDS, *vocab.ROLE_IDS,
                                                       UNKNOWN)}}
        return Markup(script_json(data))

    # -- what a page depends on -------------------------------------------------------

    def key(self, *parts: Any) -> str:
        """A hash of the theme and *parts*: equal keys render equal output."""
        text = repr((self.theme_key, *parts)).encode("utf-8")
        return hashlib.blake2b(text, digest_size=16).hexdigest()

    def task_key(self, task: Task, prev_task: Task | None, next_task: Task | None) -> str:
        return self.key(_own_key(task), task.stale, _neighbour_key(prev_task, next_task))

    def doc_key(self, doc: Doc, nav_key: str) -> str:
        return self.key(_own_key(doc), nav_key, _backlink_key(doc))

    def fragment_key(self, task: Task) -> str:
        return self.key(task.digest, task.stale, task.url)

    # -- single pages -------------------------------------------------------------------

    def _page(self, template: str, url: str, **context: Any) -> str:
        tpl = self.env.get_template(template)
        return tpl.render(page_url=url, root=root_prefix(url), **context)

    def render_task(self, task: Task, prev_task: Task | None, next_task: Task | None) -> str:
        """A task's own page; *task* must be full, its neighbours may be slim."""
        assert not task.is_slim, f"{task.src_uri}: a task page needs the full task"
        return self._page("task.html", task.url, task=task, body=Markup(task.html),
                          prev_task=prev_task, next_task=next_task, title=task.title)

    def render_doc(self, doc: Doc, nav: str) -> str:
        """A doc's page, with the docs navigation *nav* from :meth:`doc_nav`."""
        assert not doc.is_slim, f"{doc.src_uri}: a doc page needs the full doc"
        root = root_prefix(doc.url)
        return self._page("doc.html", doc.url, doc=doc, body=Markup(doc.html),
                          doc_nav=Markup(nav.replace("@ROOT@", root)), title=doc.title)

    def doc_nav(self, docs: list[Doc]) -> tuple[str, str]:
        """The navigation across all docs, rendered once per build, and its key."""
        html = self.env.get_template("_doc_nav.html").render(docs=docs, root="@ROOT@")
        return self.key(html), html

    def fragments(self, task: Task) -> Fragments:
        """The list row, board card and data.js record of *task* (slim or full)."""
        row = self.env.get_template("_row.html").render(task=task, root=root_prefix(LIST_URL))
        card = self.env.get_template("_card.html").render(task=task,
                                                          root=root_prefix(BOARD_URL))
        record = script_json(task_record(task))
        return Fragments(self.fragment_key(task), row.encode("utf-8"), card.encode("utf-8"),
                         record.encode("utf-8"), task.status or UNKNOWN)

    # -- the index pages ----------------------------------------------------------------

    def index_pages(self, site: Site, fragments: list[Fragments],
                    json_of: Callable[[Task], bytes], data: bool = True,
                    ) -> Iterator[tuple[str, str | list[bytes]]]:
        """The dashboard, list, board, docs index, problems page and data files
        (tasks.json last, and only with *data*).

        Rows, cards and data.js records come from *fragments* (of each task of
        ``site.tasks``, in that order); each
        task's tasks.json entry from *json_of*. One page at a time, so a site of
        many tasks never holds them all; tasks.json comes in pieces.
        """
        data_js, data_version = self.data_js(site, fragments)
        yield DATA_JS_URL, data_js
        del data_js
        yield BUILD_JS_URL, build_js(site)
        yield INDEX_URL, self._page("dashboard.html", INDEX_URL, site=site, title="",
                                    data_version=data_version)
        rows = {"": [f.row for f in fragments]}
        yield LIST_URL, self._with_fragments(
            "list.html", LIST_URL, rows, lambda marks: {"rows": marks[""]}, site=site,
            title=self.strings["tasks"], data_version=data_version)
        del rows
        cards: dict[str, list[bytes]] = {s: [] for s in site.counts}
        for task_fragments in fragments:
            cards[task_fragments.column].append(task_fragments.card)
        yield BOARD_URL, self._with_fragments(
            "board.html", BOARD_URL, cards, lambda marks: {"columns": marks}, site=site,
            title=self.strings["board"], data_version=data_version)
        del cards
        yield DOCS_URL, self._page("docs_index.html", DOCS_URL, site=site,
                                   title=self.strings["docs"])
        yield PROBLEMS_URL, self._page("problems.html", PROBLEMS_URL, site=site,
                                       title=self.strings["problems"])
        if data:
            yield TASKS_JSON_URL, tasks_json(site, json_of)

    def _with_fragments(self, template: str, url: str, parts: dict[str, list[bytes]],
                        context: Callable[[dict[str, Markup]], dict[str, Any]],
                        **more: Any) -> list[bytes]:
        """*template* with each part of fragments joined in: the page in pieces.

        The template is rendered with a mark where each part goes, and the page is
        cut there, so thousands of rows are copied as bytes instead of going through
        the template. A theme that shows a part other than once gets them joined in.
        """
        marks = {name: Markup(f"\x00taskmon:{name}\x00") for name in parts}
        page = self._page(template, url, **context(marks), **more)
        cut = re.split("\x00taskmon:([^\x00]*)\x00", page)
        names = cut[1::2]
        if sorted(names) != sorted(parts):
            joined = {n: Markup(b"".join(p).decode("utf-8")) for n, p in parts.items()}
            return [self._page(template, url, **context(joined), **more).encode("utf-8")]
        pieces = [cut[0].encode("utf-8")]
        for name, text in zip(names, cut[2::2]):
            pieces.extend(parts[name])
            pieces.append(text.encode("utf-8"))
        return pieces

    def index_urls(self) -> list[str]:
        return [DATA_JS_URL, BUILD_JS_URL, INDEX_URL, LIST_URL, BOARD_URL, DOCS_URL,
                PROBLEMS_URL, TASKS_JSON_URL]

    def data_js(self, site: Site, fragments: list[Fragments]) -> tuple[list[bytes], str]:
        """What the list, board and dashboard scripts filter, sort and mark, as a script,
        and a version of its tasks and docs for the pages' links to it.

        A script, not fetched JSON, so it loads from file:// too; the version in its
        link keeps a browser from using a copy from before a rebuild. Each task is
        one record rendered with its *fragments* (as for :meth:`index_pages`).
        """
        docs = [[d.url, d.title, d.src_uri] for d in site.docs]
        records = b",\n".join([f.record for f in fragments])
        version = hashlib.blake2b(repr(docs).encode("utf-8") + records,
                                  digest_size=6).hexdigest()
        head = {"builtAt": site.built_at.isoformat(), "fields": RECORD_FIELDS, "docs": docs}
        text = [f"window.TASKMON_DATA = {script_json(head)[:-1]},\n".encode("utf-8"),
                b'"tasks": [\n', records, b"\n]};\n"]
        return text, version

    # -- static files -----------------------------------------------------------------

    def static_urls(self) -> list[str]:
        urls = {"assets/pygments.css"}
        for folder in self.config.theme_dirs:
            static = folder / "static"
            if static.is_dir():
                urls.update(f"assets/{p.relative_to(static).as_posix()}"
                            for p in static.rglob("*") if p.is_file())
        return sorted(urls)

    def static_files(self) -> dict[str, bytes]:
        """The theme's static files (user theme wins) and the Pygments styles."""
        files: dict[str, bytes] = {}
        for folder in reversed(self.config.theme_dirs):
            static = folder / "static"
            if static.is_dir():
                for path in sorted(static.rglob("*")):
                    if path.is_file():
                        files[f"assets/{path.relative_to(static).as_posix()}"] = (
                            path.read_bytes())
        light = HtmlFormatter(style="default").get_style_defs(".highlight")
        dark = HtmlFormatter(style="monokai")
        chosen = dark.get_style_defs(":root.dark .highlight")
        by_os = dark.get_style_defs(":root:not(.light) .highlight")
        files["assets/pygments.css"] = (
            f"{light}\n{chosen}\n@media (prefers-color-scheme: dark) {{\n{by_os}\n}}\n"
        ).encode("utf-8")
        return files


def _bytecode_cache(config: Config) -> FileSystemBytecodeCache | None:
    """Compiled templates kept between runs: compiling them costs more than a small build."""
    if config.cache_dir is None:
        return None
    folder = config.cache_dir / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def neighbours(tasks: list[Task]) -> dict[str, tuple[Task | None, Task | None]]:
    """Each task's previous and next task in list order, by src_uri."""
    padded = [None, *tasks, None]
    return {t.src_uri: (padded[i], padded[i + 2]) for i, t in enumerate(tasks)}


def _own_key(page: Page) -> str:
    """The page's file (the page shows its path) and bytes and the URLs its links
    resolved to, hashed once per page read (the page is replaced when its file or a
    link target changes)."""
    if not page.own_key:
        text = repr((page.src_uri, page.digest,
                     sorted(page.lookups.items()))).encode("utf-8")
        page.own_key = hashlib.blake2b(text, digest_size=16).hexdigest()
    return page.own_key


def _neighbour_key(*tasks: Task | None) -> tuple:
    return tuple((t.url, t.title) if t else None for t in tasks)


def _backlink_key(doc: Doc) -> tuple:
    return tuple((t.url, t.title, t.status, t.id) for t in doc.referenced_by)


def _tojson_attr(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def script_json(value: Any) -> str:
    """JSON that cannot end a <script> element or start markup, whatever it contains."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def stamp(task: Task) -> str:
    """The value a browser remembers to tell whether a task changed since it was opened."""
    return task.updated_raw or task.created_raw or ""


def task_record(task: Task) -> list[Any]:
    """One task for the browser, in :data:`RECORD_FIELDS` order."""
    progress = task.progress
    return [task.url, task.id, task.title, task.status or UNKNOWN,
            task.current_role or UNKNOWN, task.next_role or UNKNOWN, task.flow, stamp(task),
            _epoch(task.created), _epoch(task.updated or task.created), progress.done,
            progress.total, int(task.stale), " ".join([task.excerpt, *task.labels])]


def _epoch(value: Any) -> int | None:
    key = sort_key(value)
    return None if key == float("-inf") else int(key)


def entry_gaps(worklog: list[WorkLogEntry]) -> list[float | None]:
    """Seconds from the previous dated work-log entry to each entry (None when unknown)."""
    gaps: list[float | None] = []
    last = None
    for entry in worklog:
        gaps.append(None if last is None or entry.when is None
                    else max(0.0, _seconds_between(last, entry.when)))
        last = entry.when or last
    return gaps


def _seconds_between(start: Any, end: Any) -> float:
    return sort_key(end) - sort_key(start)


def task_json(task: Task) -> bytes:
    """A full task's entry in tasks.json, UTF-8, without ``stale`` and the opening brace:
    stale changes with time alone, so :func:`tasks_json` puts it in front.

    Work-log entries come with their progress, not each checklist item (those
    were more than half of the file; ``task show --json`` and the page have them).
    """
    data = task.to_json(items=False)
    del data["stale"]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text[1:].encode("utf-8")


def tasks_json(site: Site, json_of: Callable[[Task], bytes]) -> list[bytes]:
    """Every task with every field, ISO dates and problems — for machines.

    In pieces: with thousands of tasks it is tens of megabytes, written as it is.
    """
    compact: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}
    head = json.dumps({"generator": f"taskmon-site {__version__}",
                       "built_at": site.built_at.isoformat(), "counts": site.counts},
                      **compact)
    tail = json.dumps({
        "docs": [{"title": d.title, "url": d.url, "source": d.src_uri,
                  "referenced_by": [t.id for t in d.referenced_by]} for d in site.docs],
        "problems": [p.to_json() for p in site.problems],
    }, **compact)
    pieces = [f'{head[:-1]},"tasks":['.encode("utf-8")]
    for i, task in enumerate(site.tasks):
        pieces.append(b'{"stale":true,' if task.stale else b'{"stale":false,')
        pieces.append(json_of(task) if i == len(site.tasks) - 1 else json_of(task) + b",")
    pieces.append(f"],{tail[1:]}\n".encode("utf-8"))
    return pieces


def build_js(site: Site) -> str:
    """A tiny script every page loads: when the site was built (no page rewrite needed)."""
    info = {"builtAt": site.built_at.isoformat(), "tasks": len(site.tasks),
            "problems": len(site.problems)}
    payload = json.dumps(info).replace("<", "\\u003c")
    return f"window.TASKMON_BUILD = {payload};\n"
