"""Reading and rendering single pages, in this process or in worker processes.

Reading a page (Markdown, highlighting) and rendering its HTML page are the
costly steps of a build, and each depends only on the page and a few facts
about the site, so they run in one worker process per CPU when there are many.
A worker that reads a page puts the full page in the page cache and sends
back only the slim one; a worker that renders it takes the full page from the
cache again, so full pages never travel to the main process.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import jinja2

from taskmon_site.cache import PageCache, content_hash, reading_key
from taskmon_site.config import Config
from taskmon_site.model import Doc, Page, Task
from taskmon_site.render import Fragments, Renderer, task_json
from taskmon_site.site import is_stale
from taskmon_site.state import Source


class TemplateFailure(Exception):
    """A theme template failed in a worker process (where its traceback stays).

    The message names the template and line; so do ``filename`` and ``lineno``.
    """

    def __init__(self, message: str, filename: str | None = None,
                 lineno: int | None = None) -> None:
        super().__init__(message, filename, lineno)
        self.filename, self.lineno = filename, lineno

    def __str__(self) -> str:
        return str(self.args[0])


def template_location(exc: jinja2.TemplateError) -> tuple[str | None, int | None]:
    """The template file and line *exc* happened in, when known."""
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    if filename is None:
        for frame, line in traceback.walk_tb(exc.__traceback__):
            name = frame.f_code.co_filename
            if name.endswith((".html", ".htm", ".xml", ".js", ".txt")):
                filename, lineno = name, line
    return filename, lineno


def template_error_message(exc: jinja2.TemplateError) -> str:
    """The error with the template file and line it happened in."""
    filename, lineno = template_location(exc)
    where = f"{filename}:{lineno}: " if filename else ""
    return f"template error: {where}{exc.message or exc}"


@dataclass
class Context:
    """What every read and render of one build shares."""

    config: Config
    #: src_uri → page URL of every task and doc (links are resolved with it).
    urls: dict[str, str]
    built_at: datetime
    #: The page cache's folder.
    cache_dir: Path
    output_dir: Path


@dataclass
class Tools:
    """The reader, renderer and page cache of one process."""

    context: Context
    reader: Any
    renderer: Renderer
    cache: PageCache

    @classmethod
    def make(cls, context: Context) -> Tools:
        from taskmon_site.reading import Reader

        config = context.config
        return cls(context, Reader(config, context.urls), Renderer(config),
                   PageCache(context.cache_dir, reading_key(config)))


@dataclass
class RenderJob:
    """One task or doc page to render and write."""

    #: The slim page, as indexed (stale flag, backlinks).
    page: Page
    key: str
    #: Hash of the bytes last written for this page ("" when unknown).
    old_digest: str
    prev_task: Task | None = None
    next_task: Task | None = None
    #: The docs navigation (docs only).
    nav: str = ""
    #: Also render the task's list row, board card and data.js record.
    fragments: bool = False


@dataclass
class RenderResult:
    src_uri: str
    url: str
    key: str
    digest: str
    written: bool
    fragments: Fragments | None = None


# -- one page -------------------------------------------------------------------------


def read_one(tools: Tools, shell: Page) -> Source:
    """Read *shell*'s file (or take it from the cache when its bytes are unchanged);
    the slim page with what the main process keeps of it."""
    context = tools.context
    path = shell.abs_src_path
    try:
        st = os.stat(path)
        digest = content_hash(path.read_bytes())
        mtime_ns, size = st.st_mtime_ns, st.st_size
    except OSError:
        digest, mtime_ns, size = "", 0, -1
    full = tools.cache.get(shell.src_uri, digest, context.urls)
    if full is None:
        full = tools.reader.read(shell)
        full.digest = digest
        tools.cache.put(full, digest, full.lookups)
    full.abs_src_path, full.url = shell.abs_src_path, shell.url
    if not isinstance(full, Task):
        return Source("doc", mtime_ns, size, digest, full.slim())
    full.stale = is_stale(full, context.config, context.built_at)
    return Source("task", mtime_ns, size, digest, full.slim(), task_json(full),
                      tools.renderer.fragments(full))


def full_page(tools: Tools, page: Page) -> Page:
    """The full page of slim *page*: from the cache, else read from its file again."""
    context = tools.context
    path = page.abs_src_path or context.config.source_dir / page.src_uri
    full = tools.cache.get(page.src_uri, page.digest, context.urls) if page.digest else None
    if full is None:
        full = tools.reader.read(type(page)(page.src_uri, path, page.url))
        full.digest = page.digest or content_hash(_bytes(path))
        tools.cache.put(full, full.digest, full.lookups)
    full.abs_src_path, full.url = path, page.url
    return full


def render_one(tools: Tools, job: RenderJob) -> RenderResult:
    """Render *job*'s page and write it when its bytes differ from the last written."""
    page = full_page(tools, job.page)
    renderer = tools.renderer
    if isinstance(page, Task):
        page.stale = job.page.stale  # type: ignore[attr-defined]
        html = renderer.render_task(page, job.prev_task, job.next_task)
    else:
        assert isinstance(page, Doc) and isinstance(job.page, Doc)
        page.referenced_by = job.page.referenced_by
        html = renderer.render_doc(page, job.nav)
    data = html.encode("utf-8")
    digest = output_digest(data)
    target = tools.context.output_dir / page.url
    written = False
    if digest != job.old_digest or not target.is_file():
        if job.old_digest or not same_bytes(target, data):
            write_atomically(target, data)
            written = True
    fragments = renderer.fragments(page) if job.fragments else None
    return RenderResult(page.src_uri, page.url, job.key, digest, written, fragments)


