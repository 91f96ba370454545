"""The project's own documentation (docs/, configured by the root taskmon.toml) builds cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import REPO

DOCS = REPO / "docs"


@dataclass
class Build:
    result: subprocess.CompletedProcess
    out: Path
    #: src_uri → page URL of every doc, from tasks.json.
    pages: dict[str, str]


class Links(HTMLParser):
    """Every href of a page, and the data-url of each link in the docs navigation."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.nav: set[str] = set()
        self._in_nav = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "nav":
            self._in_nav += "doc-nav" in (found.get("class") or "").split()
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"])
            if self._in_nav and found.get("data-url"):
                self.nav.add(found["data-url"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1


def links(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def docs_build(tmp_path_factory) -> Build:
    out = tmp_path_factory.mktemp("own-docs")
    result = subprocess.run(
        [sys.executable, "-m", "taskmon_site", "build", str(REPO), "--strict", "--no-search",
         "-o", str(out)],
        capture_output=True, text=True, cwd=REPO)
    data = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    return Build(result, out, {d["source"]: d["url"] for d in data["docs"]})


def test_the_docs_build_without_warnings(docs_build):
    assert docs_build.result.returncode == 0, docs_build.result.stderr
    assert "WARNING" not in docs_build.result.stderr
    assert "0 tasks, " in docs_build.result.stderr


def test_no_problems_are_reported(docs_build):
    data = json.loads((docs_build.out / "tasks.json").read_text(encoding="utf-8"))
    assert data["problems"] == []
    assert data["tasks"] == []


def test_every_doc_has_a_page(docs_build):
    sources = {p.relative_to(REPO).as_posix() for p in DOCS.rglob("*.md")}
    assert {"docs/index.md", "docs/performance.md"} <= sources
    assert set(docs_build.pages) == sources
    for url in docs_build.pages.values():
        assert (docs_build.out / url).is_file(), url


def test_every_page_is_in_the_navigation_of_every_other(docs_build):
    urls = set(docs_build.pages.values())
    for url in urls:
        assert links(docs_build.out / url).nav == urls, url


def test_no_link_points_at_a_markdown_file(docs_build):
    checked = 0
    for page in docs_build.out.rglob("*.html"):
        for href in links(page).hrefs:
            target = href.split("#", 1)[0].split("?", 1)[0]
            assert not target.lower().endswith(".md"), f"{page.name}: {href}"
            checked += 1
    assert checked > 100
