"""A content-hash cache of read pages that survives between runs.

Reading (front matter, Markdown parsing and rendering, highlighting) is most
of a build's cost. A cached page is reused when the file's bytes hash the same,
the reading settings and package version are the same, and every link the page
resolved still resolves to the same page.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from taskmon_site import __version__
from taskmon_site.config import Config
from taskmon_site.model import Page

log = logging.getLogger(__name__)

#: Bump when the pickled shape of pages changes.
FORMAT = 1


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A hash of this package's own source: a development edit invalidates the cache."""
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def reading_key(config: Config) -> str:
    """What, besides a file's bytes, decides how it is read."""
    parts = [
        str(FORMAT), __version__, code_digest(), *_reading_libraries(),
        config.fields_preset, repr(sorted(config.fields.items())),
        repr(sorted(config.statuses.items())), repr(sorted(config.roles.items())),
        config.html, config.timezone, config.repo_url, str(config.source_dir),
    ]
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


@functools.lru_cache(maxsize=1)
def _reading_libraries() -> tuple[str, ...]:
    """Versions of the libraries that read pages, without importing them (slow)."""
    from importlib import metadata

    names = ("markdown-it-py", "mdit-py-plugins", "pygments", "nh3", "PyYAML")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} ?")
    return tuple(found)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Entry:
    content: str
    key: str
    #: Link candidates the page looked up → the URL each resolved to (or None).
    lookups: dict[str, str | None]
    page: Page


class PageCache:
    """Pickled pages under ``<folder>/pages``; any failure just means a miss."""

    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = folder / "pages" if folder else None
        self.key = key
        self.hits = 0
        self.misses = 0
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.debug("Cache disabled: cannot create %s (%s)", self.folder, exc)
                self.folder = None

    def _path(self, src_uri: str) -> Path:
        assert self.folder is not None
        name = hashlib.blake2b(src_uri.encode(), digest_size=12).hexdigest()
        return self.folder / f"{name}.pickle"

    def get(self, src_uri: str, content: str, urls: dict[str, str]) -> Page | None:
        """The cached page, if still valid for *content* and the site's *urls*."""
        if self.folder is None:
            return None
        try:
            with self._path(src_uri).open("rb") as fh:
                entry: Entry = pickle.load(fh)
        except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError,
                TypeError, ValueError):
            self.misses += 1
            return None
        valid = (entry.content == content and entry.key == self.key and
                 all(urls.get(c) == url for c, url in entry.lookups.items()))
        if not valid:
            self.misses += 1
            return None
        self.hits += 1
        return entry.page

    def put(self, page: Page, content: str, lookups: dict[str, str | None]) -> None:
        if self.folder is None:
            return
        entry = Entry(content, self.key, lookups, page)
        target = self._path(page.src_uri)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(entry, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
        except OSError as exc:
            log.debug("Cannot write cache entry for %s: %s", page.src_uri, exc)
