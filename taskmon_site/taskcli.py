"""``taskmon-site task …``: list, show, create and change task files from the shell.

Tasks are found the way the site finds them (the config's task globs), read
with the config's own spellings of fields, statuses and roles, and changed
through :mod:`taskmon_site.taskedit`, so an edit touches only the values it
means to and writes them in the file's own vocabulary. A command that changes
several tasks checks every one before writing any. The site is never written
from here.

Exit codes: 0 done; 1 a file changed on disk meanwhile (retry); 2 a bad id,
status, role or transition, or a hand-off of a finished task without --force —
nothing was written.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable
from zoneinfo import ZoneInfo

import wcwidth

from taskmon_site import taskedit as te
from taskmon_site import vocab
from taskmon_site.config import Config
from taskmon_site.model import Task
from taskmon_site.reading import read_file
from taskmon_site.source import Parsed, decode, preamble_fields, split_front_matter

__all__ = [
    "BatchError", "Changed", "Edit", "SHOWN_FIELDS", "Shown", "StaleError", "TaskCatalog",
    "TaskLookupError", "add_task_arguments", "canonical_role", "canonical_status",
    "change_tasks", "check_shown", "comment_edit", "edit_time", "handoff_edit", "now",
    "reason", "run_task", "shown_fields", "status_edit", "task_folder",
]

log = logging.getLogger(__name__)

#: An edit of one task file, as taskedit's functions make them.
Edit = Callable[[te.TaskFile], te.TaskFile]


def now() -> datetime:
    """The current instant, in the machine's local zone (a seam for tests)."""
    return datetime.now().astimezone()


def edit_time(zone: str = "") -> datetime:
    """The time an edit is dated with: :func:`now`, as wall time in *zone* when given.

    *zone* is the site's ``timezone``, the zone the site reads dates without an
    offset in; a date with an offset gets this instant in its own offset.
    """
    current = now()
    return current.astimezone(ZoneInfo(zone)) if zone else current


# -- errors ---------------------------------------------------------------------

class TaskLookupError(te.EditError):
    """Ids that name no task, or more than one task file."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()) -> None:
        self.missing = missing
        super().__init__(None, message)


class BatchError(te.EditError):
    """Some tasks of one command cannot be changed as asked, so none was."""

    def __init__(self, failures: list[tuple[Task, te.EditError]]) -> None:
        self.failures = failures
        super().__init__(None, "; ".join(f"{t.id}: {reason(e)}" for t, e in failures))

    @property
    def conflict(self) -> bool:
        return any(isinstance(e, te.ConflictError) for _, e in self.failures)


def reason(exc: te.EditError) -> str:
    """An edit error's message without the absolute path taskedit puts first."""
    text = str(exc)
    return text.removeprefix(f"{exc.path}: ") if exc.path is not None else text


# -- finding and reading tasks ----------------------------------------------------

class TaskCatalog:
    """The task files of a source tree, found like the site finds them, read on demand."""

    def __init__(self, config: Config) -> None:
        from taskmon_site.build import SiteBuilder

        self.config = config
        #: How the repository spells fields, statuses and roles, for taskedit.
        self.spellings = te.Spellings.from_config(config)
        # The site's own discovery and reading, so files and fields match the pages.
        self._builder = SiteBuilder(config)
        #: src_uri → task, not read yet.
        self.tasks: dict[str, Task] = self._builder.discover()

    def read(self, tasks: list[Task]) -> list[Task]:
        """*tasks* with every field read from their files, as their pages show them."""
        return self._builder.read_pages(tasks)  # type: ignore[return-value]

    def read_all(self) -> list[Task]:
        """Every task, read, in the site's order."""
        tasks = self.read(list(self.tasks.values()))
        return sorted(tasks, key=lambda t: (t.id.casefold(), t.src_uri))

    def find(self, ids: Iterable[str]) -> list[Task]:
        """The task of each id, src_uri or path to its file, in order; each task once.

        A path may start at the current folder or at the repository, as a shell
        completes it (``./ai/tasks/t1.md``), or be absolute.
        """
        wanted = list(dict.fromkeys(ids))
        by_id = self._by_id()
        matches = {ident: self._matches(ident, by_id) for ident in wanted}
        missing = [ident for ident, same in matches.items() if not same]
        if missing:
            names = ", ".join(repr(i) for i in missing)
            noun = "id" if len(missing) == 1 else "ids"
            raise TaskLookupError(f"unknown task {noun} {names}", tuple(missing))
        found: list[Task] = []
        for ident, same in matches.items():
            if len(same) > 1:
                files = ", ".join(t.src_uri for t in same)
                raise TaskLookupError(f"task id {ident!r} is in several files ({files}); "
                                      f"name the file instead")
            if same[0] not in found:
                found.append(same[0])
        return found

    def _matches(self, ident: str, by_id: dict[str, list[Task]]) -> list[Task]:
        if ident in self.tasks:
            return [self.tasks[ident]]
        if ident in by_id:
            return by_id[ident]
        task = self._by_path(ident)
        return [task] if task else []

    def _by_path(self, ident: str) -> Task | None:
        path = Path(ident)
        candidates = [path] if path.is_absolute() else [Path.cwd() / path,
                                                       self.config.source_dir / path]
        files = {Path(t.abs_src_path).resolve(): t for t in self.tasks.values()}
        for candidate in candidates:
            try:
                resolved = candidate.resolve()
            except (OSError, RuntimeError, ValueError):  # a loop, a NUL byte
                continue
            if resolved in files:
                return files[resolved]
        return None

    def _by_id(self) -> dict[str, list[Task]]:
        # Only front matter is read here: a full read renders Markdown (slow).
        by_id: dict[str, list[Task]] = {}
        for task in self.tasks.values():
            task.id = task.id or _task_id(task, self.config)
            by_id.setdefault(task.id, []).append(task)
        return by_id


