"""The build pipeline: discover → read → index → render → write.

:class:`SiteBuilder` remembers what it read and wrote — in memory and, between
runs, in the build state (:mod:`taskmon_site.state`) — so a build reads only
the files that changed and renders only the pages whose inputs changed. The
preview server calls :meth:`SiteBuilder.rebuild` with the paths that changed.

Reading and rendering single pages is most of the cost; with many pages to do
it runs in worker processes (:mod:`taskmon_site.workers`), which hand full
pages to each other through the page cache and send back only slim ones.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import jinja2

from taskmon_site.cache import PageCache, reading_key
from taskmon_site.config import Config
from taskmon_site.globs import glob_match, static_prefix
from taskmon_site.logs import REPEAT_LIMIT
from taskmon_site.model import Doc, Page, Task
from taskmon_site.render import Fragments, Renderer, neighbours, tasks_json
from taskmon_site.search import BUNDLES_FILE, SEARCH_DIR, build_search_index
from taskmon_site.site import (Site, Update, around, index_site, list_position,
                               stale_holds, update_site)
from taskmon_site.source import Problem
from taskmon_site.state import BuildState, Output, Source, state_file
from taskmon_site.urls import TASKS_JSON_URL, doc_url, files_at, task_url
from taskmon_site.workers import (Context, RenderJob, RenderResult,
                                  TemplateFailure, Tools, Workers, output_digest, same_bytes,
                                  template_error_message, write_atomically)

log = logging.getLogger(__name__)

P = TypeVar("P", bound=Page)
T = TypeVar("T")

MANIFEST = ".taskmon-manifest.json"
#: Names the build state of the last build that wrote the output folder: another
#: build (another cache, or none) writing there makes this builder's state about
#: another folder, so it checks every page again.
OUTPUT_MARK = ".taskmon-state"
#: Names of files a build never writes: in the output folder, they are the user's.
MARKDOWN_SUFFIXES = (".md", ".markdown")
#: What a build writes in the output folder: these folders, and files of these names.
BUILD_FOLDERS = ("assets", SEARCH_DIR)
BUILD_SUFFIXES = (".html", ".json")
#: Below this many pages to read or render, worker processes cost more than they save.
PARALLEL_THRESHOLD = 200


class BuildError(Exception):
    """A build that could not finish (a broken theme template) or start (the output
    folder holds source files)."""


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
    #: Nothing had changed since the last build: nothing was read or written.
    up_to_date: bool = False
    #: Source files read (the rest came from the build state).
    read: int = 0

    def summary(self) -> str:
        counts = f"{self.tasks} tasks, {self.docs} docs, {self.problems} problems"
        if self.up_to_date:
            return f"Up to date: {counts}; nothing changed, checked in {self.seconds:.2f} s"
        kind = "Built" if self.full else "Rebuilt"
        return (f"{kind} {self.pages_rendered} pages ({self.pages_written} written): "
                f"{counts} in {self.seconds:.2f} s")


def build_time() -> datetime:
    """Now, or SOURCE_DATE_EPOCH when set (reproducible builds)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), timezone.utc)
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class Found:
    """A source file found by the globs, with its page URL and stat."""

    kind: str
    url: str
    mtime_ns: int
    size: int


