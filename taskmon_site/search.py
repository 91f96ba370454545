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
from taskmon_site.urls import files_at

log = logging.getLogger(__name__)

SEARCH_DIR = "pagefind"
#: Pages per bundle: Pagefind needs about 200 KB of memory per page it indexes.
SHARD_PAGES = 500
#: Describes the bundles in SEARCH_DIR: their number and language, and which pages
#: the delta bundle holds (the search box prefers its copy of them) or are gone.
BUNDLES_FILE = "bundles.json"
#: The bundle of pages changed since their own bundle was indexed.
DELTA = "delta"
#: Changed pages the delta bundle takes before their bundles are indexed again.
DELTA_PAGES = 100
#: Pagefind processes at a time (each holds its bundle's index in memory).
PAGEFIND_PROCESSES = 1
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

    With *changed* (URLs of pages written or removed since the last indexing),
    those pages go to the small delta bundle instead of their bundles, and the
    search box prefers the delta's copy; once the delta holds more than
    :data:`DELTA_PAGES`, their bundles are indexed again and the delta is
    emptied. Without *changed*, or when the bundles are of another number or
    language, every bundle is indexed. Each new bundle is written beside the
    old one and swapped in, so a site being served keeps a working index while
    it is rebuilt. A missing or failing Pagefind is a warning: the site works
    without search.
    """
    binary = pagefind_binary()
    if binary is None:
        log.warning("Search index not built: pagefind is not installed "
                    "(pip install 'pagefind[extended]')")
        return None
    started = time.perf_counter()
    language = index_language(site)
    pages = [p.url for p in [*site.tasks, *site.docs]]
    written = files_at(output_dir, pages)
    urls = [url for url in pages if url in written]
    count = shard_count(len(urls))
    shards: list[list[str]] = [[] for _ in range(count)]
    for url in urls:
        shards[shard_of(url, count)].append(url)

    root = output_dir / SEARCH_DIR
    layout = {"bundles": count, "language": language, "shard_pages": SHARD_PAGES}
    known = _bundles(root) or {}
    if {key: known.get(key) for key in layout} != layout:
        shutil.rmtree(root, ignore_errors=True)  # bundles of another layout: none is kept
        changed = None
    plan = _plan(shards, set(urls), known, changed, root)
    jobs = {str(n): (shards[n], "") for n in sorted(plan.bundles)}
    again = set(changed or ()) & set(plan.delta)  # a page in the delta changed again
    if plan.delta and (plan.delta != known.get("delta") or again):
        jobs[DELTA] = (plan.delta, DELTA + "/")
    if not jobs and (plan.delta, plan.removed) == (known.get("delta", []),
                                                   known.get("removed", [])):
        return SearchReport(0, language, time.perf_counter() - started, 0, count)

    ok = _index_shards(binary, output_dir, jobs, language)
    for extra in root.glob("[0-9]*"):
        if extra.is_dir() and extra.name.isdigit() and int(extra.name) >= count:
            shutil.rmtree(extra, ignore_errors=True)
    if not ok:
        return None
    if not plan.delta:
        shutil.rmtree(root / DELTA, ignore_errors=True)
    state = {**layout, "delta": plan.delta, "removed": plan.removed}
    (root / BUNDLES_FILE).write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    pages = sum(len(urls) for urls, _ in jobs.values())
    report = SearchReport(pages, language, time.perf_counter() - started, len(plan.bundles),
                          count)
    where = (f", {len(plan.bundles)} of {count} bundles" if count > 1 else "") + (
        f", {len(plan.delta)} in the delta" if plan.delta else "")
    log.info("Indexed %d pages for search (%s) in %.2f s%s", report.pages, language,
             report.seconds, where)
    return report


@dataclass
class _Plan:
    #: Bundles to index again.
    bundles: set[int]
    #: URLs in the delta bundle, and URLs removed since their bundle was indexed.
    delta: list[str]
    removed: list[str]


def _plan(shards: list[list[str]], present: set[str], known: dict,
          changed: Iterable[str] | None, root: Path) -> _Plan:
    """What to index: bundles, and what the delta bundle holds."""
    count = len(shards)
    if changed is None:
        return _Plan(set(range(count)), [], [])
    missing = {n for n in range(count) if not (root / str(n)).is_dir()}
    touched = {*known.get("delta", []), *known.get("removed", []), *changed}
    if len(touched) > DELTA_PAGES:
        return _Plan(missing | {shard_of(u, count) for u in touched}, [], [])
    fresh = {u for n in missing for u in shards[n]}
    delta = sorted(u for u in touched if u in present and u not in fresh)
    removed = sorted(u for u in touched if u not in present and shard_of(u, count) not in missing)
    return _Plan(missing, delta, removed)


def _bundles(root: Path) -> dict | None:
    try:
        return json.loads((root / BUNDLES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _index_shards(binary: Path, output_dir: Path, bundles: dict[str, tuple[list[str], str]],
                  language: str) -> bool:
    """Run Pagefind on each bundle (name → its URLs and a path prefix for them), one
    after the other: two at a time were a third faster but took the build past
    500 MB at 10,000 pages."""
    root = output_dir / SEARCH_DIR
    root.mkdir(parents=True, exist_ok=True)
    waiting = list(bundles.items())
    running: list[tuple[str, subprocess.Popen, Path]] = []
    ok = True
    try:
        while waiting or running:
            while waiting and len(running) < PAGEFIND_PROCESSES:
                name, (urls, prefix) = waiting.pop(0)
                try:
                    running.append(_start(binary, output_dir, name, urls, prefix, language))
                except SearchFailure:
                    return False
            name, process, pages = running.pop(0)
            ok = _finish(name, process, pages, root) and ok
    finally:
        for _, process, pages in running:
            process.kill()
            shutil.rmtree(pages, ignore_errors=True)
    return ok


def _start(binary: Path, output_dir: Path, name: str, urls: list[str], prefix: str,
           language: str) -> tuple[str, subprocess.Popen, Path]:
    """Start Pagefind on a folder of links to the bundle's pages, at their URLs behind
    *prefix* (the delta's pages are found under ``delta/``)."""
    pages = output_dir / f".pagefind-pages-{name}"
    shutil.rmtree(pages, ignore_errors=True)
    for url in urls:
        target = pages / (prefix + url)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(output_dir / url, target)
        except OSError:
            shutil.copyfile(output_dir / url, target)
    fresh = output_dir / SEARCH_DIR / f".{name}.new"
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
    return name, process, pages


class SearchFailure(Exception):
    """Pagefind could not be started."""


def _finish(name: str, process: subprocess.Popen, pages: Path, root: Path) -> bool:
    fresh = root / f".{name}.new"
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
    _swap(fresh, root / name)
    return True


def _swap(fresh: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)