#: Bytes written to a file per system call (a list page of 10,000 rows is 9 MB).
WRITE_BUFFER = 1 << 20


def output_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_atomically(target: Path, data: bytes | list[bytes]) -> None:
    """Replace *target* in one step, so a server never sends a half-written page.

    *data* may come in pieces, which are written one after the other.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # A short temporary name: a long file name plus a suffix may pass the 255-byte limit.
    name = hashlib.blake2b(target.name.encode("utf-8"), digest_size=8).hexdigest()
    tmp = target.with_name(f".tmp-{os.getpid()}-{name}")
    try:
        # Pieces through a large buffer: thousands of them cost a system call per
        # 8 KiB else.
        with open(tmp, "wb", buffering=WRITE_BUFFER if isinstance(data, list) else -1) as fh:
            if isinstance(data, list):
                fh.writelines(data)
            else:
                fh.write(data)
        os.replace(tmp, target)
    except BaseException:  # a failed write (or Ctrl-C) leaves no temporary file behind
        tmp.unlink(missing_ok=True)
        raise


def same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


# -- many pages -------------------------------------------------------------------------


class Workers:
    """Runs reads and renders here, or in worker processes when there are many."""

    def __init__(self, context: Context, threshold: int, local: Tools | None = None) -> None:
        self.context = context
        self.threshold = threshold
        self._local = local
        self._pool: ProcessPoolExecutor | None = None

    def read(self, shells: list[Page]) -> list[Source]:
        return self._map(_read_batch, shells)

    def render(self, jobs: list[RenderJob]) -> list[RenderResult]:
        return self._map(_render_batch, jobs)

    def full_pages(self, pages: list[Page]) -> list[Page]:
        return self._map(_full_batch, pages)

    def _map(self, batch: Callable[[list], list], items: list) -> list:
        if not items:
            return []
        if len(items) < self.threshold or cpus() < 2:
            if self._local is None:
                self._local = Tools.make(self.context)
            return _guarded(batch, self._local, items)
        pool = self._workers()
        size = max(8, min(64, len(items) // (cpus() * 4) or 1))
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        return [r for part in pool.map(batch, batches) for r in part]

    def _workers(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # fork starts workers with everything imported, but must not copy threads
            # (the preview server runs some): then forkserver.
            alone = threading.active_count() == 1
            context = multiprocessing.get_context("fork" if alone else "forkserver")
            self._pool = ProcessPoolExecutor(cpus(), context, _init_worker, (self.context,))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _guarded(batch: Callable[[list], list], tools: Tools, items: list) -> list:
    global _tools
    saved, _tools = _tools, tools
    try:
        return batch(items)
    finally:
        _tools = saved


# Each worker process builds its tools once, from the build's context.
_tools: Tools | None = None
_in_worker = False


def _init_worker(context: Context) -> None:
    global _tools, _in_worker
    _tools, _in_worker = Tools.make(context), True


def _each(function: Callable[[Tools, Any], Any], items: list) -> list:
    assert _tools is not None
    if not _in_worker:
        return [function(_tools, item) for item in items]
    try:
        return [function(_tools, item) for item in items]
    except jinja2.TemplateError as exc:
        # What the traceback says, which does not cross to the main process.
        raise TemplateFailure(template_error_message(exc), *template_location(exc)) from None


def _read_batch(shells: list[Page]) -> list[Source]:
    return _each(read_one, shells)


def _render_batch(jobs: list[RenderJob]) -> list[RenderResult]:
    return _each(render_one, jobs)


def _full_batch(pages: list[Page]) -> list[Page]:
    return _each(full_page, pages)
