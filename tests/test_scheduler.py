"""The rebuild scheduler: debouncing, one build at a time, no lost change."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from watchdog.events import (
    DirDeletedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileOpenedEvent,
)

from taskmon_site.scheduler import RebuildScheduler
from taskmon_site.watch import ChangeFilter, _Handler, is_editor_temp

QUIET = 0.05
ROOT = Path("/repo")


class Recorder:
    """A fake rebuild that records its batches and can be held mid-build."""

    def __init__(self, hold: bool = False, fail_first: bool = False) -> None:
        self.batches: list[set[Path]] = []
        self.results: list[object] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_first = fail_first
        if not hold:
            self.release.set()

    def rebuild(self, changed: set[Path]) -> int:
        self.batches.append(set(changed))
        self.started.set()
        self.release.wait(5)
        if self.fail_first and len(self.batches) == 1:
            raise ValueError("broken template")
        return len(self.batches)

    def done(self, result: object) -> None:
        self.results.append(result)


@pytest.fixture
def make_scheduler():
    made: list[RebuildScheduler] = []

    def make(recorder: Recorder, max_wait: float = 2.0) -> RebuildScheduler:
        scheduler = RebuildScheduler(recorder.rebuild, recorder.done, QUIET, max_wait)
        scheduler.start()
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.stop(timeout=5)


def paths(*names: str) -> set[Path]:
    return {ROOT / n for n in names}


def test_a_burst_of_500_changes_is_one_rebuild(make_scheduler):
    recorder = Recorder()
    scheduler = make_scheduler(recorder)
    expected = paths(*(f"ai/tasks/t{i}.md" for i in range(500)))

    for path in sorted(expected):
        scheduler.notify([path])

    assert scheduler.wait_idle(5)
    assert recorder.batches == [expected]
    assert recorder.results == [1]


def test_changes_during_a_build_make_exactly_one_more(make_scheduler):
    recorder = Recorder(hold=True)
    scheduler = make_scheduler(recorder)
    scheduler.notify(paths("a.md"))
    assert recorder.started.wait(5)

    for name in ["b.md", "c.md", "d.md", "b.md"]:
        scheduler.notify(paths(name))
        time.sleep(QUIET * 1.5)  # each would be its own batch without the queue
    recorder.release.set()

    assert scheduler.wait_idle(5)
    assert recorder.batches == [paths("a.md"), paths("b.md", "c.md", "d.md")]


def test_a_failed_build_is_reported_and_the_next_change_still_builds(make_scheduler):
    recorder = Recorder(fail_first=True)
    scheduler = make_scheduler(recorder)

    scheduler.notify(paths("a.md"))
    assert scheduler.wait_idle(5)
    scheduler.notify(paths("a.md"))
    assert scheduler.wait_idle(5)

    assert [type(r).__name__ for r in recorder.results] == ["ValueError", "int"]
    assert str(recorder.results[0]) == "broken template"


def test_max_wait_bounds_the_delay_while_changes_keep_coming(make_scheduler):
    recorder = Recorder()
    scheduler = make_scheduler(recorder, max_wait=0.2)
    started = time.monotonic()
    while not recorder.batches and time.monotonic() - started < 2:
        scheduler.notify(paths("log.md"))
        time.sleep(QUIET / 5)

    assert recorder.batches, "a file changing forever must not starve the site"
    assert time.monotonic() - started < 0.2 + 0.5


def test_the_last_change_is_never_lost(make_scheduler):
    """Random saves against random build times: every save is built after it happened."""
    rng = random.Random(7)
    built: list[tuple[float, set[Path]]] = []  # (build start, its batch)

    def rebuild(changed: set[Path]) -> None:
        built.append((time.monotonic(), set(changed)))
        time.sleep(rng.uniform(0, 0.03))

    scheduler = RebuildScheduler(rebuild, lambda result: None, quiet=0.01, max_wait=0.05)
    scheduler.start()
    saved: dict[Path, float] = {}
    for _ in range(150):
        path = ROOT / f"t{rng.randrange(20)}.md"
        saved[path] = time.monotonic()
        scheduler.notify([path])
        time.sleep(rng.uniform(0, 0.006))
    assert scheduler.wait_idle(5)
    scheduler.stop(5)

    for path, last_save in saved.items():
        assert any(start >= last_save and path in batch for start, batch in built), path


# -- file-system events through the watcher's filter into the scheduler ------------


def relevant(path: Path) -> bool:
    return path.suffix == ".md" or path.name == "taskmon.toml"


def feed(events, exclude=()) -> list[set[Path]]:
    """Run watchdog events through the watcher's handler and a real scheduler."""
    recorder = Recorder()
    scheduler = RebuildScheduler(recorder.rebuild, recorder.done, QUIET)
    scheduler.start()
    handler = _Handler(ChangeFilter(relevant, exclude), scheduler.notify)
    for event in events:
        handler.on_any_event(event)
    assert scheduler.wait_idle(5)
    scheduler.stop(5)
    return recorder.batches


