"""Indexing: everything read, turned into what the pages show.

:func:`index_site` runs after every task and doc is read and before any page
is rendered, so counts, the role × status matrix, backlinks and duplicate ids
are computed over the complete site.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Iterable
from zoneinfo import ZoneInfo

from taskmon_site import vocab
from taskmon_site.config import Config
from taskmon_site.dates import age_days
from taskmon_site.model import Doc, Task, WorkLogEntry
from taskmon_site.source import Problem

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
    #: The workflow files tasks name (``flow_file``), sorted.
    flows: list[str] = field(default_factory=list)

    @property
    def statuses(self) -> list[str]:
        return [s for s in self.counts]

    @property
    def roles(self) -> list[str]:
        return list(self.holders)


def index_site(config: Config, tasks: dict[str, Task], docs: dict[str, Doc],
               built_at: datetime) -> Site:
    ordered = sorted(tasks.values(), key=lambda t: (t.id.casefold(), t.src_uri))
    for task in ordered:
        task.stale = is_stale(task, config, built_at)

    site_problems = _duplicate_ids(ordered)
    _link_docs(ordered, docs)
    file_problems = [p for page in [*ordered, *docs.values()] for p in page.problems]
    return Site(
        config=config,
        built_at=built_at,
        tasks=ordered,
        docs=sorted(docs.values(), key=lambda d: d.src_uri),
        counts=_counts(ordered),
        holders=_matrix(ordered, [t.current_role for t in ordered]),
        next_holders=_matrix(ordered, [t.next_role for t in ordered]),
        attention=[t for t in ordered if t.status in vocab.ATTENTION_STATUSES or t.stale],
        recent=heapq.nlargest(RECENT_LIMIT, ordered, key=attrgetter("updated_key")),
        activity=_activity(ordered),
        problems=file_problems + site_problems,
        site_problems=site_problems,
        flows=sorted({t.flow for t in ordered if t.flow}),
    )


def _local(config: Config, when: datetime) -> datetime:
    return when.astimezone(ZoneInfo(config.timezone)) if config.timezone else when


def is_stale(task: Task, config: Config, built_at: datetime) -> bool:
    """Is *task* open and idle for more than ``stale_days`` at *built_at*?"""
    if task.status not in OPEN_STATUSES or config.stale_days <= 0:
        return False
    age = age_days(task.updated or task.created, _local(config, built_at))
    return age is not None and age > config.stale_days


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


def _counts(tasks: list[Task]) -> dict[str, int]:
    found = Counter(t.status or UNKNOWN for t in tasks)
    counts = {s: found.get(s, 0) for s in vocab.STATUS_IDS}
    if found.get(UNKNOWN):
        counts[UNKNOWN] = found[UNKNOWN]
    return counts


def _matrix(tasks: list[Task], roles_of: list[str | None]) -> dict[str, dict[str, list[Task]]]:
    """Role × status → tasks, each task under its role in *roles_of* (same order)."""
    roles = list(vocab.ROLE_IDS)
    if None in roles_of:
        roles.append(UNKNOWN)
    matrix: dict[str, dict[str, list[Task]]] = {
        r: {s: [] for s in [*vocab.STATUS_IDS, UNKNOWN]} for r in roles}
    for task, role in zip(tasks, roles_of):
        matrix[role or UNKNOWN][task.status or UNKNOWN].append(task)
    return matrix


def _activity(tasks: list[Task]) -> list[Activity]:
    """The latest dated work-log entries of all tasks, newest first (earlier tasks and
    entries first among equal times)."""
    # The latest entries are among those of the tasks with the latest entries: each
    # entry not there is preceded by the latest entry of each of those tasks.
    latest = heapq.nlargest(RECENT_LIMIT, range(len(tasks)),
                            key=lambda i: tasks[i].activity_key)
    dated = ((tasks[i], e) for i in sorted(latest) for e in tasks[i].worklog
             if e.when is not None)
    chosen = heapq.nlargest(RECENT_LIMIT, dated, key=lambda pair: pair[1].when_key)
    return [Activity(t, e) for t, e in chosen]