def _task_id(task: Task, config: Config) -> str:
    """The id the site gives *task*: its id field, else the file name's stem."""
    parsed, _ = read_file(task.abs_src_path, task.src_uri)
    meta = _fields_of(parsed)
    for key in config.field_keys("id"):
        if key in meta and meta[key] is not None:
            value = meta[key]
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            return text.strip() or Path(task.src_uri).stem
    return Path(task.src_uri).stem


def _fields_of(parsed: Parsed) -> dict[str, object]:
    """The fields of a file as the site reads them: front matter, else ``key: value`` lines."""
    if parsed.has_front_matter:
        return parsed.meta
    return {key: value for key, (value, _) in preamble_fields(parsed.body).items()}


# -- what a page showed ---------------------------------------------------------------

#: What a page shows of a task that an action from it depends on; the stamp is
#: the updated date as written, else the created one (the page's ``data-stamp``).
SHOWN_FIELDS = ("status", "current_role", "next_role", "stamp")
_SHOWN_WORDS = {"status": "status", "current_role": "current role",
                "next_role": "next role", "stamp": "updated date"}

#: Field → the value a page showed: an id (None: none or unknown), or the stamp.
Shown = dict[str, str | None]


class StaleError(te.ConflictError):
    """The file no longer says what the page changing it showed."""


def shown_fields(tf: te.TaskFile, config: Config) -> Shown:
    """:data:`SHOWN_FIELDS` of a file's bytes, read as its page shows them."""
    src_uri = Path(tf.path).name
    meta = _fields_of(split_front_matter(decode(tf.to_bytes(), src_uri).text, src_uri))

    def raw(name: str) -> str:
        key = next((k for k in config.field_keys(name) if k in meta), None)
        value = meta.get(key) if key else None
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return "" if value is None else str(value).strip()

    status, current, after = raw("status"), raw("current_role"), raw("next_role")
    return {
        "status": vocab.canonical_status(status, config.statuses) if status else None,
        "current_role": vocab.canonical_role(current, config.roles) if current else None,
        "next_role": vocab.canonical_role(after, config.roles) if after else None,
        "stamp": raw("updated") or raw("created"),
    }


def check_front_matter(tf: te.TaskFile) -> None:
    """Refuse to change a file whose front matter cannot be read: what its fields say,
    and so what a change of one means, is not known."""
    name = Path(tf.path).name
    parsed = split_front_matter(decode(tf.to_bytes(), name).text, name)
    error = next((p for p in parsed.problems if p.level == "error"), None)
    if error is not None:
        where = f"line {error.line}: " if error.line else ""
        raise te.EditError(tf.path, f"{where}{error.message}; fix it by hand first")


