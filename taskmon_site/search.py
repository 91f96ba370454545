"""Full-text search: Pagefind indexes of the written task and doc pages.

Pagefind (its extended build, which segments Chinese) reads the written pages
and puts a static index in ``pagefind/``; the theme's search box loads it in
the browser. Browsers do not load that index from file://, so the box says so
there and offers matches in titles instead.

Pagefind holds a whole index in memory and cannot update one, so the pages
are split by URL hash into bundles of at most :data:`SHARD_PAGES` pages
(``pagefind/0/``, ``pagefind/1/``, …) that the browser merges: a large site
is indexed with bounded memory, and after an edit only the bundles holding a
changed page are indexed again.

A site whose tasks or docs contain Chinese is indexed as Chinese whatever the
UI language: Pagefind's Chinese segmentation also indexes Latin words, while
its English index would keep a run of Chinese characters as one word.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from taskmon_site.site import Site
from taskmon_site.workers import cpus

log = logging.getLogger(__name__)

SEARCH_DIR = "pagefind"
#: Pages per bundle: Pagefind needs about 200 KB of memory per page it indexes.
SHARD_PAGES = 500
#: Describes the bundles in SEARCH_DIR: their number and language.
BUNDLES_FILE = "bundles.json"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PAGES = re.compile(r"Indexed (\d+) pages?")


@dataclass
class SearchReport:
    """What one indexing run did."""

    #: Pages in the bundles indexed this time.
    pages: int
    language: str
    seconds: float
    #: Bundles indexed this time, out of ``bundles``.
    indexed: int = 1
    bundles: int = 1


def index_language(site: Site) -> str:
    """The language to index *site* in: "zh" when any task or doc has Chinese text."""
    if site.config.lang == "zh":
        return "zh"
    for page in [*site.tasks, *site.docs]:
        if _CJK.search(page.title) or _CJK.search(page.text):
            return "zh"
    return "en"


def shard_count(pages: int) -> int:
    """How many bundles a site of *pages* task and doc pages is indexed in."""
    return max(1, -(-pages // SHARD_PAGES))


def shard_of(url: str, count: int) -> int:
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


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


def build_search_index(site: Site, output_dir: Path,
                       changed: Iterable[str] | None = None) -> SearchReport | None:
    """Index the task and doc pages written to *output_dir*; None when that failed.

    Only the bundles holding a *changed* URL (a page written or removed) are
    indexed again, unless *changed* is None or the bundles are of another
    number or language. Each new bundle is written beside the old one and
    swapped in, so a site being served keeps a working index while it is
    rebuilt. A missing or failing Pagefind is a warning: the site works
    without search.
    """
    binary = pagefind_binary()
    if binary is None:
        log.warning("Search index not built: pagefind is not installed "
                    "(pip install 'pagefind[extended]')")
        return None
    started = time.perf_counter()
    language = index_language(site)
    urls = [p.url for p in [*site.tasks, *site.docs] if (output_dir / p.url).is_file()]
    count = shard_count(len(urls))
    shards: list[list[str]] = [[] for _ in range(count)]
    for url in urls:
        shards[shard_of(url, count)].append(url)

    root = output_dir / SEARCH_DIR
    wanted = {"bundles": count, "language": language, "shard_pages": SHARD_PAGES}
    if _bundles(root) != wanted:
        shutil.rmtree(root, ignore_errors=True)  # bundles of another layout: none is kept
        dirty = set(range(count))
    elif changed is None:
        dirty = set(range(count))
    else:
        dirty = {shard_of(url, count) for url in changed}
        dirty |= {n for n in range(count) if not (root / str(n)).is_dir()}
    if not dirty:
        return SearchReport(0, language, time.perf_counter() - started, 0, count)

    ok = _index_shards(binary, output_dir, {n: shards[n] for n in sorted(dirty)}, language)
    for extra in root.glob("[0-9]*"):
        if extra.is_dir() and extra.name.isdigit() and int(extra.name) >= count:
            shutil.rmtree(extra, ignore_errors=True)
    if not ok:
        return None
    (root / BUNDLES_FILE).write_text(json.dumps(wanted), encoding="utf-8")
    pages = sum(len(shards[n]) for n in dirty)
    report = SearchReport(pages, language, time.perf_counter() - started, len(dirty), count)
    log.info("Indexed %d pages for search (%s) in %.2f s%s", report.pages, language,
             report.seconds, f", {len(dirty)} of {count} bundles" if count > 1 else "")
    return report


def _bundles(root: Path) -> dict | None:
    try:
        return json.loads((root / BUNDLES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _index_shards(binary: Path, output_dir: Path, shards: dict[int, list[str]],
                  language: str) -> bool:
    """Run Pagefind on each shard, as many at a time as there are CPUs."""
    root = output_dir / SEARCH_DIR
    root.mkdir(parents=True, exist_ok=True)
    waiting = list(shards.items())
    running: list[tuple[int, subprocess.Popen, Path]] = []
    ok = True
    try:
        while waiting or running:
            while waiting and len(running) < cpus():
                n, urls = waiting.pop(0)
                try:
                    running.append(_start(binary, output_dir, n, urls, language))
                except SearchFailure:
                    return False
            n, process, pages = running.pop(0)
            ok = _finish(n, process, pages, root) and ok
    finally:
        for _, process, pages in running:
            process.kill()
            shutil.rmtree(pages, ignore_errors=True)
    return ok


def _start(binary: Path, output_dir: Path, n: int, urls: list[str],
           language: str) -> tuple[int, subprocess.Popen, Path]:
    """Start Pagefind on a folder of links to the shard's pages (same relative URLs)."""
    pages = output_dir / f".pagefind-pages-{n}"
    shutil.rmtree(pages, ignore_errors=True)
    for url in urls:
        target = pages / url
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(output_dir / url, target)
        except OSError:
            shutil.copyfile(output_dir / url, target)
    fresh = output_dir / SEARCH_DIR / f".{n}.new"
    shutil.rmtree(fresh, ignore_errors=True)
    command = [str(binary), "--site", str(pages), "--output-path", str(fresh),
               "--force-language", language, "--keep-index-url",
               "--exclude-selectors", ".header-anchor"]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
    except OSError as exc:
        log.warning("Search index not built: %s", exc)
        shutil.rmtree(pages, ignore_errors=True)
        raise SearchFailure from exc
    return n, process, pages


class SearchFailure(Exception):
    """Pagefind could not be started."""


def _finish(n: int, process: subprocess.Popen, pages: Path, root: Path) -> bool:
    fresh = root / f".{n}.new"
    try:
        stdout, stderr = process.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    shutil.rmtree(pages, ignore_errors=True)
    if process.returncode != 0 or not fresh.is_dir():
        detail = (stderr or stdout).strip().splitlines()
        log.warning("Search index not built: pagefind exited with %d%s", process.returncode,
                    f": {detail[-1]}" if detail else "")
        shutil.rmtree(fresh, ignore_errors=True)
        return False
    _swap(fresh, root / str(n))
    return True


def _swap(fresh: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)

