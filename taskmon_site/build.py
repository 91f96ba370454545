"""The build pipeline: discover → read → index → render → write.

:class:`SiteBuilder` keeps what it read, so :meth:`SiteBuilder.rebuild` can
re-read only the changed files and re-render only the pages that depend on
them (the preview server uses this on every save).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from taskmon_site.config import Config
from taskmon_site.model import Doc, Page, Task
from taskmon_site.reading import Reader
from taskmon_site.render import Renderer
from taskmon_site.site import Site, index_site
from taskmon_site.source import Problem
from taskmon_site.urls import doc_url, link_target, relative, task_url

log = logging.getLogger(__name__)

MANIFEST = ".taskmon-manifest.json"
_MENTION = re.compile(r"[\w.\-]+\.md\b")


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
        self._mentions: dict[str, set[str]] = {}
        self._setup()

    def _setup(self) -> None:
        self.reader = Reader(self.config, self._resolver_for)
        self.renderer = Renderer(self.config)

    # -- the pipeline -------------------------------------------------------

    def build(self) -> BuildReport:
        """Read every source file and write the whole site."""
        started = time.perf_counter()
        log.info("Building site from %s", self.config.source_dir)

        # Discover: every task and doc, with its page URL, before reading any.
        self.tasks, self.docs = self._discover()
        log.debug("Found %d tasks and %d docs", len(self.tasks), len(self.docs))

        # Read: front matter, sections, work logs; Markdown rendered to HTML.
        for page in self._pages():
            self._read(page)

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
                self._setup()
            report = self.build()
            report.changed = sorted(str(p) for p in changed)
            return report

        before = set(self.tasks) | set(self.docs)
        self.tasks, self.docs = self._discover(keep=True)
        after = set(self.tasks) | set(self.docs)
        to_read = {self._src_uri(p) for p in changed} & after
        for src_uri in (after - before) | (before - after):
            to_read |= self._mentioning(src_uri)
        for src_uri in to_read:
            self._read(self.tasks.get(src_uri) or self.docs[src_uri])
        for src_uri in before - after:
            self._mentions.pop(src_uri, None)

        report = self._finish([self._page(u) for u in to_read], started, full=False)
        report.changed = sorted(self._src_uri(p) for p in changed)
        return report

    def _finish(self, read: list[Page], started: float, full: bool) -> BuildReport:
        # Index: counts, role × status matrix, backlinks, duplicates, problems.
        old_site = self.site
        self.site = index_site(self.config, self.tasks, self.docs, build_time())

        # Render: the pages that were read, plus everything they feed.
        pages = self.renderer.render_site(self.site, read, old_site, full)

        # Write: only what changed on disk; remove pages whose source is gone.
        written = self._write(pages, full)
        self._log_problems()
        return BuildReport(written, len(pages), len(self.tasks), len(self.docs),
                           len(self.site.problems), time.perf_counter() - started, [], full)

    # -- discovery ------------------------------------------------------------

    def _discover(self, keep: bool = False) -> tuple[dict[str, Task], dict[str, Doc]]:
        source = self.config.source_dir
        task_uris = self._glob(self.config.tasks)
        doc_uris = self._glob(self.config.docs) - task_uris
        taken: set[str] = set()
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

    def _read(self, page: Page) -> None:
        log.debug("Reading %s", page.src_uri)
        if isinstance(page, Task):
            self.reader.read_task(page)
        else:
            self.reader.read_doc(page)
        try:
            raw = page.abs_src_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            raw = ""
        self._mentions[page.src_uri] = {m.casefold() for m in _MENTION.findall(raw)}

    def _mentioning(self, src_uri: str) -> set[str]:
        """Pages whose text names the file *src_uri* (their links may now resolve)."""
        name = src_uri.rsplit("/", 1)[-1].casefold()
        return {u for u, names in self._mentions.items()
                if u in self.tasks or u in self.docs if any(n.endswith(name) for n in names)}

    def _resolver_for(self, page: Page) -> Callable[[str], str | None]:
        def resolve(href: str) -> str | None:
            found = link_target(href, page.src_uri)
            if found is None:
                return None
            candidates, fragment = found
            for candidate in candidates:
                target = self.tasks.get(candidate) or self.docs.get(candidate)
                if target is not None:
                    if target is not page:
                        page.references.add(candidate)
                    url = target.url + (f"#{fragment}" if fragment else "")
                    return relative(url, page.url)
            return self._repo_link(candidates, fragment)

        return resolve

    def _repo_link(self, candidates: list[str], fragment: str) -> str | None:
        if not self.config.repo_url:
            return None
        for candidate in candidates:
            if (self.config.source_dir / candidate).exists():
                suffix = f"#{fragment}" if fragment else ""
                return self.config.repo_url.rstrip("/") + "/" + candidate + suffix
        return None

    # -- writing ----------------------------------------------------------------

    def _write(self, pages: dict[str, str | bytes], full: bool) -> int:
        out = self.output_dir
        out.mkdir(parents=True, exist_ok=True)
        written = 0
        for url, content in pages.items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            target = out / url
            if self._written.get(url) == digest and target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (target.exists() and target.read_bytes() == data):
                target.write_bytes(data)
                written += 1
            self._written[url] = digest
        self._remove_stale(set(pages) if full else None)
        return written

    def _remove_stale(self, produced: set[str] | None) -> None:
        """Delete pages this tool wrote earlier whose source is gone; nothing else."""
        manifest = self.output_dir / MANIFEST
        try:
            previous = set(json.loads(manifest.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            previous = set()
        if produced is None:
            expected = self.renderer.expected_urls(self.site)
            produced = (previous | set(self._written)) & expected
        for url in sorted(previous - produced):
            path = self.output_dir / url
            if path.is_file():
                path.unlink()
                log.debug("Removed %s", url)
            self._written.pop(url, None)
        manifest.write_text(json.dumps(sorted(produced), ensure_ascii=False), encoding="utf-8")

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
        for problem in self.site.problems if self.site else []:
            log.warning("%s", problem)

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
        return any(rel.match(p) or _match_globstar(rel_text, p)
                   for p in self.config.tasks + self.config.docs)


def _static_prefix(pattern: str) -> str:
    """The folder part of a glob before its first wildcard."""
    parts = []
    for part in pattern.split("/"):
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return "/".join(parts)


def _match_globstar(rel: str, pattern: str) -> bool:
    """Path.match does not treat '**' as any depth; this does, for one '**'."""
    if "**/" not in pattern:
        return False
    head, tail = pattern.split("**/", 1)
    if not rel.startswith(head):
        return False
    rest = Path(rel[len(head):])
    return any(Path(*rest.parts[i:]).match(tail) for i in range(len(rest.parts)))