def check_shown(tf: te.TaskFile, config: Config, shown: Shown) -> None:
    """Refuse to change a file whose status, roles or stamp differ from what a page showed."""
    now = shown_fields(tf, config)
    differences = [f"{_SHOWN_WORDS[name]} is now {now[name] or 'none'}, "
                   f"not {value or 'none'}"
                   for name, value in shown.items() if (now[name] or None) != (value or None)]
    if differences:
        raise StaleError(tf.path, "changed since the page showed it: " + "; ".join(differences))


# -- changing tasks -------------------------------------------------------------------

@dataclass
class Changed:
    """What one command did: its tasks as now on disk, and which needed no change."""

    tasks: list[Task]
    #: src_uris of the tasks whose files were left as they were (already so).
    unchanged: frozenset[str] = frozenset()


def change_tasks(
    catalog: TaskCatalog, ids: Iterable[str], edit: Edit,
    shown: dict[str, Shown] | None = None,
) -> Changed:
    """Apply *edit* to the task of every id, or to none.

    Every file is read and edited in memory first; any failure raises
    :class:`BatchError` before a byte is written. Should a write then fail
    (the file changed meanwhile), the files already written are put back.
    *shown* maps ids to what a page showed of their tasks: a file that no
    longer says so fails with :class:`StaleError` (see :func:`check_shown`).
    """
    tasks = catalog.find(ids)
    expected = {catalog.find([ident])[0].src_uri: seen for ident, seen in (shown or {}).items()}
    planned, failures = [], []
    for task in tasks:
        try:
            original = _read_task_file(task, catalog.spellings)
            check_front_matter(original)
            if task.src_uri in expected:
                check_shown(original, catalog.config, expected[task.src_uri])
            edited = edit(original)
            if edited.modified:
                te.check_writable(original.path)
            planned.append((task, original, edited))
        except te.EditError as exc:
            failures.append((task, exc))
    if failures:
        raise BatchError(failures)
    _write_all(planned)
    unchanged = frozenset(task.src_uri for task, _, edited in planned if not edited.modified)
    return Changed(catalog.read(tasks), unchanged)


def _read_task_file(task: Task, spellings: te.Spellings) -> te.TaskFile:
    try:
        return te.read_task_file(task.abs_src_path, spellings)
    except FileNotFoundError:
        raise te.ConflictError(task.abs_src_path, "was deleted since it was listed") from None
    except OSError as exc:
        raise te.EditError(task.abs_src_path, f"cannot read: {exc.strerror}") from None


def _write_all(planned: list[tuple[Task, te.TaskFile, te.TaskFile]]) -> None:
    written: list[tuple[te.TaskFile, te.TaskFile]] = []
    for task, original, edited in planned:
        try:
            written.append((original, te.write_task_file(edited)))
        except (te.EditError, OSError) as exc:
            _roll_back(written)
            if isinstance(exc, OSError):
                exc = te.EditError(edited.path, f"cannot write: {exc.strerror}")
            raise BatchError([(task, exc)]) from None


def _roll_back(written: list[tuple[te.TaskFile, te.TaskFile]]) -> None:
    """Put back the bytes of files already written, unless changed again since."""
    for original, now_on_disk in reversed(written):
        try:
            te.write_task_file(replace(original, digest=now_on_disk.digest))
        except (te.EditError, OSError) as exc:
            log.error("%s: could not undo the change: %s", original.path, exc)


def status_edit(status: str, force: bool = False, zone: str = "") -> Edit:
    return lambda tf: te.set_status(tf, status, force, now=edit_time(zone))


def handoff_edit(to: str | None = None, force: bool = False, zone: str = "") -> Edit:
    return lambda tf: te.handoff(tf, to, force=force, now=edit_time(zone))


def comment_edit(text: str, author: str | None = None, zone: str = "") -> Edit:
    return lambda tf: te.add_comment(tf, text, author, now=edit_time(zone))


def canonical_status(config: Config, value: str) -> str:
    """The status id for any known spelling (config's own included)."""
    found = vocab.canonical_status(value, config.statuses)
    if found is None:
        raise te.UnknownStatusError(
            None, f"unknown status {value!r}; expected one of: {', '.join(vocab.STATUS_IDS)}")
    return found


def canonical_role(config: Config, value: str) -> str:
    """The role id for any known spelling (config's own included)."""
    found = vocab.canonical_role(value, config.roles)
    if found is None:
        raise te.UnknownRoleError(
            None, f"unknown role {value!r}; expected one of: {', '.join(vocab.ROLE_IDS)}")
    return found


