"""Full-text search: a Pagefind index of the written task and doc pages.

Pagefind (its extended build, which segments Chinese) runs after the pages are
written and puts a static index in ``pagefind/``; the theme's search box loads
it in the browser. Browsers do not load that index from file://, so the box
says so there and offers matches in titles instead.

A site whose tasks or docs contain Chinese is indexed as Chinese whatever the
UI language: Pagefind's Chinese segmentation also indexes Latin words, while
its English index would keep a run of Chinese characters as one word.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from taskmon_site.site import Site

log = logging.getLogger(__name__)

SEARCH_DIR = "pagefind"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PAGES = re.compile(r"Indexed (\d+) pages?")


@dataclass
class SearchReport:
    """What one indexing run did."""

    pages: int
    language: str
    seconds: float


def index_language(site: Site) -> str:
    """The language to index *site* in: "zh" when any task or doc has Chinese text."""
    if site.config.lang == "zh":
        return "zh"
    for page in [*site.tasks, *site.docs]:
        if _CJK.search(page.title) or _CJK.search(page.text):
            return "zh"
    return "en"


def pagefind_binary() -> Path | None:
    """The Pagefind executable shipped by the pagefind-bin-extended wheel, if installed."""
    try:
        import pagefind_bin_extended
    except ImportError:
        return None
    try:
        return pagefind_bin_extended.get_executable()
    except FileNotFoundError:
        return None


def build_search_index(site: Site, output_dir: Path) -> SearchReport | None:
    """Index the task and doc pages written to *output_dir*; None when that failed.

    The new index is written beside the old one and swapped in, so a site being
    served keeps a working index while it is rebuilt. A missing or failing
    Pagefind is a warning: the site works without search.
    """
    binary = pagefind_binary()
    if binary is None:
        log.warning("Search index not built: pagefind is not installed "
                    "(pip install 'pagefind[extended]')")
        return None
    started = time.perf_counter()
    language = index_language(site)
    target = output_dir / SEARCH_DIR
    fresh = output_dir / f".{SEARCH_DIR}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    command = [str(binary), "--site", str(output_dir), "--output-path", str(fresh),
               "--force-language", language, "--keep-index-url",
               "--exclude-selectors", ".header-anchor"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("Search index not built: %s", exc)
        shutil.rmtree(fresh, ignore_errors=True)
        return None
    if result.returncode != 0 or not fresh.is_dir():
        detail = (result.stderr or result.stdout).strip().splitlines()
        log.warning("Search index not built: pagefind exited with %d%s", result.returncode,
                    f": {detail[-1]}" if detail else "")
        shutil.rmtree(fresh, ignore_errors=True)
        return None

    _swap(fresh, target)
    found = _PAGES.search(result.stdout)
    pages = int(found.group(1)) if found else len(site.tasks) + len(site.docs)
    report = SearchReport(pages, language, time.perf_counter() - started)
    log.info("Indexed %d pages for search (%s) in %.2f s", report.pages, language,
             report.seconds)
    return report


def _swap(fresh: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