class SiteBuilder:
    """Builds one site into one folder and remembers it for the next build."""

    def __init__(self, config: Config, output_dir: Path | None = None,
                 reload_config: Callable[[], Config] | None = None,
                 defer_data: bool = False) -> None:
        self.config = config
        #: Rebuilds leave tasks.json (which no page loads) to :meth:`finish`: the
        #: preview server writes it after the browser reloaded.
        self.defer_data = defer_data
        self._data_pending = False
        self.output_dir = (output_dir or config.output_dir).resolve()
        self.reload_config = reload_config
        #: Slim pages by src_uri: what the index pages need.
        self.tasks: dict[str, Task] = {}
        self.docs: dict[str, Doc] = {}
        #: Every source as last read, with its tasks.json entry and fragments.
        self.sources: dict[str, Source] = {}
        #: Every file written, with the key of its inputs and the hash of its bytes.
        self.outputs: dict[str, Output] = {}
        self.site: Site | None = None
        self._found: dict[str, Found] = {}
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._setup()

    def _setup(self) -> None:
        self.urls: dict[str, str] = {}
        self.renderer = Renderer(self.config)
        cache_dir = self.config.cache_dir
        if cache_dir is None:
            # Worker processes still need a place to hand pages to each other.
            self._scratch = tempfile.TemporaryDirectory(prefix="taskmon-pages-")
        self._cache_root = cache_dir or Path(self._scratch.name)  # type: ignore[union-attr]
        self.cache = PageCache(self._cache_root, reading_key(self.config))
        path = state_file(cache_dir, self.output_dir) if cache_dir else None
        self.state = BuildState(path, f"{self.cache.key}:{self.output_dir}")
        self.sources, self.outputs, self._loaded = {}, {}, False
        #: The output folder's mark (OUTPUT_MARK) as this builder last saw or wrote it.
        self._mark: str | None = None
        self._reader = None
        #: URLs of pages written or removed since the search index was updated
        #: ("*": all of them).
        self.search_pending: set[str] = {"*"}
        #: Files the globs select that are not read (links outside the source folder or
        #: to nothing) → why, as of the last scan.
        self._unread: dict[str, str] = {}
        #: Files the globs select in the output folder that a build does not write (see
        #: ``_hold``), as of the last scan.
        self._held: list[str] = []
        #: The file each symbolic link the globs select leads to → those links' src_uris.
        self._links: dict[str, set[str]] = {}
        #: The kind and URL of each source as this builder last saved them in the state.
        self._saved_urls: dict[str, tuple[str, str]] | None = None
        #: The manifest as last written by this builder.
        self._manifest: set[str] | None = None
        #: The files written in pieces, as this builder last wrote them (by URL).
        self._pieces: dict[str, list[bytes]] = {}
        #: Keys of pages and fragments (and the docs navigation) by name, with the page
        #: objects they were made of (see _memo).
        self._memos: dict[tuple, tuple] = {}
        #: The site as the last update that finished indexed it (the output folder
        #: holds what it shows), and the key of its docs navigation.
        self._indexed: Site | None = None
        self._nav_key = ""
        #: src_uri → the page object a page read in this update replaced.
        self._replaced: dict[str, Page] = {}
        #: Sources and outputs changed since the state was last saved.
        self._dirty: set[str] = set()
        self._dirty_outputs: set[str] = set()
        self._restat: set[str] = set()
        #: The site's tasks and their fragments, in list order, as the index pages
        #: were last made of them; and the tasks whose fragments were replaced since.
        self._listing: tuple[list[Task], list[Fragments]] = ([], [])
        self._refragmented: set[str] = set()

    @property
    def reader(self):
        """The Markdown reader, made on first use (an up-to-date build needs none)."""
        if self._reader is None:
            from taskmon_site.reading import Reader

            self._reader = Reader(self.config, self.urls)
        return self._reader

    # -- the pipeline -------------------------------------------------------------

    def build(self) -> BuildReport:
        """Bring the whole output folder up to date with the source tree."""
        started = time.perf_counter()
        log.info("Building site from %s", self.config.source_dir)

        # Discover: every task and doc with its page URL and stat, before reading any.
        found = self._scan()
        self._refuse_held_sources()
        log.debug("Found %d source files", len(found))

        # Nothing changed since the last build (of an earlier run): done.
        if not self._loaded and self._up_to_date(found):
            return self._report_up_to_date(started)
        self._load_state()
        to_read = self._changed(found)
        if not to_read and self._restat and self._up_to_date(found, self.sources):
            self.state.save({u: self.sources[u] for u in self._restat}, (), {}, (), {})
            self._restat = set()
            return self._report_up_to_date(started)

        # Read what changed, index, render what is out of date, write what differs.
        report = self._update(found, to_read, started, full=True)
        log.info(report.summary())
        return report

    def rebuild(self, changed: Iterable[Path]) -> BuildReport:
        """Bring the site up to date after *changed* paths were edited, added or removed."""
        started = time.perf_counter()
        given = [Path(p) for p in changed]
        # A symbolic link as itself (it may be new) and as the file it leads to; and
        # the links to a changed file changed with it.
        changed = {p.resolve() for p in given} | {p.parent.resolve() / p.name for p in given}
        changed |= {self.config.source_dir / link for p in changed
                    for link in self._links.get(str(p), ())}
        if self._needs_full_build(changed):
            if self.config.config_file in changed and self.reload_config:
                self.config = self.reload_config()
            self.state.close()
            self._setup()
            report = self.build()
            if self.site is None:  # up to date: nothing was loaded, but the next edit needs it
                self._load_state()
                self.site = index_site(self.config, self.tasks, self.docs, build_time())
                self._indexed = self.site
            report.changed = sorted(str(p) for p in changed)
            return report

        found = self._found_after(changed)
        # Also the files whose URL changed as files of the same name came or went.
        moved = {u for u, f in found.items() if u in self._found and self._found[u].url != f.url}
        to_read = self._changed(found, check={self._src_uri(p) for p in changed} | moved)
        report = self._update(found, to_read, started, full=False)
        report.changed = sorted(self._src_uri(p) for p in changed)
        return report

    def _update(self, found: dict[str, Found], to_read: set[str], started: float,
                full: bool) -> BuildReport:
        built_at = build_time()
        removed = self.sources.keys() - found.keys()
        came_or_went = removed | (found.keys() - self.sources.keys())
        self._apply_discovery(found, removed)
        to_read |= self._links_changed(came_or_went)
        # The site the output folder now shows, to index only what is read again: this
        # builder's last, or for a new builder the one its state gives.
        previous = self._indexed if self._indexed is self.site else None
        from_state = False
        if self.site is None and not came_or_went:
            previous = self._stored_site(built_at)
            from_state = previous is not None
        # Until this update finishes, the output folder may hold neither site.
        self._indexed, self._replaced = None, {}
        workers = self._workers(built_at)
        try:
            # Read: front matter, sections, work logs; Markdown rendered to HTML.
            with _settling():
                read = workers.read([self._shell(u) for u in sorted(to_read)])
                self._take(read)

            # Index: counts, role × status matrix, backlinks, duplicates, problems.
            update = None
            if previous is not None and not came_or_went:
                update = update_site(previous, self.tasks, self.docs, self._replaced,
                                     built_at)
            if update is None:
                site = index_site(self.config, self.tasks, self.docs, built_at)
            else:
                site = update.site
            self.site = site
            site.problems += self._scan_problems(found)

            # Render and write the task and doc pages whose inputs changed.
            rendered = workers.render(self._render_jobs(site, update, listed=from_state))
            self._take_rendered(rendered)

            # The index pages and data files; static files on full builds.
            self._refresh_fragments(site.tasks if update is None else update.tasks)
            index_written = self._write_indexes(site, data=full or not self.defer_data)
        except jinja2.TemplateError as exc:
            raise BuildError(template_error_message(exc)) from exc
        except TemplateFailure as exc:
            raise BuildError(str(exc)) from exc
        finally:
            workers.close()
        static = self.renderer.static_files() if full else {}
        index_written += self._write_files(static.items())
        # Without files that came or went, the output folder has the files this
        # builder wrote last time.
        gone = self._remove_stale(site) if update is None or from_state else []
        self._log_problems()

        # Search: index again the bundles of pages written or removed (the preview
        # server does it after the reload, with update_search).
        written = [r.url for r in rendered if r.written]
        # Without search too: a build with search indexes what builds without wrote.
        self.search_pending.update(written, gone)
        if self.config.search and full:
            self.update_search(save=False)
        elif full:
            self._remove_search_index()

        saved = self._save_state(read, rendered, removed, gone, built_at, bool(came_or_went))
        self._write_mark(self.state.mark if saved else "")
        self._indexed = site
        _settle()
        return BuildReport(
            pages_written=len(written) + len(index_written),
            pages_rendered=len(rendered) + len(self.renderer.index_urls()) + len(static),
            tasks=len(self.tasks), docs=len(self.docs), problems=len(site.problems),
            seconds=time.perf_counter() - started, full=full, read=len(read))

    def close(self) -> None:
        """Close the build state (a builder is done with once its process ends)."""
        self.state.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    # -- discovery ----------------------------------------------------------------

    def _scan(self) -> dict[str, Found]:
        """Every source file the globs select, by src_uri, in URL-giving order."""
        self._links, self._unread, self._held = {}, {}, []
        tasks = self._glob(self.config.tasks)
        docs = self._glob(self.config.docs)
        kinds = {u: "task" for u in sorted(tasks)}
        kinds.update((u, "doc") for u in sorted(docs.keys() - tasks.keys()))
        urls = self._known_urls(kinds) or self._give_urls(kinds)
        stats = {**docs, **tasks}
        return {u: Found(kind, urls[u], stats[u].st_mtime_ns, stats[u].st_size)
                for u, kind in kinds.items()}

    def _known_urls(self, kinds: dict[str, str]) -> dict[str, str] | None:
        """The URLs of the last build, when it had exactly these files (slugs are slow)."""
        known = {u: (f.kind, f.url) for u, f in self._found.items()}
        known = known or self.state.info("urls") or {}
        if len(known) != len(kinds) or any(known.get(u, ("",))[0] != k
                                           for u, k in kinds.items()):
            return None
        return {u: known[u][1] for u in kinds}

    @staticmethod
    def _give_urls(kinds: dict[str, str]) -> dict[str, str]:
        taken: set[str] = set()
        return {u: (task_url if kind == "task" else doc_url)(u, taken)
                for u, kind in kinds.items()}

    def _glob(self, patterns: list[str]) -> dict[str, os.stat_result]:
        """src_uri → stat of each regular file *patterns* select (as Path.glob does),
        dot-folders, the output folder and files leading outside left out."""
        source = self.config.source_dir
        root = str(source) + os.sep
        found = {}
        inside, in_output = _Inside(source), _Inside(self.output_dir)
        for pattern in patterns:
            for path in source.glob(pattern):
                # Plain strings and os calls: pathlib's per-call cost was most of a scan.
                text = str(path)
                rel = text[len(root):] if text.startswith(root) else path.relative_to(
                    source).as_posix()
                if os.sep != "/":
                    rel = rel.replace(os.sep, "/")
                if _hidden(rel):
                    continue
                link = False
                try:
                    st = os.lstat(text)
                    link = stat.S_ISLNK(st.st_mode)
                    if link:
                        st = os.stat(text)
                except OSError:
                    if link:
                        self._unread[rel] = "leads nowhere (a symbolic link): not read"
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                if self._in_output(text) or in_output(text, link):
                    self._hold(rel, text)
                    continue
                if not inside(text, link):
                    self._unread[rel] = ("leads outside the source folder (a symbolic link): "
                                         "not read")
                    continue
                if link:
                    self._links.setdefault(os.path.realpath(text), set()).add(rel)
                found[rel] = st
        return found

    def _scan_problems(self, found: dict[str, Found]) -> list[Problem]:
        """What the file list says about the settings: links out, globs finding nothing."""
        problems = [Problem(uri, why) for uri, why in sorted(self._unread.items())]
        where = self._config_name()
        kinds = {f.kind for f in found.values()}
        # The default doc globs may well find nothing; task globs are there to find tasks.
        default_docs = Config(self.config.source_dir).docs
        for kind, patterns in (("task", self.config.tasks), ("doc", self.config.docs)):
            if patterns and kind not in kinds and patterns != default_docs:
                problems.append(Problem(where, f"no {kind} files match {kind}s = {patterns}"))
        try:
            inside = self.output_dir.relative_to(self.config.source_dir).as_posix()
        except ValueError:
            inside = None
        if inside and any(glob_match(inside + "/x.md", p) for p in
                          self.config.tasks + self.config.docs):
            problems.append(Problem(where, f"the output folder {inside}/ is where the globs "
                                           "look for files; files in it are not read"))
        return problems

    def _config_name(self) -> str:
        config_file = self.config.config_file
        if config_file is None:
            return "(settings)"
        try:
            return config_file.resolve().relative_to(self.config.source_dir).as_posix()
        except ValueError:
            return str(config_file)

    def _found_after(self, changed: set[Path]) -> dict[str, Found]:
        """The sources after *changed* paths changed, without a scan when none is needed."""
        if any(p.is_dir() or (self._src_uri(p) not in self._found and
                              self._is_folder_of_known(p)) for p in changed):
            return self._scan()
        kinds = {self._src_uri(p): self._kind(p) if p.is_file() else None for p in changed}
        if any(kind is not None and uri not in self._found or uri in self._unread
               for uri, kind in kinds.items()):
            # A new file: URLs are given in order, so give them again; or one not read.
            return self._scan()
        found = dict(self._found)
        removed = False
        for uri, kind in kinds.items():
            if kind is None:
                removed |= found.pop(uri, None) is not None
            elif uri in found:
                st = (self.config.source_dir / uri).stat()
                found[uri] = Found(kind, found[uri].url, st.st_mtime_ns, st.st_size)
        if removed:  # the URL a file had may now go to another of the same name
            urls = self._give_urls({u: f.kind for u, f in found.items()})
            found = {u: Found(f.kind, urls[u], f.mtime_ns, f.size) for u, f in found.items()}
        return found

    def _is_folder_of_known(self, path: Path) -> bool:
        prefix = self._src_uri(path) + "/"
        return any(u.startswith(prefix) for u in self._found)

    def _kind(self, path: Path) -> str | None:
        """"task", "doc" or None: what the globs make of a file."""
        try:
            rel = path.relative_to(self.config.source_dir)
        except ValueError:
            return None
        if self._excluded(str(path), rel.as_posix()):
            return None
        if any(glob_match(rel.as_posix(), p) for p in self.config.tasks):
            return "task"
        if any(glob_match(rel.as_posix(), p) for p in self.config.docs):
            return "doc"
        return None

    def _excluded(self, path: str, rel: str) -> bool:
        """In a dot-folder, a dot-file, or the output folder?"""
        return _hidden(rel) or self._in_output(path)

    def _in_output(self, path: str) -> bool:
        out = str(self.output_dir)
        return path == out or path.startswith(out + os.sep)

    def _hold(self, rel: str, path: str) -> None:
        """Note a file the globs select in the output folder (*path*, or the file it
        leads to, is there) unless a build may have written it: then it is the user's."""
        out = str(self.output_dir)
        inner = path[len(out) + 1:] if path.startswith(out + os.sep) else os.path.relpath(
            os.path.realpath(path), os.path.realpath(out))
        inner = inner.replace(os.sep, "/")
        written = inner.split("/")[0] in BUILD_FOLDERS or inner.endswith(BUILD_SUFFIXES)
        if rel.lower().endswith(MARKDOWN_SUFFIXES) or not written:
            self._held.append(rel)

    def _refuse_held_sources(self) -> None:
        """Raise BuildError when the output folder holds files the globs select that a
        build does not write: the user's, which would not be read, with pages written
        among them."""
        if not self._held:
            return
        held = sorted(set(self._held))
        try:
            where = self.output_dir.relative_to(self.config.source_dir).as_posix() + "/"
        except ValueError:
            where = str(self.output_dir)
        named = ", ".join(held[:3]) + (", …" if len(held) > 3 else "")
        raise BuildError(f"the output folder {where} holds {len(held)} file"
                         f"{'s' if len(held) > 1 else ''} the globs select ({named}): they "
                         "would not be read, and pages would be written among them; "
                         "choose an output folder of its own")

    def _apply_discovery(self, found: dict[str, Found], removed: set[str]) -> None:
        """Take the new file list: URL map, shells for new files, nothing of gone ones."""
        self._found = found
        for src_uri in removed:
            self.sources.pop(src_uri, None)
            self.tasks.pop(src_uri, None)
            self.docs.pop(src_uri, None)
        urls = {u: f.url for u, f in found.items()}
        if urls == self.urls:
            return  # pages read since have their URL from their shell
        self._memos.clear()  # of pages that are gone, or whose URLs may now differ
        self.urls.clear()
        self.urls.update(urls)
        for src_uri, page in [*self.tasks.items(), *self.docs.items()]:
            page.url = found[src_uri].url

    def _shell(self, src_uri: str) -> Page:
        """An unread page for *src_uri*, to be read."""
        found = self._found[src_uri]
        kind = Task if found.kind == "task" else Doc
        return kind(src_uri, self.config.source_dir / src_uri, found.url)

    # -- what changed ---------------------------------------------------------------

    def _changed(self, found: dict[str, Found], check: set[str] | None = None) -> set[str]:
        """Sources to read again: new ones, and those whose bytes changed.

        A file whose size and modification time are as stored is not opened; one
        whose bytes hash as stored only gets its new stat recorded. *check*
        limits the comparison to those src_uris (and new files).
        """
        changed = set()
        if check is not None:
            found = {u: found[u] for u in check | (found.keys() - self.sources.keys())
                     if u in found}
        for src_uri, now in found.items():
            old = self.sources.get(src_uri)
            if old is None or old.kind != now.kind or old.page.url != now.url:
                changed.add(src_uri)
            elif (old.mtime_ns, old.size) != (now.mtime_ns, now.size):
                if _file_digest(self.config.source_dir / src_uri) == old.digest:
                    old.mtime_ns, old.size = now.mtime_ns, now.size
                    self._restat.add(src_uri)
                else:
                    changed.add(src_uri)
        return changed

    def _links_changed(self, added_or_removed: set[str]) -> set[str]:
        """Pages whose links would now resolve differently (a target came, went or moved).

        URLs follow from the list of files alone: with none added or removed, none moved.
        """
        if not added_or_removed:
            return set()
        names = {u.rsplit("/", 1)[-1].casefold() for u in added_or_removed}
        stale = set()
        for src_uri, source in self.sources.items():
            page = source.page
            if names & page.mentions or any(
                    self.urls.get(candidate) != url for candidate, url in page.lookups.items()):
                stale.add(src_uri)
        return stale

    def _up_to_date(self, found: dict[str, Found],
                    sources: dict[str, Source] | None = None) -> bool:
        """Is the output folder exactly what a build now would write?

        Files are compared by stat with the stored state, or with *sources*.
        """
        if sources is None:
            stats = self.state.stats()
        else:
            stats = {u: (s.mtime_ns, s.size, s.digest) for u, s in sources.items()}
        if not stats or stats.keys() != found.keys():
            return False
        if any((f.mtime_ns, f.size) != stats[u][:2] for u, f in found.items()):
            return False
        info = self.state.info("site") or {}
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        now = build_time()
        if (info.get("theme_key") != self.renderer.theme_key or info.get("search") !=
                self.config.search or not _stored_in_time(info, now) or
                (epoch and info.get("built_at") != now) or info.get("unread") != self._unread):
            return False
        if self.config.search and (self._search_missing() or self.state.info("search_pending")):
            return False
        if not (self.output_dir / MANIFEST).is_file() or self._output_mark() != self.state.mark:
            return False
        return self.state.outputs().keys() <= self._existing_files()

    def _report_up_to_date(self, started: float) -> BuildReport:
        info = self.state.info("site")
        self._log_problems(info["problems"])
        report = BuildReport(0, 0, info["tasks"], info["docs"], len(info["problems"]),
                             time.perf_counter() - started, up_to_date=True)
        log.info(report.summary())
        return report

    def _load_state(self) -> None:
        """The pages, fragments and outputs of the last build, once per builder."""
        if self._loaded:
            return
        self._loaded = True
        with _settling():
            self.sources = self.state.sources()
            # Pages another build wrote meanwhile: what this state knows of them (and of
            # their search index) is stale.
            trusted = self.sources and self._output_mark() == self.state.mark
            self.outputs = self.state.outputs() if trusted else {}
            pending = self.state.info("search_pending") if trusted else {"*"}
            self.search_pending = set(pending) if pending is not None else {"*"}
            for src_uri, source in self.sources.items():
                pages = self.tasks if source.kind == "task" else self.docs
                pages[src_uri] = source.page  # type: ignore[assignment]
            self._listing = ([], [])

    # -- taking results in ------------------------------------------------------------

    def _take(self, results: list[Source]) -> None:
        for source in results:
            page = source.page
            self.sources[page.src_uri] = source
            for pages in (self.tasks, self.docs):
                old = pages.pop(page.src_uri, None)
                if old is not None and old is not page:
                    self._replaced[page.src_uri] = old
            pages = self.tasks if isinstance(page, Task) else self.docs
            pages[page.src_uri] = page  # type: ignore[assignment]

    def _take_rendered(self, results: list[RenderResult]) -> None:
        for r in results:
            self.outputs[r.url] = Output(r.key, r.digest)
            if r.fragments is not None:
                self._set_fragments(r.src_uri, r.fragments)

    # -- rendering ----------------------------------------------------------------------

    def _render_jobs(self, site: Site, update: Update | None,
                     listed: bool = False) -> list[RenderJob]:
        """The task and doc pages whose inputs differ from those they were written with.

        After an *update*, only the pages it names are looked at: the others are as
        this builder wrote them; *listed*: as some build wrote them, unless missing
        from the output folder.
        """
        jobs = []
        nav_key, nav = self._memo(("nav",), tuple(site.docs), None,
                                  lambda: self.renderer.doc_nav(site.docs))
        if update is None:
            pairs = neighbours(site.tasks)
            tasks: Iterable[tuple[Task, tuple[Task | None, Task | None]]] = [
                (t, pairs[t.src_uri]) for t in site.tasks]
            docs = site.docs
            exists = self._existing_pages()
        else:
            checked, docs = update.tasks, update.docs
            if nav_key != self._nav_key:
                docs = site.docs
            if listed:
                exists = self._existing_pages()
                checked = _joined(checked, [t for t in site.tasks if t.url not in exists])
                docs = _joined(docs, [d for d in site.docs if d.url not in exists])
            else:
                exists = {p.url for p in [*checked, *docs]
                          if os.path.isfile(self.output_dir / p.url)}
            tasks = [(t, around(site, t)) for t in checked]
        self._nav_key = nav_key
        for task, (prev_task, next_task) in tasks:
            key = self._memo(("task", task.src_uri), (task, prev_task, next_task), task.stale,
                             lambda: self.renderer.task_key(task, prev_task, next_task))
            if self._out_of_date(task.url, key, exists):
                wants = self._fragments_stale(task)
                jobs.append(RenderJob(task, key, self._old_digest(task.url), prev_task,
                                      next_task, fragments=wants))
        for doc in docs:
            key = self._memo(("doc", doc.src_uri), (doc, *doc.referenced_by), nav_key,
                             lambda: self.renderer.doc_key(doc, nav_key))
            if self._out_of_date(doc.url, key, exists):
                jobs.append(RenderJob(doc, key, self._old_digest(doc.url), nav=nav))
        return jobs

    def _memo(self, name: tuple, pages: tuple, value: Any, make: Callable[[], T]) -> T:
        """What *make* gives (a key, the docs navigation), made again only when one of
        *pages* is another object than last time or *value* differs. A page's fields
        are only set when it is read (a new object), but for its URL: when URLs change,
        all are forgotten."""
        memo = self._memos.get(name)
        # Pages compare equal only to themselves (eq=False): this compares identities.
        if memo is not None and memo[1] == value and memo[0] == pages:
            return memo[2]
        made = make()
        self._memos[name] = (pages, value, made)
        return made

    def _stored_site(self, built_at: datetime) -> Site | None:
        """The site of the pages in the state, indexed, when the output folder shows it:
        the last build used this theme and no task has turned stale since."""
        info = self.state.info("site") or {}
        if not self.outputs or info.get("theme_key") != self.renderer.theme_key:
            return None
        if not _stored_in_time(info, built_at):
            return None
        self._nav_key = info.get("nav_key", "")
        return index_site(self.config, self.tasks, self.docs, built_at)

    def _existing_pages(self) -> set[str]:
        """The task and doc page URLs present in the output folder."""
        return files_at(self.output_dir, self.urls.values())

    def _existing_files(self) -> set[str]:
        """URLs of every file in the output folder, the search index's left out."""
        found = set()
        top = str(self.output_dir)
        for root, dirs, files in os.walk(top):
            if root == top:
                dirs[:] = [d for d in dirs if d != SEARCH_DIR]
            rel = os.path.relpath(root, top).replace(os.sep, "/")
            prefix = "" if rel == "." else rel + "/"
            found.update(prefix + name for name in files)
        return found

    def _out_of_date(self, url: str, key: str, exists: set[str]) -> bool:
        old = self.outputs.get(url)
        return old is None or old.key != key or url not in exists

    def _old_digest(self, url: str) -> str:
        old = self.outputs.get(url)
        return old.digest if old else ""

    def _fragments_stale(self, task: Task) -> bool:
        fragments = self.sources[task.src_uri].fragments
        if fragments is None:
            return True
        key = self._memo(("fragments", task.src_uri), (task,), task.stale,
                         lambda: self.renderer.fragment_key(task))
        return fragments.key != key

    def _refresh_fragments(self, tasks: list[Task]) -> None:
        """Render again the row, card and record of each of *tasks* whose inputs changed."""
        for task in tasks:
            if self._fragments_stale(task):
                self._set_fragments(task.src_uri, self.renderer.fragments(task))
                self._dirty.add(task.src_uri)

    def _set_fragments(self, src_uri: str, fragments: Fragments) -> None:
        self.sources[src_uri].fragments = fragments
        self._refragmented.add(src_uri)

    def _fragments_in_order(self, tasks: list[Task]) -> list[Fragments]:
        """The fragments of *tasks* (the site's list), in that order.

        Made from the last list's, looked up again only where a task is another
        object than there or had its fragments replaced since: one lookup per task
        of 10,000 costs more than the rest of a small rebuild's list and board.
        """
        last_tasks, last = self._listing
        replaced, self._refragmented = self._refragmented, set()
        sources = self.sources
        if len(last_tasks) != len(tasks) or len(replaced) > len(tasks) // 8:
            fragments = [sources[t.src_uri].fragments for t in tasks]
        else:
            fragments = list(last)
            for at, (old, new) in enumerate(zip(last_tasks, tasks)):
                if old is not new:
                    fragments[at] = sources[new.src_uri].fragments
            for src_uri in replaced:
                task = self.tasks.get(src_uri)
                if task is not None:
                    fragments[list_position(tasks, task)] = sources[src_uri].fragments
        self._listing = (list(tasks), fragments)  # type: ignore[arg-type]
        return fragments  # type: ignore[return-value]

    # -- writing ----------------------------------------------------------------------


    def _write_indexes(self, site: Site, data: bool = True) -> list[str]:
        """The index pages and data files; without *data*, tasks.json is left for
        :meth:`finish`."""
        fragments = self._fragments_in_order(site.tasks)
        pages = self.renderer.index_pages(site, fragments, self._json_of, data)
        self._data_pending = not data
        return self._write_files((url, text.encode("utf-8") if isinstance(text, str) else text)
                                 for url, text in pages)

    def _json_of(self, task: Task) -> bytes:
        """*task*'s entry in tasks.json, as made when it was read."""
        return self.sources[task.src_uri].json

    def finish(self) -> None:
        """What a rebuild with ``defer_data`` left: tasks.json, then the search index."""
        if self._data_pending and self.site is not None:
            self._write_files([(TASKS_JSON_URL, tasks_json(self.site, self._json_of))])
            self._data_pending = False
        self.update_search()

    def _write_files(self, files: Iterable[tuple[str, bytes | list[bytes]]]) -> list[str]:
        """Write each file whose bytes differ from what is there; returns those URLs.

        A file given in pieces (a list: thousands of rows) is compared piece by
        piece with what this builder last wrote there (most of them the very
        same objects), not hashed.
        """
        written = []
        for url, data in files:
            if isinstance(data, list):
                if not self._same_pieces(url, data):
                    write_atomically(self.output_dir / url, data)
                    self._pieces[url] = data
                    self.outputs[url] = Output("", "")
                    self._dirty_outputs.add(url)
                    written.append(url)
                continue
            digest = output_digest(data)
            target = self.output_dir / url
            old = self.outputs.get(url)
            if old is not None and old.digest == digest and target.is_file():
                continue
            if old is not None or not same_bytes(target, data):
                write_atomically(target, data)
                written.append(url)
            self.outputs[url] = Output("", digest)
            self._dirty_outputs.add(url)
        return written

    def _same_pieces(self, url: str, pieces: list[bytes]) -> bool:
        """Are *pieces* those this builder last wrote to *url*, still there?"""
        # Lists compare the same objects without looking at their bytes.
        return (self._pieces.get(url) == pieces and url in self.outputs and
                os.path.isfile(self.output_dir / url))

    def _expected_urls(self, site: Site) -> set[str]:
        urls = {p.url for p in [*site.tasks, *site.docs]}
        return urls | set(self.renderer.index_urls()) | set(self.renderer.static_urls())

    def _remove_stale(self, site: Site) -> list[str]:
        """Delete pages this tool wrote earlier whose source is gone; nothing else."""
        expected = self._expected_urls(site)
        previous = self._read_manifest()
        gone = sorted((previous | set(self.outputs)) - expected)
        for url in gone:
            path = self.output_dir / url
            if path.is_file():
                path.unlink()
                log.debug("Removed %s", url)
            self.outputs.pop(url, None)
        if previous != expected:
            text = json.dumps(sorted(expected), ensure_ascii=False)
            write_atomically(self.output_dir / MANIFEST, text.encode("utf-8"))
        self._manifest = expected
        return gone

    def _read_manifest(self) -> set[str]:
        """Every URL this tool wrote into the output folder, as the folder itself says
        (or as this builder last wrote it there)."""
        if self._manifest is not None:
            return self._manifest
        try:
            data = json.loads((self.output_dir / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return set()
        return {url for url in data if isinstance(url, str)}

    def _output_mark(self) -> str:
        if self._mark is None:
            try:
                self._mark = (self.output_dir / OUTPUT_MARK).read_text(encoding="utf-8")
            except (OSError, ValueError):
                self._mark = ""
        return self._mark

    def _write_mark(self, mark: str) -> None:
        """Leave *mark* in the output folder after a build: its state's, or "" when the
        state could not be saved (no state describes the folder then)."""
        if self._output_mark() != mark:
            try:
                write_atomically(self.output_dir / OUTPUT_MARK, mark.encode("utf-8"))
            except OSError as exc:
                log.warning("Could not write %s: %s", self.output_dir / OUTPUT_MARK, exc)
                mark = ""
            self._mark = mark

    def _remove_search_index(self) -> None:
        """Delete the search index an earlier build with search wrote: it would show
        pages as they were then (the search box falls back to titles without one)."""
        root = self.output_dir / SEARCH_DIR
        if (root / BUNDLES_FILE).is_file():
            shutil.rmtree(root, ignore_errors=True)
            self.search_pending = {"*"}
            log.info("Removed the search index of an earlier build (search is off)")

    def _search_missing(self) -> bool:
        return not (self.output_dir / SEARCH_DIR / BUNDLES_FILE).is_file()

    def update_search(self, save: bool = True) -> None:
        """Index the pages written or removed since the search index was last updated."""
        if not self.config.search or self.site is None:
            return
        if not self.search_pending and not self._search_missing():
            return
        everything = self._search_missing() or "*" in self.search_pending
        changed = None if everything else self.search_pending - {"*"}
        if build_search_index(self.site, self.output_dir, changed) is not None:
            self.search_pending = set()
        if save:
            self.state.save({}, (), {}, (), {"search_pending": self.search_pending})

    def _save_state(self, read: list[Source], rendered: list[RenderResult],
                    removed: set[str], gone: list[str], built_at: datetime,
                    came_or_went: bool) -> bool:
        """Store what this update read and wrote; False when the state could not."""
        dirty = self._dirty | self._restat | {r.page.src_uri for r in read} | {
            r.src_uri for r in rendered if r.fragments is not None}
        outputs = {u: self.outputs[u] for u in self._dirty_outputs | {r.url for r in rendered}
                   if u in self.outputs}
        site = self.site
        assert site is not None
        info = {"theme_key": self.renderer.theme_key, "search": self.config.search,
                "built_at": built_at, "tasks": len(site.tasks), "docs": len(site.docs),
                "horizon": site.horizon, "nav_key": self._nav_key,
                "problems": site.problems, "unread": self._unread}
        more = {"site": info, "search_pending": self.search_pending}
        if came_or_went or self._saved_urls is None:  # files keep their URLs otherwise
            urls = {u: (f.kind, f.url) for u, f in self._found.items()}
            if urls != self._saved_urls:  # thousands of them: stored when they change
                more["urls"] = self._saved_urls = urls
        saved = self.state.save({u: self.sources[u] for u in dirty if u in self.sources},
                                removed, outputs, gone, more)
        self._dirty, self._dirty_outputs, self._restat = set(), set(), set()
        return saved

    # -- reading without building (for the task commands) ----------------------------

    def discover(self) -> dict[str, Task]:
        """Find every task and doc (unread shells); returns the tasks by src_uri."""
        self._apply_discovery(self._scan(), set())
        return {u: self._shell(u) for u, f in self._found.items()  # type: ignore[misc]
                if f.kind == "task"}

    def read_pages(self, pages: list[Page]) -> list[Page]:
        """Full pages for *pages* (found by :meth:`discover`), from the cache where valid."""
        workers = self._workers(build_time())
        try:
            return workers.full_pages(pages)
        finally:
            workers.close()

    def full_page(self, src_uri: str) -> Page:
        """The full page of *src_uri* as the last build read it (from the cache)."""
        page, = self.read_pages([self._shell(src_uri)])
        return page

    # -- helpers ------------------------------------------------------------------------

    def _workers(self, built_at: datetime) -> Workers:
        context = Context(self.config, self.urls, built_at, self._cache_root, self.output_dir)
        local = Tools(context, self.reader, self.renderer, self.cache)
        return Workers(context, PARALLEL_THRESHOLD, local)

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

    def _log_problems(self, problems: list[Problem] | None = None) -> None:
        """One warning per problem; the same message in many files is cut short."""
        if problems is None:
            problems = self.site.problems if self.site else []
        by_message: dict[str, list[Problem]] = {}
        for problem in problems:
            by_message.setdefault(problem.message, []).append(problem)
        for message, same in by_message.items():
            for problem in same[:REPEAT_LIMIT]:
                log.warning("%s", problem)
            if len(same) > REPEAT_LIMIT:
                log.warning("%d more files: %s", len(same) - REPEAT_LIMIT, message)

    # -- for the preview server -------------------------------------------------------

    def watch_dirs(self) -> list[Path]:
        """Folders whose changes can change the site."""
        # TODO: the folders of files that symbolic links lead to (docs/readme.md →
        # ../README.md) when outside these: a change there is not seen until the next
        # change that is.
        source = self.config.source_dir
        dirs = {source / static_prefix(p) for p in self.config.tasks + self.config.docs}
        if self.config.config_file:
            dirs.add(self.config.config_file.resolve().parent)
        dirs.update(d for d in self.config.theme_dirs)
        return sorted(d for d in dirs if d.is_dir())

    def is_relevant(self, path: Path) -> bool:
        """Does a change to *path* (a symbolic link: to it or to its file) matter?"""
        given = Path(path)
        return any(self._relevant(p) for p in {given.resolve(), given.parent.resolve() /
                                               given.name})

    def _relevant(self, path: Path) -> bool:
        if self.config.config_file and path == self.config.config_file.resolve():
            return True
        if any(t.resolve() in path.parents for t in self.config.theme_dirs):
            return True
        try:
            rel = path.relative_to(self.config.source_dir)
        except ValueError:
            return False
        if self._excluded(str(path), rel.as_posix()) or path.suffix.lower() != ".md":
            return False
        rel_text = rel.as_posix()
        if rel_text in self._found:
            return True
        return any(glob_match(rel_text, p) for p in self.config.tasks + self.config.docs)


def _hidden(rel: str) -> bool:
    """Is the source-relative path a dot-file or in a dot-folder?"""
    return rel.startswith(".") or "/." in rel


@contextlib.contextmanager
def one_build_at_a_time(folder: Path) -> Iterator[None]:
    """Hold the output *folder* (an exclusive lock on it) while a build writes there:
    another build of it waits. Two at once replaced each other's pages and search
    index. Without ``fcntl`` (Windows), builds do not wait."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on the machines this runs on
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("Waiting for another build of %s to finish", folder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # which unlocks it


def _stored_in_time(info: dict[str, Any], now: datetime) -> bool:
    """:func:`stale_holds` for the site a build stored (its state's *info*)."""
    built_at = info.get("built_at")
    return built_at is not None and stale_holds(built_at, info.get("horizon", 0), now)


def _settle() -> None:
    """Leave the pages in memory out of garbage collection from now on.

    They live as long as the builder; with thousands of them, each full
    collection walked them all, which cost a rebuild a third of its time.
    (Pages freed later are still freed: only cycles among them would stay.)
    """
    gc.freeze()


@contextlib.contextmanager
def _settling() -> Iterator[None]:
    """No garbage collection while many pages are made that all stay alive, then
    :func:`_settle` them: each collection would walk them all again (loading
    10,000 pages took twice as long)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        _settle()
        if enabled:
            gc.enable()


class _Inside:
    """Is a path, symbolic links followed, inside *root*? Folders are resolved once."""

    def __init__(self, root: Path) -> None:
        self.root = os.path.realpath(root)
        self._folders: dict[str, bool] = {}

    def __call__(self, path: str, link: bool) -> bool:
        """Is *path* (a string; *link*: is it a symbolic link) inside the root?"""
        if link:
            return self._within(os.path.realpath(path))
        folder = os.path.dirname(path)
        if folder not in self._folders:
            self._folders[folder] = self._within(os.path.realpath(folder))
        return self._folders[folder]

    def _within(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)


def _joined(pages: list[P], more: list[P]) -> list[P]:
    """*pages*, then those of *more* not among them."""
    names = {p.src_uri for p in pages}
    return pages + [p for p in more if p.src_uri not in names]


def _file_digest(path: Path) -> str:
    from taskmon_site.cache import content_hash

    try:
        return content_hash(path.read_bytes())
    except OSError:
        return ""

