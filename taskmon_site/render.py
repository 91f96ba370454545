"""Rendering pages with Jinja: user theme → default theme lookup, one context shape.

Fragments shared by many pages (the docs navigation, a task's list row and
board card) are rendered once and reused, so building costs grow linearly
with the number of tasks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from taskmon_site import __version__, vocab
from taskmon_site.config import Config
from taskmon_site.dates import iso, sort_key
from taskmon_site.model import Doc, Page, Task, WorkLogEntry
from taskmon_site.site import UNKNOWN, Site
from taskmon_site.urls import (BOARD_URL, DOCS_URL, INDEX_URL, LIST_URL, PROBLEMS_URL,
                               TASKS_JSON_URL, root_prefix)

log = logging.getLogger(__name__)

BUILD_JS_URL = "assets/build.js"
DATA_JS_URL = "assets/data.js"

#: Characters of a task's text shipped to the browser for filtering.
EXCERPT_CHARS = 160

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
    """Rendered once per task: its list row, its board card, its data.js record."""

    row: str
    card: str
    record: str


def theme_key(config: Config) -> str:
    """Changes whenever anything that shapes every page changes."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((__version__, config.lang, config.title, config.base_url,
                        config.stale_days)).encode("utf-8"))
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
    def __init__(self, config: Config) -> None:
        self.config = config
        loaders = [FileSystemLoader(str(d / "templates")) for d in config.theme_dirs]
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.strings = load_strings(config.theme_dirs, config.lang)
        self.env.globals.update(
            t=self.strings, lang=config.lang, label=self.label, version=__version__,
            statuses=vocab.STATUS_IDS, roles=vocab.ROLE_IDS, UNKNOWN=UNKNOWN,
            urls={"index": INDEX_URL, "list": LIST_URL, "board": BOARD_URL,
                  "docs": DOCS_URL, "problems": PROBLEMS_URL, "json": TASKS_JSON_URL,
                  "build_js": BUILD_JS_URL, "data_js": DATA_JS_URL},
        )
        self.env.globals.update(ui_json=self._ui_json(), stamp=stamp, gaps=entry_gaps,
                                duration=self.duration)
        self.env.filters.update(href=href, iso=iso, tojson_attr=_tojson_attr)
        self.theme_key = theme_key(config)
        #: url → key of the inputs each task/doc page was last written with.
        self.page_keys: dict[str, str] = {}
        self._fragments: dict[str, tuple[str, Fragments]] = self._load_fragments()
        self._doc_nav: tuple[Any, str] | None = None

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

    # -- the whole site ---------------------------------------------------------

    def render_site(self, site: Site, full: bool,
                    exists: Callable[[str], bool]) -> dict[str, str | bytes]:
        """Pages to write: url → content.

        A task or doc page is rendered only when its key — its source, the links
        it resolved, its neighbours or backlinks, the theme — differs from the
        one it was last written with, or its file is missing (*exists*).
        """
        pages: dict[str, str | bytes] = {}
        nav_key = self._refresh_doc_nav(site)
        neighbours = _neighbours(site.tasks)
        for task in site.tasks:
            prev_task, next_task = neighbours[task]
            key = self._key(task.digest, sorted(task.lookups.items()), task.stale,
                            _neighbour_key(prev_task, next_task))
            if self._stale_page(task.url, key, exists):
                pages[task.url] = self.render_task(task, prev_task, next_task, site=site)
                self.page_keys[task.url] = key
        for doc in site.docs:
            key = self._key(doc.digest, sorted(doc.lookups.items()), nav_key,
                            _backlink_key(doc))
            if self._stale_page(doc.url, key, exists):
                pages[doc.url] = self.render_doc(site, doc)
                self.page_keys[doc.url] = key
        pages.update(self.render_indexes(site))
        if full:
            pages.update(self.static_files())
        return pages

    def _key(self, *parts: Any) -> str:
        text = repr((self.theme_key, *parts)).encode("utf-8")
        return hashlib.blake2b(text, digest_size=16).hexdigest()

    def _stale_page(self, url: str, key: str, exists: Callable[[str], bool]) -> bool:
        return self.page_keys.get(url) != key or not exists(url)

    def expected_urls(self, site: Site | None) -> set[str]:
        """Every URL the current site consists of (static files excluded)."""
        if site is None:
            return set()
        urls = {p.url for p in [*site.tasks, *site.docs]}
        urls.update(self._index_urls())
        return urls | set(self._static_urls())

    def _index_urls(self) -> list[str]:
        return [INDEX_URL, LIST_URL, BOARD_URL, DOCS_URL, PROBLEMS_URL, TASKS_JSON_URL,
                BUILD_JS_URL, DATA_JS_URL]

    # -- single pages -------------------------------------------------------------

    def _page(self, template: str, url: str, site: Site, **context: Any) -> str:
        tpl = self.env.get_template(template)
        return tpl.render(site=site, page_url=url, root=root_prefix(url), **context)

    def render_task(self, task: Task, prev_task: Task | None, next_task: Task | None,
                    site: Site) -> str:
        return self._page("task.html", task.url, site, task=task, body=Markup(task.html),
                          prev_task=prev_task, next_task=next_task, title=task.title)

    def render_doc(self, site: Site, doc: Doc) -> str:
        nav = self._doc_nav[1] if self._doc_nav else ""
        root = root_prefix(doc.url)
        return self._page("doc.html", doc.url, site, doc=doc, body=Markup(doc.html),
                          doc_nav=Markup(nav.replace("@ROOT@", root)), title=doc.title)

    def render_indexes(self, site: Site) -> dict[str, str]:
        self._refresh_fragments(site)
        rows = Markup("".join(self._fragments[t.src_uri][1].row for t in site.tasks))
        cards: dict[str, list[str]] = {s: [] for s in site.counts}
        for task in site.tasks:
            cards[task.status or UNKNOWN].append(self._fragments[task.src_uri][1].card)
        columns = {s: Markup("".join(c)) for s, c in cards.items()}
        data_js, data_version = self.data_js(site)
        return {
            INDEX_URL: self._page("dashboard.html", INDEX_URL, site, title="",
                                  data_version=data_version),
            LIST_URL: self._page("list.html", LIST_URL, site, rows=rows,
                                 title=self.strings["tasks"], data_version=data_version),
            BOARD_URL: self._page("board.html", BOARD_URL, site, columns=columns,
                                  title=self.strings["board"], data_version=data_version),
            DOCS_URL: self._page("docs_index.html", DOCS_URL, site,
                                 title=self.strings["docs"]),
            PROBLEMS_URL: self._page("problems.html", PROBLEMS_URL, site,
                                     title=self.strings["problems"]),
            TASKS_JSON_URL: tasks_json(site),
            BUILD_JS_URL: build_js(site),
            DATA_JS_URL: data_js,
        }

    def data_js(self, site: Site) -> tuple[str, str]:
        """What the list, board and dashboard scripts filter, sort and mark, as a script,
        and a version of its tasks and docs for the pages' links to it.

        A script, not fetched JSON, so it loads from file:// too; the version in its
        link keeps a browser from using a copy from before a rebuild. Each task is
        one record rendered with its fragments, in list order.
        """
        docs = [[d.url, d.title, d.src_uri] for d in site.docs]
        records = ",\n".join(self._fragments[t.src_uri][1].record for t in site.tasks)
        version = hashlib.blake2b(f"{docs}{records}".encode("utf-8"), digest_size=6).hexdigest()
        head = {"builtAt": site.built_at.isoformat(), "fields": RECORD_FIELDS, "docs": docs}
        text = (f"window.TASKMON_DATA = {script_json(head)[:-1]},\n"
                f'"tasks": [\n{records}\n]}};\n')
        return text, version

    # -- shared fragments -----------------------------------------------------------

    def _refresh_fragments(self, site: Site) -> None:
        """Render the list row and board card of each task whose inputs changed."""
        fresh: dict[str, tuple[str, Fragments]] = {}
        changed = False
        for task in site.tasks:
            key = self._key(task.digest, task.stale, task.url)
            old = self._fragments.get(task.src_uri)
            if old is None or old[0] != key:
                old, changed = (key, self._task_fragments(task)), True
            fresh[task.src_uri] = old
        changed = changed or len(fresh) != len(self._fragments)
        self._fragments = fresh
        if changed:
            self._save_fragments()

    def _fragment_file(self) -> Path | None:
        folder = self.config.cache_dir
        return folder / f"fragments-{self.theme_key}.pickle" if folder else None

    def _load_fragments(self) -> dict[str, tuple[str, Fragments]]:
        path = self._fragment_file()
        try:
            with path.open("rb") as fh:  # type: ignore[union-attr]
                data = pickle.load(fh)
            return data if isinstance(data, dict) else {}
        except (AttributeError, OSError, pickle.PickleError, EOFError, ImportError, TypeError):
            return {}

    def _save_fragments(self) -> None:
        path = self._fragment_file()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                pickle.dump(self._fragments, fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)
        except OSError as exc:
            log.debug("Cannot save fragments: %s", exc)

    def _task_fragments(self, task: Task) -> Fragments:
        row = self.env.get_template("_row.html").render(task=task, root=root_prefix(LIST_URL))
        card = self.env.get_template("_card.html").render(task=task,
                                                          root=root_prefix(BOARD_URL))
        return Fragments(row, card, script_json(task_record(task)))

    def _refresh_doc_nav(self, site: Site) -> tuple:
        """Render the docs navigation once per build; returns what it depends on."""
        key = tuple((d.url, d.title) for d in site.docs)
        if not self._doc_nav or self._doc_nav[0] != key:
            html = self.env.get_template("_doc_nav.html").render(docs=site.docs, root="@ROOT@")
            self._doc_nav = (key, html)
        return key

    # -- static files -----------------------------------------------------------------

    def _static_urls(self) -> list[str]:
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


