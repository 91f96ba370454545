"""Indexing: everything read, turned into what the pages show.

:func:`index_site` runs after every task and doc is read and before any page
is rendered, so counts, the role × status matrix, backlinks and duplicate ids
are computed over the complete site.
"""

from __future__ import annotations

import dataclasses
import heapq
from bisect import bisect_left, insort
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Callable, Iterable, TypeVar
from zoneinfo import ZoneInfo

from taskmon_site import vocab
from taskmon_site.config import Config
from taskmon_site.dates import age_days
from taskmon_site.model import Doc, Page, Task, WorkLogEntry
from taskmon_site.source import Problem

P = TypeVar("P", bound=Page)

#: Statuses that are still moving and so can go stale.
OPEN_STATUSES = ("pending", "in_progress", "paused", "review", "rework")
RECENT_LIMIT = 12
#: Files a duplicate-id problem names; the rest are counted.
DUPLICATES_NAMED = 5
UNKNOWN = "unknown"


@dataclass
class Activity:
    """A work-log entry with its task, for the dashboard's recent activity."""

    task: Task
    entry: WorkLogEntry


@dataclass
class Site:
    """The whole site, indexed; the template context's ``site``."""

    config: Config
    built_at: datetime
    #: Tasks in id order.
    tasks: list[Task]
    #: Docs in path order.
    docs: list[Doc]
    #: status id → number of tasks, in workflow order, "unknown" last.
    counts: dict[str, int]
    #: role id → status id → tasks whose current role it is.
    holders: dict[str, dict[str, list[Task]]]
    #: role id → status id → tasks whose next role it is.
    next_holders: dict[str, dict[str, list[Task]]]
    attention: list[Task]
    recent: list[Task]
    activity: list[Activity]
    problems: list[Problem]
    #: Site-level problems (duplicate ids …), besides those of single files.
    site_problems: list[Problem] = field(default_factory=list)
    #: The problems of single files: each task's in list order, then each doc's.
    file_problems: list[Problem] = field(default_factory=list)
    #: The workflow files tasks name (``flow_file``), sorted.
    flows: list[str] = field(default_factory=list)
    #: Seconds since the epoch when the next open task turns stale (see
    #: :func:`stale_horizon`); before then every task's ``stale`` holds.
    horizon: float = float("inf")
    #: The tasks with the latest work-log entries (at most RECENT_LIMIT, list order):
    #: ``activity`` is chosen from their entries.
    active: list[Task] = field(default_factory=list)

    @property
    def statuses(self) -> list[str]:
        return [s for s in self.counts]

    @property
    def roles(self) -> list[str]:
        return list(self.holders)


def index_site(config: Config, tasks: dict[str, Task], docs: dict[str, Doc],
               built_at: datetime) -> Site:
    ordered = sorted(tasks.values(), key=order_key)
    for task in ordered:
        task.stale = is_stale(task, config, built_at)
    sorted_docs = sorted(docs.values(), key=attrgetter("src_uri"))

    site_problems = _duplicate_ids(ordered)
    _link_docs(ordered, docs)
    active = _top(ordered, attrgetter("activity_key"))
    file_problems = _file_problems(ordered, sorted_docs)
    return Site(
        config=config,
        built_at=built_at,
        tasks=ordered,
        docs=sorted_docs,
        counts=_counts(ordered),
        holders=_matrix(ordered, [t.current_role for t in ordered]),
        next_holders=_matrix(ordered, [t.next_role for t in ordered]),
        attention=[t for t in ordered if needs_attention(t)],
        recent=_top(ordered, attrgetter("updated_key")),
        activity=_activity(active),
        problems=file_problems + site_problems,
        site_problems=site_problems,
        file_problems=file_problems,
        flows=sorted({t.flow for t in ordered if t.flow}),
        horizon=stale_horizon(ordered, config, built_at),
        active=active,
    )


def order_key(task: Task) -> tuple[str, str]:
    """Where *task* goes in the list: by id, then by file."""
    return task.id.casefold(), task.src_uri


def needs_attention(task: Task) -> bool:
    return task.status in vocab.ATTENTION_STATUSES or task.stale


@dataclass
class Update:
    """A site indexed again after some of its pages were read again."""

    site: Site
    #: The tasks whose page or fragments may now differ: those read again and
    #: their neighbours in the list, before and after.
    tasks: list[Task]
    #: The docs read again and those whose backlinks were made again.
    docs: list[Doc]


