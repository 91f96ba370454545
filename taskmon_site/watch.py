"""Watch source directories and report the paths whose change matters.

Directories are watched rather than single files because editors rarely
modify a file in place: an atomic save writes a temporary file and renames it
over the original, and vim's backup-write renames the original away before
writing a new one. Either way the file's own watch would be lost; the
directory's is not.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

logger = logging.getLogger(__name__)

#: Names editors and tools write next to the file being saved.
_EDITOR_TEMP = re.compile(
    r"""
      .*\.sw[a-p]$            # vim swap files: .swp, .swo, ... .swa
    | .*\.swx$                # vim probe for a writable swap directory
    | .*~$                    # backup copies (vim, emacs, gedit)
    | \d+$                    # vim's write probe: 4913, 5036, ...
    | \.\#.*                  # emacs lock link
    | \#.*\#$                 # emacs auto-save
    | .*\.(tmp|temp|bak|orig|rej|crswap)$
    | .*___jb_(tmp|old|bak)___$   # JetBrains safe write
    | \.goutputstream-.*      # GTK (gedit) atomic save
    | \.~lock\..*\#$          # LibreOffice lock
    | .*\.kate-swp$
    | sed[A-Za-z0-9]{6}$      # sed -i
    | \.DS_Store$ | Thumbs\.db$ | desktop\.ini$
    """,
    re.VERBOSE | re.IGNORECASE,
)

#: Directories whose content is never site input, however the globs read.
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__"})

#: Event types that can change what a path contains (not opened/closed-unread).
_CHANGE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed", "attrib"})


def is_editor_temp(path: Path) -> bool:
    """Is *path* a swap, backup or temporary file an editor or tool writes?"""
    return _EDITOR_TEMP.match(path.name) is not None


class ChangeFilter:
    """Decide which paths of a file-system event are worth a rebuild."""

    def __init__(
        self, is_relevant: Callable[[Path], bool], exclude: Iterable[Path] = ()
    ) -> None:
        self.is_relevant = is_relevant
        self.exclude = tuple(Path(p) for p in exclude)

    def paths_of(self, event: FileSystemEvent) -> set[Path]:
        """The paths of *event* that matter; a move yields both of its ends."""
        if event.event_type not in _CHANGE_EVENTS:
            return set()
        ends = [event.src_path]
        if event.event_type == "moved":
            ends.append(event.dest_path)
        paths = {Path(os.fsdecode(end)) for end in ends if end}
        return {p for p in paths if self._matters(p, event)}

    def _matters(self, path: Path, event: FileSystemEvent) -> bool:
        if is_editor_temp(path) or self._is_excluded(path):
            return False
        if event.is_directory:
            # A folder moved or deleted takes its files along without an event
            # per file; a created folder's files do get their own events.
            return event.event_type in ("deleted", "moved")
        return self.is_relevant(path)

    def _is_excluded(self, path: Path) -> bool:
        if _SKIPPED_DIRS.intersection(path.parts):
            return True
        return any(path.is_relative_to(root) for root in self.exclude)


class _Handler(FileSystemEventHandler):
    def __init__(self, changes: ChangeFilter, on_change: Callable[[set[Path]], None]):
        self.changes = changes
        self.on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = self.changes.paths_of(event)
        if paths:
            logger.debug("%s: %s", event.event_type, ", ".join(map(str, sorted(paths))))
            self.on_change(paths)


class SourceWatcher:
    """Watch directories recursively and pass relevant changed paths on.

    *on_change* is called on the watcher's thread with a set of absolute
    paths: changed, created, deleted, or either end of a rename.
    """

    def __init__(
        self,
        dirs: Iterable[Path],
        on_change: Callable[[set[Path]], None],
        changes: ChangeFilter,
    ) -> None:
        self.dirs = watch_roots(dirs)
        self._handler = _Handler(changes, on_change)
        self._observer: Observer | None = None

    def start(self) -> None:
        observer = Observer()
        for folder in self.dirs:
            observer.schedule(self._handler, str(folder), recursive=True)
            logger.debug("Watching %s", folder)
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
            self._observer = None

    def restart(self, dirs: Iterable[Path]) -> None:
        """Watch *dirs* instead, if they differ (e.g. the config's globs changed)."""
        roots = watch_roots(dirs)
        if roots != self.dirs:
            logger.debug("Watched folders changed")
            self.stop()
            self.dirs = roots
            self.start()


def watch_roots(dirs: Iterable[Path]) -> list[Path]:
    """The folders to watch: existing, absolute, none inside another."""
    found = {_existing(Path(d).absolute()) for d in dirs}
    roots: list[Path] = []
    for folder in sorted(f for f in found if f is not None):
        if not any(folder.is_relative_to(r) for r in roots):
            roots.append(folder)
    return roots


def _existing(folder: Path) -> Path | None:
    """*folder*, or its nearest existing parent so that creating it is seen."""
    # TODO: a missing folder falls back to its parent, which may be far larger
    # than the folder itself (a missing docs/ makes the whole repository watched).
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return None if candidate == Path(candidate.anchor) else candidate
    return None