def _neighbours(tasks: list[Task]) -> dict[Task, tuple[Task | None, Task | None]]:
    """Each task's previous and next task in list order."""
    padded = [None, *tasks, None]
    return {t: (padded[i], padded[i + 2]) for i, t in enumerate(tasks)}


def _neighbour_key(*tasks: Task | None) -> tuple:
    return tuple((t.url, t.title) if t else None for t in tasks)


def _backlink_key(doc: Doc) -> tuple:
    return tuple((t.url, t.title, t.status) for t in doc.referenced_by)


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
    desc = task.sections.get("description")
    text = " ".join((desc.text if desc else task.text).split())[:EXCERPT_CHARS]
    progress = task.progress
    return [task.url, task.id, task.title, task.status or UNKNOWN,
            task.current_role or UNKNOWN, task.next_role or UNKNOWN, task.flow, stamp(task),
            _epoch(task.created), _epoch(task.updated or task.created), progress.done,
            progress.total, int(task.stale), " ".join([text, *task.labels])]


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


def tasks_json(site: Site) -> str:
    """Every task with every field, ISO dates and problems — for machines."""
    data = {
        "generator": f"taskmon-site {__version__}",
        "built_at": site.built_at.isoformat(),
        "counts": site.counts,
        "tasks": [t.to_json() for t in site.tasks],
        "docs": [{"title": d.title, "url": d.url, "source": d.src_uri,
                  "referenced_by": [t.id for t in d.referenced_by]} for d in site.docs],
        "problems": [p.to_json() for p in site.problems],
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def build_js(site: Site) -> str:
    """A tiny script every page loads: when the site was built (no page rewrite needed)."""
    info = {"builtAt": site.built_at.isoformat(), "tasks": len(site.tasks),
            "problems": len(site.problems)}
    payload = json.dumps(info).replace("<", "\\u003c")
    return f"window.TASKMON_BUILD = {payload};\n"