def update_site(site: Site, tasks: dict[str, Task], docs: dict[str, Doc],
                replaced: dict[str, Page], built_at: datetime) -> Update | None:
    """*site* indexed again after the pages in *replaced* (src_uri → the page object
    that *tasks* or *docs* now hold another one for) were read again at *built_at*
    (their ``stale`` set as of then), looking at those pages only; the result equals
    :func:`index_site`'s.

    *tasks* and *docs* are of the same files as *site*'s (none came or went). None
    when only indexing the whole site gives that result: a page changed kind, or
    *built_at* passed the site's stale horizon (or went back).
    """
    config = site.config
    if not stale_holds(site.built_at, site.horizon, built_at):
        return None
    pairs: list[tuple[Task, Task]] = []
    doc_pairs: list[tuple[Doc, Doc]] = []
    for src_uri, old in replaced.items():
        new = tasks.get(src_uri) if isinstance(old, Task) else docs.get(src_uri)
        if new is None or type(new) is not type(old):
            return None
        if isinstance(new, Task):
            pairs.append((old, new))  # type: ignore[arg-type]
        else:
            doc_pairs.append((old, new))  # type: ignore[arg-type]

    ordered = list(site.tasks)
    touched: dict[str, Task] = {}
    for old, new in pairs:
        at = _position(site.tasks, old, order_key)
        touched.update((t.src_uri, t) for t in site.tasks[max(at - 1, 0):at + 2])
        _replace(ordered, old, new, order_key)
    for _, new in pairs:
        at = _position(ordered, new, order_key)
        touched.update((t.src_uri, t) for t in ordered[max(at - 1, 0):at + 2])

    changed = {id(old) for old, _ in pairs}
    attention = list(site.attention)
    for old, new in pairs:
        _move(attention, old if needs_attention(old) else None,
              new if needs_attention(new) else None)
    site_problems = site.site_problems
    if any(old.id != new.id for old, new in pairs):
        site_problems = _duplicate_ids(ordered)
    flows = site.flows
    if any(old.flow != new.flow for old, new in pairs):
        flows = sorted({t.flow for t in ordered if t.flow})
    sorted_docs = list(site.docs)
    for _, doc in doc_pairs:
        sorted_docs[_position(sorted_docs, doc, attrgetter("src_uri"))] = doc
    relinked = _relink_docs(docs, doc_pairs, pairs)
    active = _update_top(site.active, pairs, changed, attrgetter("activity_key"))
    if active is None:
        active = _top(ordered, attrgetter("activity_key"))
    recent = _update_top(site.recent, pairs, changed, attrgetter("updated_key"))
    file_problems = site.file_problems
    if any(old.problems or new.problems for old, new in [*pairs, *doc_pairs]):
        file_problems = _file_problems(ordered, sorted_docs)
    updated = dataclasses.replace(
        site,
        built_at=built_at,
        tasks=ordered,
        docs=sorted_docs,
        counts=_recount(site.counts, pairs),
        holders=_rematrix(site.holders, pairs, attrgetter("current_role")),
        next_holders=_rematrix(site.next_holders, pairs, attrgetter("next_role")),
        attention=attention,
        recent=recent if recent is not None else _top(ordered, attrgetter("updated_key")),
        activity=_activity(active),
        problems=file_problems + site_problems,
        site_problems=site_problems,
        file_problems=file_problems,
        flows=flows,
        horizon=min(site.horizon, stale_horizon([n for _, n in pairs], config, built_at)),
        active=active,
    )
    for task in list(touched.values()):
        touched[task.src_uri] = tasks[task.src_uri]  # the page read again, if it was
    return Update(updated, sorted(touched.values(), key=order_key), relinked)


def list_position(tasks: list[Task], task: Task) -> int:
    """Where *task* is in *tasks* (in list order, as ``Site.tasks``)."""
    return _position(tasks, task, order_key)


def around(site: Site, task: Task) -> tuple[Task | None, Task | None]:
    """*task*'s previous and next task in the list."""
    at = list_position(site.tasks, task)
    return (site.tasks[at - 1] if at > 0 else None,
            site.tasks[at + 1] if at + 1 < len(site.tasks) else None)


def _position(pages: list[P], page: P, key: Callable[[P], object]) -> int:
    """Where the page with *page*'s key is in *pages*, sorted by *key* (distinct for
    each page)."""
    at = bisect_left(pages, key(page), key=key)  # type: ignore[type-var]
    assert at < len(pages) and key(pages[at]) == key(page), f"{page.src_uri} not found"
    return at


