"""The build pipeline: discover → read → index → render → write.

:class:`SiteBuilder` keeps what it read, so :meth:`SiteBuilder.rebuild` can
re-read only the changed files and re-render only the pages that depend on
them (the preview server uses this on every save).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import os
import re
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import jinja2

from taskmon_site.cache import PageCache, content_hash, reading_key
from taskmon_site.config import Config
from taskmon_site.model import Doc, Page, Task
from taskmon_site.reading import Reader
from taskmon_site.render import Renderer
from taskmon_site.logs import REPEAT_LIMIT
from taskmon_site.search import SEARCH_DIR, build_search_index
from taskmon_site.site import Site, index_site
from taskmon_site.source import Problem
from taskmon_site.urls import doc_url, task_url

log = logging.getLogger(__name__)

MANIFEST = ".taskmon-manifest.json"
#: Below this many files to read, worker processes cost more than they save.
PARALLEL_THRESHOLD = 200


class BuildError(Exception):
    """A build that could not finish (a broken theme template); nothing was written."""


def template_error_message(exc: jinja2.TemplateError) -> str:
    """The error with the template file and line it happened in."""
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    if filename is None:
        for frame, line in traceback.walk_tb(exc.__traceback__):
            name = frame.f_code.co_filename
            if name.endswith((".html", ".htm", ".xml", ".js", ".txt")):
                filename, lineno = name, line
    where = f"{filename}:{lineno}: " if filename else ""
    return f"template error: {where}{exc.message or exc}"


@dataclass
class BuildReport:
    """What one build or rebuild did."""

    pages_written: int = 0
    pages_rendered: int = 0
    tasks: int = 0
    docs: int = 0
    problems: int = 0
    seconds: float = 0.0
    changed: list[str] = field(default_factory=list)
    full: bool = True

    def summary(self) -> str:
        kind = "Built" if self.full else "Rebuilt"
        return (f"{kind} {self.pages_rendered} pages ({self.pages_written} written): "
                f"{self.tasks} tasks, {self.docs} docs, {self.problems} problems "
                f"in {self.seconds:.2f} s")


def build_time() -> datetime:
    """Now, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc)


