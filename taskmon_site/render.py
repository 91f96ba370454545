"""Rendering pages with Jinja: user theme → default theme lookup, one context shape.

Fragments shared by many pages (the docs navigation, a task's list row and
board card) are rendered once and reused, so building costs grow linearly
with the number of tasks.
"""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pygments.formatters import HtmlFormatter

from taskmon_site import __version__, vocab
from taskmon_site.config import Config
from taskmon_site.dates import iso
from taskmon_site.model import Doc, Page, Task
from taskmon_site.site import UNKNOWN, Site
from taskmon_site.urls import (BOARD_URL, DOCS_URL, INDEX_URL, LIST_URL, PROBLEMS_URL,
                               TASKS_JSON_URL, root_prefix)

log = logging.getLogger(__name__)

BUILD_JS_URL = "assets/build.js"
DATA_JS_URL = "assets/data.js"


@dataclass
class Fragments:
    """HTML rendered once per task and joined into the list and the board."""

    row: str
    card: str


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
        self.env.filters.update(href=href, iso=iso, tojson_attr=_tojson_attr)
        self._fragments: dict[str, Fragments] = {}
        self._doc_nav: tuple[Any, str] | None = None
        self._backlinks: dict[str, tuple] = {}
        self._neighbours: dict[str, tuple] = {}

    def label(self, term_id: str | None) -> str:
        if not term_id or term_id == UNKNOWN:
            return self.strings.get("unknown", "unknown")
        return vocab.label(term_id, self.config.lang)

    # -- the whole site ---------------------------------------------------------

    def render_site(self, site: Site, read: list[Page], old: Site | None,
                    full: bool) -> dict[str, str | bytes]:
        """Pages to write: url → content."""
        pages: dict[str, str | bytes] = {}
        nav_changed = self._refresh_doc_nav(site)
        for page in read:
            if isinstance(page, Task):
                self._fragments[page.src_uri] = self._task_fragments(page)
        live = {t.src_uri for t in site.tasks}
        for gone in set(self._fragments) - live:
            del self._fragments[gone]

        was_read = set(read)
        neighbours = _neighbours(site.tasks)
        keys = {t: _neighbour_key(*neighbours[t]) for t in site.tasks}
        for task in site.tasks:
            if full or task in was_read or self._neighbours.get(task.src_uri) != keys[task]:
                pages[task.url] = self.render_task(task, *neighbours[task], site=site)
        self._neighbours = {t.src_uri: keys[t] for t in site.tasks}
        for doc in site.docs:
            if full or nav_changed or doc in was_read or self._backlinks_changed(doc):
                pages[doc.url] = self.render_doc(site, doc)
        pages.update(self.render_indexes(site))
        if full:
            pages.update(self.static_files())
        return pages

    def expected_urls(self, site: Site | None) -> set[str]:
        """Every URL the current site consists of (static files excluded)."""
        if site is None:
            return set()
        urls = {p.url for p in [*site.tasks, *site.docs]}
        urls.update(self._index_urls())
        return urls | set(self._static_urls())

    def _index_urls(self) -> list[str]:
        return [INDEX_URL, LIST_URL, BOARD_URL, DOCS_URL, PROBLEMS_URL, TASKS_JSON_URL,
                BUILD_JS_URL]

    # -- single pages -------------------------------------------------------------

    def _page(self, template: str, url: str, site: Site, **context: Any) -> str:
        tpl = self.env.get_template(template)
        return tpl.render(site=site, page_url=url, root=root_prefix(url), **context)

    def render_task(self, task: Task, prev_task: Task | None, next_task: Task | None,
                    site: Site) -> str:
        return self._page("task.html", task.url, site, task=task, body=Markup(task.html),
                          prev_task=prev_task, next_task=next_task, title=task.title)

    def render_doc(self, site: Site, doc: Doc) -> str:
        self._backlinks[doc.src_uri] = _backlink_key(doc)
        nav = self._doc_nav[1] if self._doc_nav else ""
        root = root_prefix(doc.url)
        return self._page("doc.html", doc.url, site, doc=doc, body=Markup(doc.html),
                          doc_nav=Markup(nav.replace("@ROOT@", root)), title=doc.title)

    def render_indexes(self, site: Site) -> dict[str, str]:
        rows = Markup("".join(self._fragments[t.src_uri].row for t in site.tasks))
        cards: dict[str, list[str]] = {s: [] for s in site.counts}
        for task in site.tasks:
            cards[task.status or UNKNOWN].append(self._fragments[task.src_uri].card)
        columns = {s: Markup("".join(c)) for s, c in cards.items()}
        return {
            INDEX_URL: self._page("dashboard.html", INDEX_URL, site, title=""),
            LIST_URL: self._page("list.html", LIST_URL, site, rows=rows,
                                 title=self.strings["tasks"]),
            BOARD_URL: self._page("board.html", BOARD_URL, site, columns=columns,
                                  title=self.strings["board"]),
            DOCS_URL: self._page("docs_index.html", DOCS_URL, site,
                                 title=self.strings["docs"]),
            PROBLEMS_URL: self._page("problems.html", PROBLEMS_URL, site,
                                     title=self.strings["problems"]),
            TASKS_JSON_URL: tasks_json(site),
            BUILD_JS_URL: build_js(site),
        }

    # -- shared fragments -----------------------------------------------------------

    def _task_fragments(self, task: Task) -> Fragments:
        row = self.env.get_template("_row.html").render(task=task, root=root_prefix(LIST_URL))
        card = self.env.get_template("_card.html").render(task=task,
                                                          root=root_prefix(BOARD_URL))
        return Fragments(row, card)

    def _refresh_doc_nav(self, site: Site) -> bool:
        """Render the docs navigation once; True when it differs from the last one."""
        key = tuple((d.url, d.title) for d in site.docs)
        if self._doc_nav and self._doc_nav[0] == key:
            return False
        html = self.env.get_template("_doc_nav.html").render(docs=site.docs, root="@ROOT@")
        self._doc_nav = (key, html)
        return True

    def _backlinks_changed(self, doc: Doc) -> bool:
        return self._backlinks.get(doc.src_uri) != _backlink_key(doc)

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
        dark = HtmlFormatter(style="monokai").get_style_defs(".dark .highlight")
        files["assets/pygments.css"] = (light + "\n" + dark + "\n").encode("utf-8")
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
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def build_js(site: Site) -> str:
    """A tiny script every page loads: when the site was built (no page rewrite needed)."""
    info = {"builtAt": site.built_at.isoformat(), "tasks": len(site.tasks),
            "problems": len(site.problems)}
    payload = json.dumps(info).replace("<", "\\u003c")
    return f"window.TASKMON_BUILD = {payload};\n"