def _replace(ordered: list[Task], old: Task, new: Task, key: Callable[[Task], object]) -> None:
    """Put *new* in *old*'s place in *ordered* (sorted by *key*), moving it if its key
    differs."""
    at = _position(ordered, old, key)
    if key(new) == key(old):
        ordered[at] = new
    else:
        del ordered[at]
        insort(ordered, new, key=key)  # type: ignore[type-var]


def _move(tasks: list[Task], old: Task | None, new: Task | None) -> None:
    """Take *old* out of *tasks* (list order) and put *new* in, either may be None."""
    if old is not None:
        tasks.remove(old)  # pages compare equal only to themselves
    if new is not None:
        insort(tasks, new, key=order_key)  # type: ignore[type-var]


def _local(config: Config, when: datetime) -> datetime:
    return when.astimezone(ZoneInfo(config.timezone)) if config.timezone else when


def is_stale(task: Task, config: Config, built_at: datetime) -> bool:
    """Is *task* open and idle for more than ``stale_days`` at *built_at*?"""
    if task.status not in OPEN_STATUSES or config.stale_days <= 0:
        return False
    age = age_days(task.updated or task.created, _local(config, built_at))
    return age is not None and age > config.stale_days


def stale_holds(built_at: datetime, horizon: float, now: datetime) -> bool:
    """Does every task show as stale at *now* as at *built_at*, when the next open
    task was to turn stale at *horizon* (see :func:`stale_horizon`)? Not when *now*
    is that late, or earlier than *built_at*."""
    return built_at <= now and now.timestamp() < horizon


def stale_horizon(tasks: Iterable[Task], config: Config, built_at: datetime) -> float:
    """Seconds since the epoch when the next open task turns stale (inf: none will).

    Until then a site built at *built_at* shows the same stale tasks.
    """
    if config.stale_days <= 0:
        return float("inf")
    now = _local(config, built_at)
    horizon = float("inf")
    for task in tasks:
        if task.status in OPEN_STATUSES and not task.stale:
            age = age_days(task.updated or task.created, now)
            if age is not None:
                turns = now.timestamp() + (config.stale_days - age) * 86400
                horizon = min(horizon, turns)
    return horizon


def _duplicate_ids(tasks: list[Task]) -> list[Problem]:
    by_id: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_id[task.id].append(task)
    problems = []
    for task_id, same in by_id.items():
        if len(same) > 1:
            for task in same:
                others = [t.src_uri for t in same[:DUPLICATES_NAMED + 1] if t is not task]
                named = ", ".join(others[:DUPLICATES_NAMED])
                more = len(same) - 1 - min(len(others), DUPLICATES_NAMED)
                rest = f" and {more} more" if more else ""
                problems.append(Problem(task.src_uri, f"duplicate task id {task_id!r} "
                                                      f"(also in: {named}{rest})"))
    return problems


def _link_docs(tasks: list[Task], docs: dict[str, Doc]) -> None:
    for doc in docs.values():
        doc.referenced_by = []
    for task in tasks:
        for src_uri in sorted(task.references):
            if src_uri in docs:
                docs[src_uri].referenced_by.append(task)


def _file_problems(tasks: Iterable[Task], docs: Iterable[Doc]) -> list[Problem]:
    return [p for pages in (tasks, docs) for page in pages for p in page.problems]


def _relink_docs(docs: dict[str, Doc], doc_pairs: list[tuple[Doc, Doc]],
                 pairs: list[tuple[Task, Task]]) -> list[Doc]:
    """:func:`_link_docs` after each (old, new) pair of docs and of tasks replaced old
    with new: a doc read again takes its backlinks from the doc it replaces, and each
    doc a task read again links to, before or after, has it replaced in them.
    Returns the docs whose backlinks were made again, in path order."""
    relinked = {}
    for old_doc, doc in doc_pairs:
        doc.referenced_by = list(old_doc.referenced_by)
        relinked[doc.src_uri] = doc

    def backlinks(name: str) -> list[Task] | None:
        doc = docs.get(name)
        if doc is None:
            return None
        if name not in relinked:  # a copy: the list may be another site's
            doc.referenced_by = list(doc.referenced_by)
            relinked[name] = doc
        return doc.referenced_by

    for old, new in pairs:
        for name in old.references:
            if (linked := backlinks(name)) is not None:
                linked.remove(old)
        for name in new.references:
            if (linked := backlinks(name)) is not None:
                insort(linked, new, key=order_key)  # type: ignore[type-var]
    return [relinked[name] for name in sorted(relinked)]