class SiteBuilder:
    """Builds one site and remembers it for incremental rebuilds."""

    def __init__(self, config: Config, output_dir: Path | None = None,
                 reload_config: Callable[[], Config] | None = None) -> None:
        self.config = config
        self.output_dir = (output_dir or config.output_dir).resolve()
        self.reload_config = reload_config
        self.tasks: dict[str, Task] = {}
        self.docs: dict[str, Doc] = {}
        self.site: Site | None = None
        self._written: dict[str, str] = {}
        self._taken: set[str] = set()
        self._setup()

    def _setup(self) -> None:
        self.urls: dict[str, str] = {}
        self.reader = Reader(self.config, self.urls)
        self.renderer = Renderer(self.config)
        folder = self.config.cache_dir
        self.cache = PageCache(folder, reading_key(self.config))

    # -- the pipeline -------------------------------------------------------

    def build(self) -> BuildReport:
        """Read every source file and write the whole site."""
        started = time.perf_counter()
        log.info("Building site from %s", self.config.source_dir)

        # Discover: every task and doc, with its page URL, before reading any.
        self.tasks, self.docs = self._discover()
        log.debug("Found %d tasks and %d docs", len(self.tasks), len(self.docs))

        # Read: front matter, sections, work logs; Markdown rendered to HTML.
        self._read_all(list(self._pages()))

        # Index, render and write.
        report = self._finish(list(self._pages()), started, full=True)
        log.info(report.summary())
        return report

    def rebuild(self, changed: Iterable[Path]) -> BuildReport:
        """Re-read the changed files and re-render the pages that depend on them."""
        started = time.perf_counter()
        changed = {Path(p).resolve() for p in changed}
        if self._needs_full_build(changed):
            if self.config.config_file in changed and self.reload_config:
                self.config = self.reload_config()
            # A new renderer: the theme (and so every page's key) may have changed.
            self._setup()
            report = self.build()
            report.changed = sorted(str(p) for p in changed)
            return report

        before = set(self.tasks) | set(self.docs)
        if not self._discover_changes(changed):
            self.tasks, self.docs = self._discover(keep=True)
        after = set(self.tasks) | set(self.docs)
        to_read = ({self._src_uri(p) for p in changed} & after) | (after - before)
        for src_uri in (after - before) | (before - after):
            to_read |= self._mentioning(src_uri)
        self._read_all([self._page(u) for u in sorted(to_read)], use_cache=False)

        report = self._finish([self._page(u) for u in to_read], started, full=False)
        report.changed = sorted(self._src_uri(p) for p in changed)
        return report

    def _finish(self, read: list[Page], started: float, full: bool) -> BuildReport:
        # Index: counts, role × status matrix, backlinks, duplicates, problems.
        self.site = index_site(self.config, self.tasks, self.docs, build_time())

        # Render: the pages whose inputs changed since they were last written.
        if not self.renderer.page_keys:
            self.renderer.page_keys = self._read_manifest()
        try:
            pages = self.renderer.render_site(self.site, full, self._exists)
        except jinja2.TemplateError as exc:
            raise BuildError(template_error_message(exc)) from exc

        # Write: only what changed on disk; remove pages whose source is gone.
        written = self._write(pages)
        self._log_problems()

        # Search: index the written pages when any task or doc page changed.
        if full and self.config.search and self._search_outdated(written):
            build_search_index(self.site, self.output_dir)
        return BuildReport(len(written), len(pages), len(self.tasks), len(self.docs),
                           len(self.site.problems), time.perf_counter() - started, [], full)

    def _search_outdated(self, written: list[str]) -> bool:
        pages = {p.url for p in self._pages()}
        return any(url in pages for url in written) or not (
            self.output_dir / SEARCH_DIR).is_dir()

    # -- reading without building (for the task commands) ----------------------

    def discover(self) -> dict[str, Task]:
        """Find every task and doc (unread shells); returns the tasks by src_uri."""
        self.tasks, self.docs = self._discover()
        return self.tasks

    def read_pages(self, pages: list[Page]) -> list[Page]:
        """Read *pages* (found by :meth:`discover`), from the cache where valid."""
        self._read_all(pages)
        return [self._page(p.src_uri) for p in pages]

    # -- discovery ------------------------------------------------------------

    def _discover(self, keep: bool = False) -> tuple[dict[str, Task], dict[str, Doc]]:
        source = self.config.source_dir
        task_uris = self._glob(self.config.tasks)
        doc_uris = self._glob(self.config.docs) - task_uris
        self._taken = taken = set()
        tasks, docs = {}, {}
        for src_uri in sorted(task_uris):
            old = self.tasks.get(src_uri) if keep else None
            url = task_url(src_uri, taken)
            tasks[src_uri] = old if old and old.url == url else Task(
                src_uri, source / src_uri, url)
        for src_uri in sorted(doc_uris):
            old = self.docs.get(src_uri) if keep else None
            url = doc_url(src_uri, taken)
            docs[src_uri] = old if old and old.url == url else Doc(src_uri, source / src_uri, url)
        return tasks, docs

    def _discover_changes(self, changed: set[Path]) -> bool:
        """Add and drop single changed files without scanning the tree.

        False when that is not enough (a folder changed) and the caller must
        discover everything again.
        """
        known = set(self.tasks) | set(self.docs)
        for path in changed:
            src_uri = self._src_uri(path)
            if path.is_dir() or any(u.startswith(src_uri + "/") for u in known):
                return False
            kind = self._kind(path) if path.is_file() else None
            if kind is None:
                self._forget(src_uri)
            elif src_uri not in known:
                self._add(src_uri, kind)
        return True

    def _kind(self, path: Path) -> str | None:
        """"task", "doc" or None: what the globs make of a file."""
        try:
            rel = path.relative_to(self.config.source_dir)
        except ValueError:
            return None
        if self._excluded(path, rel):
            return None
        if any(glob_match(rel.as_posix(), p) for p in self.config.tasks):
            return "task"
        if any(glob_match(rel.as_posix(), p) for p in self.config.docs):
            return "doc"
        return None

    def _add(self, src_uri: str, kind: str) -> None:
        path = self.config.source_dir / src_uri
        if kind == "task":
            self.tasks[src_uri] = Task(src_uri, path, task_url(src_uri, self._taken))
        else:
            self.docs[src_uri] = Doc(src_uri, path, doc_url(src_uri, self._taken))

    def _forget(self, src_uri: str) -> None:
        page = self.tasks.pop(src_uri, None) or self.docs.pop(src_uri, None)
        if page is not None:
            self._taken.discard(page.url.casefold())

    def _glob(self, patterns: list[str]) -> set[str]:
        source = self.config.source_dir
        found = set()
        for pattern in patterns:
            for path in source.glob(pattern):
                rel = path.relative_to(source)
                if path.is_file() and not self._excluded(path, rel):
                    found.add(rel.as_posix())
        return found

    def _excluded(self, path: Path, rel: Path) -> bool:
        if any(part.startswith(".") for part in rel.parts):
            return True
        return self.output_dir == path or self.output_dir in path.parents

    # -- reading ----------------------------------------------------------------

    def _read_all(self, pages: list[Page], use_cache: bool = True) -> None:
        """Read *pages*: from the cache when still valid, else in worker processes."""
        self.urls.clear()
        self.urls.update({u: p.url for u, p in [*self.tasks.items(), *self.docs.items()]})
        todo: list[tuple[Page, str]] = []
        for page in pages:
            digest = _file_hash(page.abs_src_path)
            cached = self.cache.get(page.src_uri, digest, self.urls) if use_cache else None
            if cached is not None:
                cached.digest = digest
                self._replace(cached)
            else:
                todo.append((page, digest))
        if use_cache and pages:
            log.debug("Cache: %d hits, %d to read", len(pages) - len(todo), len(todo))

        if len(todo) >= PARALLEL_THRESHOLD and _cpus() > 1:
            done = read_in_workers(self.config, self.urls, [p for p, _ in todo])
        else:
            done = [self.reader.read(page) for page, _ in todo]
        for page, (_, digest) in zip(done, todo):
            page.digest = digest
            self._replace(page)
            self.cache.put(page, digest, page.lookups)

    def _replace(self, page: Page) -> None:
        """Put a page read elsewhere (cache, worker) in place of its shell."""
        pages = self.tasks if isinstance(page, Task) else self.docs
        shell = pages[page.src_uri]
        page.abs_src_path, page.url = shell.abs_src_path, shell.url
        pages[page.src_uri] = page

    def _mentioning(self, src_uri: str) -> set[str]:
        """Pages whose text names the file *src_uri* (their links may now resolve)."""
        name = src_uri.rsplit("/", 1)[-1].casefold()
        return {p.src_uri for p in self._pages() if name in p.mentions}

    # -- writing ----------------------------------------------------------------

    def _exists(self, url: str) -> bool:
        return (self.output_dir / url).is_file()

    def _write(self, pages: dict[str, str | bytes]) -> list[str]:
        """Write what differs from the output folder; returns the URLs written."""
        out = self.output_dir
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for url, content in pages.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            target = out / url
            if self._written.get(url) == digest and target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (target.exists() and target.read_bytes() == data):
                _write_atomically(target, data)
                written.append(url)
            self._written[url] = digest
        self._remove_stale()
        return written

    def _read_manifest(self) -> dict[str, str]:
        """url → render key of every page this tool wrote into the output folder."""
        try:
            data = json.loads((self.output_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if isinstance(data, list):
            return {url: "" for url in data if isinstance(url, str)}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def _remove_stale(self) -> None:
        """Delete pages this tool wrote earlier whose source is gone; nothing else."""
        previous = self._read_manifest()
        expected = self.renderer.expected_urls(self.site)
        for url in sorted(set(previous) - expected):
            path = self.output_dir / url
            if path.is_file():
                path.unlink()
                log.debug("Removed %s", url)
            self._written.pop(url, None)
        keys = self.renderer.page_keys
        manifest = {url: keys.get(url, "") for url in sorted(expected)}
        self.renderer.page_keys = {u: k for u, k in keys.items() if u in expected}
        (self.output_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False),
                                                encoding="utf-8")

    # -- helpers ------------------------------------------------------------------

    def _pages(self) -> Iterable[Page]:
        yield from self.tasks.values()
        yield from self.docs.values()

    def _page(self, src_uri: str) -> Page:
        return self.tasks.get(src_uri) or self.docs[src_uri]

    def _src_uri(self, path: Path) -> str:
        try:
            return path.relative_to(self.config.source_dir).as_posix()
        except ValueError:
            return str(path)

    def _needs_full_build(self, changed: set[Path]) -> bool:
        if self.site is None:
            return True
        if self.config.config_file and self.config.config_file.resolve() in changed:
            return True
        themes = [d.resolve() for d in self.config.theme_dirs]
        return any(t == p or t in p.parents for p in changed for t in themes)

    def _log_problems(self) -> None:
        """One warning per problem; the same message in many files is cut short."""
        by_message: dict[str, list[Problem]] = {}
        for problem in self.site.problems if self.site else []:
            by_message.setdefault(problem.message, []).append(problem)
        for message, problems in by_message.items():
            for problem in problems[:REPEAT_LIMIT]:
                log.warning("%s", problem)
            if len(problems) > REPEAT_LIMIT:
                log.warning("%d more files: %s", len(problems) - REPEAT_LIMIT, message)

    # -- for the preview server -------------------------------------------------------

    def watch_dirs(self) -> list[Path]:
        """Folders whose changes can change the site."""
        source = self.config.source_dir
        dirs = {source / _static_prefix(p) for p in self.config.tasks + self.config.docs}
        if self.config.config_file:
            dirs.add(self.config.config_file.resolve().parent)
        dirs.update(d for d in self.config.theme_dirs)
        return sorted(d for d in dirs if d.is_dir())

    def is_relevant(self, path: Path) -> bool:
        """Does a change to *path* matter to the site?"""
        path = Path(path).resolve()
        if self.config.config_file and path == self.config.config_file.resolve():
            return True
        if any(t.resolve() in path.parents for t in self.config.theme_dirs):
            return True
        try:
            rel = path.relative_to(self.config.source_dir)
        except ValueError:
            return False
        if self._excluded(path, rel) or path.suffix.lower() != ".md":
            return False
        rel_text = rel.as_posix()
        if rel_text in self.tasks or rel_text in self.docs:
            return True
        return any(glob_match(rel_text, p) for p in self.config.tasks + self.config.docs)


def _write_atomically(target: Path, data: bytes) -> None:
    """Replace *target* in one step, so a server never sends a half-written page."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _file_hash(path: Path) -> str:
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return ""


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


# Worker processes: each builds its own Reader once, from the site's URL map.
_worker_reader: Reader | None = None


def _init_worker(config: Config, urls: dict[str, str]) -> None:
    global _worker_reader
    _worker_reader = Reader(config, urls)


def _read_batch(pages: list[Page]) -> list[Page]:
    assert _worker_reader is not None
    return [_worker_reader.read(page) for page in pages]


def read_in_workers(config: Config, urls: dict[str, str], pages: list[Page]) -> list[Page]:
    """Read pages in one worker process per CPU; results come back in order."""
    workers = _cpus()
    size = max(8, min(64, len(pages) // (workers * 4) or 1))
    batches = [pages[i:i + size] for i in range(0, len(pages), size)]
    # forkserver: the preview server has threads running, which fork must not copy.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, context, _init_worker, (config, urls)) as pool:
        return [page for batch in pool.map(_read_batch, batches) for page in batch]


def _static_prefix(pattern: str) -> str:
    """The folder part of a glob before its first wildcard."""
    parts = []
    for part in pattern.split("/"):
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return "/".join(parts)


@functools.lru_cache(maxsize=64)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """The regex of a '/'-separated glob where '**/' spans any number of folders."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1:]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1:end].replace("\\", "\\\\").replace("[", "\\[")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(rel: str, pattern: str) -> bool:
    """Does the relative path *rel* match *pattern* the way Path.glob selects it?"""
    return _glob_regex(pattern).match(rel) is not None