def test_deleted_and_renamed_files_are_passed_on():
    batches = feed([
        FileDeletedEvent("/repo/ai/tasks/gone.md"),
        FileMovedEvent("/repo/ai/tasks/old.md", "/repo/ai/tasks/new.md"),
        DirDeletedEvent("/repo/ai/tasks/archive"),
    ])
    assert batches == [paths("ai/tasks/gone.md", "ai/tasks/old.md", "ai/tasks/new.md",
                             "ai/tasks/archive")]


def test_an_atomic_save_yields_only_the_saved_file():
    batches = feed([
        FileCreatedEvent("/repo/docs/.goutputstream-X1Y2Z3"),
        FileModifiedEvent("/repo/docs/.goutputstream-X1Y2Z3"),
        FileMovedEvent("/repo/docs/.goutputstream-X1Y2Z3", "/repo/docs/a.md"),
        FileOpenedEvent("/repo/docs/b.md"),  # read, not written
    ])
    assert batches == [paths("docs/a.md")]


def test_editor_temp_files_irrelevant_files_and_excluded_folders_are_ignored():
    batches = feed([
        FileModifiedEvent("/repo/docs/.a.md.swp"),
        FileCreatedEvent("/repo/docs/4913"),
        FileMovedEvent("/repo/docs/a.md", "/repo/docs/a.md~"),
        FileModifiedEvent("/repo/notes.txt"),
        FileModifiedEvent("/repo/.git/index.md"),
        FileModifiedEvent("/tmp/out/page.md"),
        FileClosedEvent("/repo/taskmon.toml"),
    ], exclude=[Path("/tmp/out")])
    assert batches == [paths("docs/a.md", "taskmon.toml")]


@pytest.mark.parametrize("name", [
    ".a.md.swp", ".a.md.swx", ".a.md.swo", "a.md~", "4913", "5036", ".#a.md", "#a.md#",
    "a.md.tmp", "a.md___jb_tmp___", "a.md___jb_old___", ".goutputstream-ABC123",
    ".DS_Store", "Thumbs.db", ".~lock.a.md#", "sedAb12Cd", "a.md.kate-swp",
])
def test_editor_temp_names(name):
    assert is_editor_temp(Path("/repo") / name)


@pytest.mark.parametrize("name", ["a.md", "2024-plan.md", "测试 1.md", "tmp.md", "swp.md"])
def test_ordinary_names_are_not_temp(name):
    assert not is_editor_temp(Path("/repo") / name)


def test_a_save_of_one_file_waits_only_the_short_quiet_period():
    recorder = Recorder()
    scheduler = RebuildScheduler(recorder.rebuild, recorder.done, quiet=2.0, quiet_few=0.01)
    scheduler.start()
    try:
        scheduler.notify(paths("a.md"))
        assert recorder.started.wait(1.5), "a single save waited for the burst quiet period"
        assert recorder.batches == [paths("a.md")]
    finally:
        scheduler.stop(timeout=5)


def test_a_burst_of_files_waits_the_full_quiet_period():
    recorder = Recorder()
    scheduler = RebuildScheduler(recorder.rebuild, recorder.done, quiet=0.5, quiet_few=0.01)
    scheduler.start()
    try:
        scheduler.notify(paths("a.md", "b.md", "c.md"))
        time.sleep(0.1)  # well past the short quiet period, within the full one
        scheduler.notify(paths("d.md"))
        assert scheduler.wait_idle(5)
        assert recorder.batches == [paths("a.md", "b.md", "c.md", "d.md")]
    finally:
        scheduler.stop(timeout=5)