def _counts(tasks: list[Task]) -> dict[str, int]:
    found = Counter(t.status or UNKNOWN for t in tasks)
    counts = {s: found.get(s, 0) for s in vocab.STATUS_IDS}
    if found.get(UNKNOWN):
        counts[UNKNOWN] = found[UNKNOWN]
    return counts


def _recount(counts: dict[str, int], pairs: list[tuple[Task, Task]]) -> dict[str, int]:
    """:func:`_counts` after each (old, new) pair of tasks replaced old with new."""
    counts = dict(counts)
    for old, new in pairs:
        counts[old.status or UNKNOWN] -= 1
        counts[new.status or UNKNOWN] = counts.get(new.status or UNKNOWN, 0) + 1
    if counts.get(UNKNOWN) == 0:
        del counts[UNKNOWN]
    return counts


def _matrix(tasks: list[Task], roles_of: list[str | None]) -> dict[str, dict[str, list[Task]]]:
    """Role × status → tasks, each task under its role in *roles_of* (same order)."""
    roles = list(vocab.ROLE_IDS)
    if None in roles_of:
        roles.append(UNKNOWN)
    matrix: dict[str, dict[str, list[Task]]] = {r: _empty_row() for r in roles}
    for task, role in zip(tasks, roles_of):
        matrix[role or UNKNOWN][task.status or UNKNOWN].append(task)
    return matrix


def _empty_row() -> dict[str, list[Task]]:
    return {s: [] for s in [*vocab.STATUS_IDS, UNKNOWN]}


def _rematrix(matrix: dict[str, dict[str, list[Task]]], pairs: list[tuple[Task, Task]],
              role_of: Callable[[Task], str | None]) -> dict[str, dict[str, list[Task]]]:
    """:func:`_matrix` after each (old, new) pair of tasks replaced old with new; the
    cells it changes are copies."""
    matrix = {role: dict(row) for role, row in matrix.items()}
    copied: set[tuple[str, str]] = set()

    def cell(task: Task) -> list[Task]:
        role, status = role_of(task) or UNKNOWN, task.status or UNKNOWN
        row = matrix.setdefault(role, _empty_row())
        if (role, status) not in copied:
            row[status] = list(row[status])
            copied.add((role, status))
        return row[status]

    for old, new in pairs:
        cell(old).remove(old)
        insort(cell(new), new, key=order_key)  # type: ignore[type-var]
    unknown = matrix.get(UNKNOWN)
    if unknown is not None and not any(unknown.values()):
        del matrix[UNKNOWN]
    return matrix


def _top(tasks: list[Task], key: Callable[[Task], float]) -> list[Task]:
    """The RECENT_LIMIT tasks with the largest *key*, largest first, earlier tasks
    first among equals."""
    return heapq.nlargest(RECENT_LIMIT, tasks, key=key)


def _update_top(top: list[Task], pairs: list[tuple[Task, Task]], changed: set[int],
                key: Callable[[Task], float]) -> list[Task] | None:
    """:func:`_top` after each (old, new) pair of tasks (*changed*: the ids of the old
    ones) replaced old with new, from *top* and the new tasks alone; None when that
    cannot tell (a task of *top* went down or moved in the list).

    Every task outside *top* comes after each task of it; a new task that did not
    go down or move still does, so the top comes from *top* and the new tasks.
    """
    for old, new in pairs:
        if any(t is old for t in top) and (key(new) < key(old) or
                                           order_key(new) != order_key(old)):
            return None
    kept = [t for t in top if id(t) not in changed]
    return _top(sorted([*kept, *(new for _, new in pairs)], key=order_key), key)


def _activity(active: list[Task]) -> list[Activity]:
    """The latest dated work-log entries of the *active* tasks (see :func:`_top`),
    newest first (earlier tasks and entries first among equal times).

    The latest entries of all tasks are among theirs: each entry not there comes
    after the latest entry of each of them.
    """
    dated = ((t, e) for t in sorted(active, key=order_key) for e in t.worklog
             if e.when is not None)
    chosen = heapq.nlargest(RECENT_LIMIT, dated, key=lambda pair: pair[1].when_key)
    return [Activity(t, e) for t, e in chosen]
