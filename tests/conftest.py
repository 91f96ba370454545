"""Shared fixtures: throwaway source trees and a real headless Chromium."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: The real ai-ppdb task repository (MIT, see its LICENSE), copied from ../shared/corpus.
CORPUS = REPO / "tests" / "fixtures" / "corpus" / "ai-ppdb"
CHROMIUM = os.environ.get("TASKMON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory):
    """Builds in tests cache under a temporary folder, never the user's ~/.cache."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(autouse=True)
def _reset_logging():
    """Each test starts and ends without the CLI's log handler (it holds a captured stream)."""
    yield
    logger = logging.getLogger("taskmon_site")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write {relative path: text or bytes} under *root* and return *root*."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_tree(tmp_path: Path):
    """Build a source tree from a dict; returns its root."""

    def make(files: dict[str, str | bytes], name: str = "src") -> Path:
        return write_tree(tmp_path / name, files)

    return make


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the real ai-ppdb corpus, for tests that change it."""
    return Path(shutil.copytree(CORPUS, tmp_path / "ai-ppdb"))


@pytest.fixture(scope="module")
def browser():
    """A headless Debian Chromium driven by Playwright, shared by one test module.

    Per module, not per session: Playwright's sync API keeps an event loop on
    the main thread while it runs, which would break later ``asyncio.run`` calls.
    Browser tests must run in CI, so a missing Chromium is a failure, not a skip.
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/install-browser")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page; console errors are collected in ``page.errors``."""
    context = browser.new_context()
    pg = context.new_page()
    pg.errors = []
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    yield pg
    context.close()


@pytest.fixture
def build_site(tmp_path: Path):
    """Build a source tree given as a dict; returns the SiteBuilder (``.site``, ``.output_dir``)."""
    from taskmon_site.build import SiteBuilder
    from taskmon_site.config import load_config

    def build(files: dict[str, str | bytes], overrides: dict | None = None, environ=None):
        root = write_tree(tmp_path / "src", files)
        # No search index unless a test asks: Pagefind adds a process per build.
        flags = {"output": str(tmp_path / "out"), "search": "false", **(overrides or {})}
        config = load_config(root, None, flags, environ=environ or {})
        builder = SiteBuilder(config)
        builder.report = builder.build()
        return builder

    return build


def task_by_id(builder, task_id: str):
    """The full task (every field, as its page shows it) of *task_id*."""
    slim = next(t for t in builder.site.tasks if t.id == task_id)
    return builder.full_page(slim.src_uri)


def full_tasks(builder) -> list:
    """Every task of the site in list order, full."""
    return [builder.full_page(t.src_uri) for t in builder.site.tasks]
