"""Watch source directories and report the paths whose change matters.

Directories are watched rather than single files because editors rarely
modify a file in place: an atomic save writes a temporary file and renames it
over the original, and vim's backup-write renames the original away before
writing a new one. Either way the file's own watch would be lost; the
directory's is not.

A folder is watched recursively only when no skipped folder (``.git``, any
other dot-folder, ``node_modules``…) lies below it; above one, each folder is
watched on its own and its other subfolders recursively, so the thousands of
folders in ``.git/objects`` get no watches. A folder created later in such a
folder is watched as it appears.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
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


def is_skipped_dir(name: str) -> bool:
    """Is a folder of this name never watched inside a watched folder?"""
    return name.startswith(".") or name in _SKIPPED_DIRS


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
            # per file; a created folder's files do get their own events, but
            # the folder itself may be awaited (a theme folder the config names).
            if event.event_type == "created":
                return self.is_relevant(path)
            return event.event_type in ("deleted", "moved")
        return self.is_relevant(path)

    def matters(self, path: Path) -> bool:
        """Does a change to the file *path* (found by a scan, not an event) matter?"""
        return not is_editor_temp(path) and not self._is_excluded(path) and \
            self.is_relevant(path)

    def _is_excluded(self, path: Path) -> bool:
        if _SKIPPED_DIRS.intersection(path.parts):
            return True
        return any(path.is_relative_to(root) for root in self.exclude)


class _Handler(FileSystemEventHandler):
    def __init__(
        self, changes: ChangeFilter, on_change: Callable[[set[Path]], None],
        on_folder: Callable[[FileSystemEvent], None] | None = None,
    ) -> None:
        self.changes = changes
        self.on_change = on_change
        #: Told of every folder event first (the watcher follows new folders).
        self.on_folder = on_folder

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory and self.on_folder is not None:
            self.on_folder(event)
        paths = self.changes.paths_of(event)
        if paths:
            logger.debug("%s: %s", event.event_type, ", ".join(map(str, sorted(paths))))
            self.on_change(paths)


class SourceWatcher:
    """Watch directories (and all below, skipped folders aside); pass relevant changes on.

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
        self.on_change = on_change
        self.changes = changes
        self._handler = _Handler(changes, on_change, self._follow_folder)
        self._observer: Observer | None = None
        #: Folders watched without their subfolders → their subfolders' watches.
        self._shallow: dict[Path, dict[Path, list[object]]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        _quiet_watchdog()
        observer = Observer()
        with self._lock:
            self._observer = observer
            self._shallow = {}
            for folder in self.dirs:
                self._schedule(folder)
        observer.start()

    def stop(self) -> None:
        # Not joined under the lock: the observer's thread may be waiting for it.
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join()

    def restart(self, dirs: Iterable[Path]) -> None:
        """Watch *dirs* instead, if they differ (e.g. the config's globs changed)."""
        roots = watch_roots(dirs)
        if roots != self.dirs:
            logger.debug("Watched folders changed")
            self.stop()
            self.dirs = roots
            self.start()

    def _schedule(self, folder: Path) -> list[object]:
        """Watch *folder* per :func:`watch_plan`; the watches made."""
        watches = []
        for each, recursive in watch_plan(folder):
            try:
                watches.append(self._observer.schedule(  # type: ignore[union-attr]
                    self._handler, str(each), recursive=recursive))
            except OSError as exc:  # gone meanwhile, or no watches left
                logger.debug("Cannot watch %s: %s", each, exc)
                continue
            if not recursive:
                self._shallow.setdefault(each, {})
            logger.debug("Watching %s%s", each, "" if recursive else " (not its subfolders)")
        return watches

    def _follow_folder(self, event: FileSystemEvent) -> None:
        """Watch a folder that appears in a folder watched on its own; forget one that goes."""
        gone = [event.src_path] if event.event_type in ("deleted", "moved") else []
        came = [event.dest_path if event.event_type == "moved" else event.src_path] \
            if event.event_type in ("created", "moved") else []
        with self._lock:
            if self._observer is None:
                return
            for end in gone:
                self._forget(Path(os.fsdecode(end)))
            for end in came:
                self._adopt(Path(os.fsdecode(end)))

    def _adopt(self, folder: Path) -> None:
        children = self._shallow.get(folder.parent)
        if children is None or folder in children or is_skipped_dir(folder.name):
            return
        children[folder] = self._schedule(folder)
        # Files made before the watch was in place had no event: report them.
        paths = {path for path in _files_below(folder) if self.changes.matters(path)}
        if paths:
            self.on_change(paths)

    def _forget(self, folder: Path) -> None:
        children = self._shallow.get(folder.parent)
        for watch in (children or {}).pop(folder, []):
            try:
                self._observer.unschedule(watch)  # type: ignore[union-attr, arg-type]
            except (KeyError, OSError):
                pass  # its emitter already stopped with the folder
        for each in [f for f in self._shallow if f == folder or f.is_relative_to(folder)]:
            del self._shallow[each]


def _files_below(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not is_skipped_dir(d)]
        yield from (Path(root) / name for name in files)


def watch_roots(dirs: Iterable[Path]) -> list[Path]:
    """The folders to watch: existing, absolute, none inside another.

    A folder inside a skipped part of another (``.theme`` in the repository)
    stays a root of its own: watching the other does not cover it.
    """
    found = {_existing(Path(d).absolute()) for d in dirs}
    roots: list[Path] = []
    for folder in sorted(f for f in found if f is not None):
        if not any(_covers(root, folder) for root in roots):
            roots.append(folder)
    return roots


def _covers(root: Path, folder: Path) -> bool:
    return folder.is_relative_to(root) and not any(
        is_skipped_dir(part) for part in folder.relative_to(root).parts)


def watch_plan(root: Path) -> list[tuple[Path, bool]]:
    """(folder, recursive) pairs that watch *root* and all below it but skipped folders."""
    try:
        children = sorted(c for c in root.iterdir() if c.is_dir())
    except OSError:
        return [(root, True)]
    kept = [c for c in children if not is_skipped_dir(c.name)]
    # A linked folder is watched whole, never walked: it may lead back up the tree.
    plans = [[(c, True)] if c.is_symlink() else watch_plan(c) for c in kept]
    if len(kept) == len(children) and all(plan == [(c, True)] for plan, c in zip(plans, kept)):
        return [(root, True)]
    return [(root, False), *(pair for plan in plans for pair in plan)]


def _quiet_watchdog() -> None:
    """Keep watchdog's inotify warnings off the terminal.

    When a folder appears twice to it (``mkdir -p a/b`` under a recursive
    watch), watchdog warns "Callback with id … already exists for watch …"
    and prints every watch it holds, kilobytes of them; the watch is simply
    reused, so nothing is wrong.
    """
    warnings.filterwarnings("ignore", message=r"Callback with id .* for watch",
                            category=RuntimeWarning, module=r"watchdog\.")


def _existing(folder: Path) -> Path | None:
    """*folder*, or its nearest existing parent so that creating it is seen."""
    # TODO: a missing folder falls back to its parent, which may be far larger
    # than the folder itself (a missing docs/ makes the whole repository watched).
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return None if candidate == Path(candidate.anchor) else candidate
    return None