def task_folder(config: Config) -> Path:
    """Where new tasks go: the folder part of the first task glob that finds a file there.

    Raises :class:`~taskmon_site.taskedit.EditError` when no glob would find
    it (there are none, say, in a repository of docs only): a file written
    anyway would not be a task of the site.
    """
    from taskmon_site.globs import glob_match

    for pattern in config.tasks:
        parts = list(itertools.takewhile(lambda part: not any(c in part for c in "*?["),
                                         pattern.split("/")[:-1]))
        # Named like the files `new` writes: task_<date>_<time>_<8 hex digits>.md.
        if glob_match("/".join([*parts, "task_20000101_000000_0badc0de.md"]), pattern):
            return config.source_dir.joinpath(*parts)
    where = config.config_file.name if config.config_file else "the configuration"
    if not config.tasks:
        raise te.EditError(None, f"no task folder: {where} sets tasks = [], so a new file "
                                 f"would not be a task of the site; add a task glob first")
    raise te.EditError(None, f"no task glob ({', '.join(config.tasks)}) finds a file put "
                             f"into its folder; add one such as \"tasks/*.md\"")


# -- the command line -------------------------------------------------------------------

def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``task`` subcommands. Dests avoid config flag names (title, lang, …)."""
    commands = parser.add_subparsers(dest="task_command", required=True, metavar="ACTION")

    listing = commands.add_parser("list", help="list tasks")
    listing.add_argument("--status", dest="filter_status", metavar="S",
                         help="only tasks with this status (id or label)")
    listing.add_argument("--role", dest="filter_role", metavar="R",
                         help="only tasks this role holds now (id or label)")
    listing.add_argument("--json", action="store_true", help="JSON records, as in tasks.json")

    show = commands.add_parser("show", help="show one task")
    show.add_argument("task_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="a JSON record, as in tasks.json")

    new = commands.add_parser("new", help="create a task file in the first task folder")
    new.add_argument("task_title", metavar="TITLE")
    new.add_argument("--lang", dest="task_lang", choices=("zh", "en"),
                     help="front matter keys and headings (default: the site language)")

    status = commands.add_parser("status", help="change the status of one or more tasks")
    status.add_argument("task_ids", nargs="+", metavar="ID")
    status.add_argument("new_status", metavar="STATUS")
    status.add_argument("--force", action="store_true",
                        help="allow a change the lifecycle does not allow")

    handoff = commands.add_parser("handoff", help="the next role takes over the task")
    handoff.add_argument("task_id", metavar="ID")
    handoff.add_argument("--to", dest="handoff_to", metavar="ROLE",
                         help="the role after that (default: the workflow's next)")
    handoff.add_argument("--force", action="store_true",
                         help="hand off a task whose status is final (completed, cancelled)")

    comment = commands.add_parser("comment", help="add a dated comment to a task")
    comment.add_argument("task_id", metavar="ID")
    comment.add_argument("comment_text", metavar="TEXT")
    comment.add_argument("--author", metavar="NAME")


def run_task(args: argparse.Namespace, config: Config) -> int:
    """Run one ``task`` subcommand; the exit code."""
    command = _COMMANDS[args.task_command]
    try:
        command(args, config)
    except BatchError as exc:
        for task, error in exc.failures:
            log.error("%s (%s): %s", task.id, task.src_uri, _with_hint(error))
        return _failed(args, exc.conflict)
    except te.EditError as exc:
        log.error("%s", _with_hint(exc))
        return _failed(args, isinstance(exc, te.ConflictError))
    return 0


def _failed(args: argparse.Namespace, conflict: bool) -> int:
    if conflict:
        log.error("Nothing was changed: a task file changed on disk meanwhile; retry")
        return 1
    if args.task_command not in ("list", "show"):
        log.error("Nothing was changed")
    return 2


def _with_hint(exc: te.EditError) -> str:
    text = reason(exc)
    if isinstance(exc, te.TransitionError):
        text = text.replace("use force", "use --force")
    return text


def _list(args: argparse.Namespace, config: Config) -> None:
    status = canonical_status(config, args.filter_status) if args.filter_status else None
    role = canonical_role(config, args.filter_role) if args.filter_role else None
    tasks = [t for t in TaskCatalog(config).read_all()
             if (status is None or t.status == status)
             and (role is None or t.current_role == role)]
    if args.json:
        _print_json([t.to_json() for t in tasks])
        return
    rows = [("ID", "STATUS", "ROLE → NEXT", "TITLE")]
    rows += [tuple(map(_shown, (t.id, _status_text(t), _roles_text(t), t.title)))
             for t in tasks]
    widths = [max(_columns(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell + " " * (width - _columns(cell)) for cell, width in zip(row, widths)]
        print("  ".join([*cells, row[3]]).rstrip())


#: Control characters (C0, DEL, C1) → how a terminal is shown them: escaped, so that
#: a value from a file can neither break a line nor send the terminal a command.
_CONTROLS = {c: repr(chr(c))[1:-1] for c in [*range(0x20), *range(0x7f, 0xa0)]}


def _shown(text: str) -> str:
    """*text* for the terminal, its control characters escaped (``\\n``, ``\\x1b``)."""
    return text.translate(_CONTROLS)


def _columns(text: str) -> int:
    """Columns *text* takes in a terminal: a Chinese character takes two."""
    width = wcwidth.wcswidth(text)
    return width if width >= 0 else len(text)  # -1: a control character in it


def _status_text(task: Task) -> str:
    return task.status or (f"{task.status_raw}?" if task.status_raw else "-")


def _role_text(role: str | None, raw: str) -> str:
    return role or (f"{raw}?" if raw else "-")


def _roles_text(task: Task) -> str:
    return (f"{_role_text(task.current_role, task.current_role_raw)} → "
            f"{_role_text(task.next_role, task.next_role_raw)}")


def _show(args: argparse.Namespace, config: Config) -> None:
    catalog = TaskCatalog(config)
    task, = catalog.read(catalog.find([args.task_id]))
    if args.json:
        _print_json(task.to_json())
        return
    allowed = vocab.TRANSITIONS.get(task.status or "", ())
    # A task without a status may take any (taskedit allows it, as the preview does).
    unset = not task.status and not task.status_raw
    fields = [
        ("status", _status_text(task)),
        ("roles", _roles_text(task)),
        ("next statuses", "any (no status yet)" if unset else ", ".join(allowed) or "-"),
        ("created", task.created_raw or "-"),
        ("updated", task.updated_raw or "-"),
        ("completed", task.completed_raw or "-"),
        ("progress", f"{task.progress.done}/{task.progress.total}"),
        ("work log", f"{len(task.worklog)} entr{'y' if len(task.worklog) == 1 else 'ies'}"),
        ("file", task.src_uri),
    ]
    print(_shown(task.id))
    print(_shown(task.title))
    for name, value in fields:
        print(f"  {name + ':':<15}{_shown(value)}")


def _new(args: argparse.Namespace, config: Config) -> None:
    folder = task_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = te.create_task(folder, args.task_title, args.task_lang or config.lang,
                          edit_time(config.timezone))
    print(_display(path))


def _display(path: Path) -> str:
    """*path* relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _status(args: argparse.Namespace, config: Config) -> None:
    catalog = TaskCatalog(config)
    target = canonical_status(config, args.new_status)
    before = {t.src_uri: t.status for t in catalog.read(catalog.find(args.task_ids))}
    edit = status_edit(target, args.force, config.timezone)
    changed = change_tasks(catalog, args.task_ids, edit)
    for task in changed.tasks:
        if task.src_uri in changed.unchanged:
            print(f"{_shown(task.id)}: already {task.status}; nothing to change")
        else:
            print(f"{_shown(task.id)}: {before[task.src_uri] or '-'} → {task.status}")


def _handoff(args: argparse.Namespace, config: Config) -> None:
    to = canonical_role(config, args.handoff_to) if args.handoff_to else None
    edit = handoff_edit(to, args.force, config.timezone)
    task, = change_tasks(TaskCatalog(config), [args.task_id], edit).tasks
    print(_shown(f"{task.id}: {_roles_text(task)}"))


def _comment(args: argparse.Namespace, config: Config) -> None:
    edit = comment_edit(args.comment_text, args.author, config.timezone)
    task, = change_tasks(TaskCatalog(config), [args.task_id], edit).tasks
    print(f"{_shown(task.id)}: comment added")


def _print_json(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=1))


_COMMANDS: dict[str, Callable[[argparse.Namespace, Config], None]] = {
    "list": _list, "show": _show, "new": _new, "status": _status,
    "handoff": _handoff, "comment": _comment,
}
