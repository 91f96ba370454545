"""What the last build of an output folder read and wrote, kept between runs.

A build compares every source file's size and modification time with the
state: an unchanged file is not read again, its slim page (what the index
pages need) comes from here, and an output page whose inputs did not change
is not rendered again. The state lives in one SQLite file in the cache
folder, so a rebuild updates only the rows of what changed.

The state is only a shortcut: when it is missing, unreadable or written by
another version, the build reads everything, with the same result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import pickle
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from taskmon_site.model import Doc, Page
from taskmon_site.render import Fragments

log = logging.getLogger(__name__)

#: Bump when the shape of what is stored changes.
FORMAT = 5
#: Bytes of write-ahead log kept once it was copied into the database.
WAL_LIMIT = 8 * 1024 * 1024


@dataclass
class Source:
    """One source file as the last build saw it."""

    kind: str
    mtime_ns: int
    size: int
    digest: str
    #: The slim page read from it.
    page: Page
    #: Its entry in ``tasks.json`` (see ``render.task_json``; tasks only).
    json: bytes = b""
    #: Its list row, board card and data.js record (tasks only).
    fragments: Fragments | None = None


@dataclass
class Output:
    """One written output file: the key of its inputs and the hash of its bytes."""

    key: str
    digest: str


def _stored(page: Page) -> Page:
    """*page* without what indexing fills in again (a doc's backlinks: other pages)
    and without its path (the source folder / src_uri, cheaper to build again)."""
    if isinstance(page, Doc):
        return dataclasses.replace(page, referenced_by=[], abs_src_path=None)
    return dataclasses.replace(page, abs_src_path=None)


def state_file(cache_dir: Path, output_dir: Path) -> Path:
    name = hashlib.blake2b(str(output_dir).encode("utf-8"), digest_size=10).hexdigest()
    return cache_dir / "sites" / f"{name}.sqlite"


class BuildState:
    """The SQLite file of one output folder; every failure just means "no state"."""

    def __init__(self, path: Path | None, key: str) -> None:
        self.path = path
        self.key = key
        self.db: sqlite3.Connection | None = None
        if path is not None:
            self.db = self._open(path)
        #: What a build with this state leaves in the output folder (see
        #: ``build.OUTPUT_MARK``): the state is about that folder only while it is there.
        #: Empty without a state.
        self.mark = "" if self.db is None else hashlib.blake2b(
            f"{FORMAT}\0{path}\0{key}".encode("utf-8"), digest_size=12).hexdigest()

    def _open(self, path: Path, again: bool = True) -> sqlite3.Connection | None:
        db = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One build at a time, but the preview server runs them on other threads.
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            # A first build writes all pages at once; the log keeps no such size after.
            db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            db.executescript(
                "CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value BLOB);"
                "CREATE TABLE IF NOT EXISTS sources (src_uri TEXT PRIMARY KEY, kind TEXT,"
                " mtime_ns INTEGER, size INTEGER, digest TEXT, page BLOB, json BLOB);"
                "CREATE TABLE IF NOT EXISTS outputs (url TEXT PRIMARY KEY, key TEXT,"
                " digest TEXT);")
            stored = db.execute("SELECT value FROM info WHERE name = 'key'").fetchone()
            if stored is None or stored[0] != f"{FORMAT}:{self.key}":
                self._clear(db)
            return db
        except sqlite3.DatabaseError as exc:
            if db is not None:
                db.close()
            # Not a database, or a damaged one (not locked or read-only): made anew.
            if again and not isinstance(exc, sqlite3.OperationalError):
                log.warning("Build state %s unreadable (%s): made anew", path, exc)
                for name in (path.name, path.name + "-wal", path.name + "-shm"):
                    with contextlib.suppress(OSError):
                        (path.parent / name).unlink()
                return self._open(path, again=False)
            log.debug("No build state in %s: %s", path, exc)
            return None
        except OSError as exc:
            log.debug("No build state in %s: %s", path, exc)
            return None

    def _clear(self, db: sqlite3.Connection) -> None:
        with db:
            db.execute("BEGIN")
            for table in ("info", "sources", "outputs"):
                db.execute(f"DELETE FROM {table}")
            db.execute("INSERT INTO info VALUES ('key', ?)", (f"{FORMAT}:{self.key}",))

    # -- reading ---------------------------------------------------------------------

    def stats(self) -> dict[str, tuple[int, int, str]]:
        """src_uri → (mtime_ns, size, digest) of every source of the last build."""
        rows = self._query("SELECT src_uri, mtime_ns, size, digest FROM sources")
        return {uri: (mtime, size, digest) for uri, mtime, size, digest in rows}

    def sources(self) -> dict[str, Source]:
        """Every source of the last build with its slim page; {} when unreadable."""
        found = {}
        rows = self._query("SELECT src_uri, kind, mtime_ns, size, digest, page, json "
                           "FROM sources")
        try:
            for uri, kind, mtime, size, digest, blob, text in rows:
                page, fragments = pickle.loads(blob)
                found[uri] = Source(kind, mtime, size, digest, page, text, fragments)
        except (pickle.PickleError, AttributeError, EOFError, ImportError, TypeError,
                ValueError) as exc:
            log.debug("Build state unreadable: %s", exc)
            return {}
        return found

    def outputs(self) -> dict[str, Output]:
        return {url: Output(key, digest)
                for url, key, digest in self._query("SELECT url, key, digest FROM outputs")}

    def info(self, name: str) -> Any:
        rows = self._query("SELECT value FROM info WHERE name = ?", (name,))
        try:
            return pickle.loads(rows[0][0]) if rows else None
        except (pickle.PickleError, EOFError, TypeError, ValueError):
            return None

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        if self.db is None:
            return []
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            log.debug("Build state unreadable: %s", exc)
            return []

    # -- writing ---------------------------------------------------------------------

    def save(self, sources: dict[str, Source], removed: Iterable[str],
             outputs: dict[str, Output], gone: Iterable[str], info: dict[str, Any]) -> bool:
        """Store the changed *sources* and *outputs*, drop *removed* and *gone* ones;
        False when that failed (or there is no state)."""
        if self.db is None:
            return False
        source_rows = [(uri, s.kind, s.mtime_ns, s.size, s.digest,
                        pickle.dumps((_stored(s.page), s.fragments), pickle.HIGHEST_PROTOCOL),
                        s.json) for uri, s in sources.items()]
        try:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany("INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?,?,?)",
                                    source_rows)
                self.db.executemany("DELETE FROM sources WHERE src_uri = ?",
                                    [(u,) for u in removed])
                self.db.executemany("INSERT OR REPLACE INTO outputs VALUES (?,?,?)",
                                    [(u, o.key, o.digest) for u, o in outputs.items()])
                self.db.executemany("DELETE FROM outputs WHERE url = ?", [(u,) for u in gone])
                self.db.executemany("INSERT OR REPLACE INTO info VALUES (?,?)",
                                    [(k, pickle.dumps(v)) for k, v in info.items()])
        except sqlite3.Error as exc:
            log.warning("Could not save the build state in %s: %s", self.path, exc)
            return False
        return True

    def close(self) -> None:
        """Close the file: its write-ahead log is copied into it and removed (left
        open, a process's log stays for the next one to read through)."""
        if self.db is not None:
            self.db.close()
            self.db = None
