"""The watcher with real files: editor save styles, creation, deletion, renames."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from taskmon_site.scheduler import RebuildScheduler
from taskmon_site.watch import ChangeFilter, SourceWatcher, watch_plan, watch_roots


class Batches:
    """Rebuild batches as the scheduler hands them over."""

    def __init__(self) -> None:
        self.items: list[set[Path]] = []
        self.changed = threading.Condition()

    def rebuild(self, changed: set[Path]) -> None:
        with self.changed:
            self.items.append(set(changed))
            self.changed.notify_all()

    def wait(self, count: int = 1, timeout: float = 5) -> list[set[Path]]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.items) >= count, timeout)
        return self.items


@pytest.fixture
def watched(tmp_path: Path):
    """A source folder with one task, watched; yields (folder, batches)."""
    src = tmp_path / "src"
    (src / "tasks").mkdir(parents=True)
    (src / "tasks" / "a.md").write_text("# A\n", encoding="utf-8")
    out = src / "_site"  # a build folder inside the tree must not trigger builds
    out.mkdir()
    batches = Batches()
    # Generous quiet periods: these tests are about what is seen, not how fast, and
    # a loaded machine can pause a burst of writes for tens of milliseconds.
    scheduler = RebuildScheduler(batches.rebuild, lambda result: None, quiet=0.3,
                                 quiet_few=0.3)
    changes = ChangeFilter(lambda p: p.suffix == ".md", exclude=[out])
    watcher = SourceWatcher([src / "tasks", src], scheduler.notify, changes)
    scheduler.start()
    watcher.start()
    yield src, batches
    watcher.stop()
    scheduler.stop(5)


def test_an_atomic_rename_save_is_one_change_of_the_file(watched):
    src, batches = watched
    temp = src / "tasks" / ".a.md.tmp"
    temp.write_text("# A, saved\n", encoding="utf-8")
    os.replace(temp, src / "tasks" / "a.md")

    assert batches.wait() == [{src / "tasks" / "a.md"}]


def test_a_vim_backup_write_is_one_change_of_the_file(watched):
    src, batches = watched
    page = src / "tasks" / "a.md"
    swap = src / "tasks" / ".a.md.swp"
    swap.write_bytes(b"vim swap")
    probe = src / "tasks" / "4913"
    probe.write_bytes(b"")
    probe.unlink()
    backup = src / "tasks" / "a.md~"
    os.rename(page, backup)
    page.write_text("# A, saved by vim\n", encoding="utf-8")
    backup.unlink()
    swap.unlink()

    assert batches.wait() == [{page}]
    assert page.read_text(encoding="utf-8") == "# A, saved by vim\n"


def test_created_files_in_new_folders_are_seen(watched):
    src, batches = watched
    (src / "tasks" / "2024").mkdir()
    new = src / "tasks" / "2024" / "b.md"
    new.write_text("# B\n", encoding="utf-8")

    assert batches.wait() == [{new}]


def test_deleted_and_renamed_files_are_seen(watched):
    src, batches = watched
    (src / "tasks" / "a.md").rename(src / "tasks" / "renamed.md")
    assert batches.wait(1) == [{src / "tasks" / "a.md", src / "tasks" / "renamed.md"}]

    (src / "tasks" / "renamed.md").unlink()
    assert batches.wait(2)[1] == {src / "tasks" / "renamed.md"}


def test_a_folder_moved_out_of_the_tree_is_reported_as_the_folder(watched, tmp_path):
    src, batches = watched
    (src / "tasks" / "old").mkdir()
    (src / "tasks" / "old" / "c.md").write_text("# C\n", encoding="utf-8")
    assert batches.wait(1) == [{src / "tasks" / "old" / "c.md"}]

    shutil.move(src / "tasks" / "old", tmp_path / "elsewhere")
    assert batches.wait(2)[1] == {src / "tasks" / "old"}


def test_irrelevant_files_and_the_build_folder_are_ignored(watched):
    src, batches = watched
    (src / "notes.txt").write_text("not a page", encoding="utf-8")
    (src / "_site" / "page.md").write_text("output", encoding="utf-8")
    (src / ".git").mkdir()
    (src / ".git" / "x.md").write_text("git", encoding="utf-8")
    time.sleep(0.01)  # keep the next write after the ignored ones
    (src / "tasks" / "a.md").write_text("# A again\n", encoding="utf-8")

    assert batches.wait() == [{src / "tasks" / "a.md"}]


def test_a_branch_switch_of_500_files_is_one_rebuild(watched):
    src, batches = watched
    expected = set()
    for i in range(500):
        path = src / "tasks" / f"t{i:03}.md"
        path.write_text(f"# Task {i}\n", encoding="utf-8")
        expected.add(path)

    assert batches.wait() == [expected]


def test_watch_roots_drop_nested_and_missing_folders(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    roots = watch_roots([tmp_path / "a" / "b", tmp_path / "a", tmp_path / "a" / "missing"])
    assert roots == [tmp_path / "a"]


def git_like_repository(root: Path) -> Path:
    """A repository root with a .git folder of many object folders, and node_modules."""
    for name in ("aa", "ab", "ff"):
        (root / ".git" / "objects" / name).mkdir(parents=True)
    (root / "node_modules" / "x" / "lib").mkdir(parents=True)
    (root / "ai" / "tasks" / "2024").mkdir(parents=True)
    (root / "docs" / ".obsidian").mkdir(parents=True)
    (root / "docs" / "guide").mkdir(parents=True)
    return root


def test_skipped_folders_get_no_watches_and_folders_above_them_are_watched_alone(tmp_path):
    root = git_like_repository(tmp_path / "repo")
    assert watch_plan(root) == [
        (root, False), (root / "ai", True), (root / "docs", False), (root / "docs" / "guide", True)]
    assert watch_plan(root / "ai") == [(root / "ai", True)]


def test_a_folder_inside_a_skipped_one_stays_a_root_of_its_own(tmp_path):
    root = git_like_repository(tmp_path / "repo")
    (root / ".theme" / "templates").mkdir(parents=True)
    assert watch_roots([root, root / ".theme", root / "ai" / "tasks"]) == [root, root / ".theme"]


@pytest.fixture
def repository_watched(tmp_path: Path):
    """A repository root with .git, watched as the preview watches a config's folder."""
    root = git_like_repository(tmp_path / "repo")
    batches = Batches()
    scheduler = RebuildScheduler(batches.rebuild, lambda result: None, quiet=0.05)
    watcher = SourceWatcher([root], scheduler.notify, ChangeFilter(lambda p: p.suffix == ".md"))
    scheduler.start()
    watcher.start()
    yield root, batches, watcher
    watcher.stop()
    scheduler.stop(5)


def test_the_repository_root_is_watched_without_git(repository_watched):
    root, batches, watcher = repository_watched
    watched = {Path(e.watch.path) for e in watcher._observer.emitters}
    assert watched == {root, root / "ai", root / "docs", root / "docs" / "guide"}

    (root / "ai" / "tasks" / "2024" / "a.md").write_text("# A\n", encoding="utf-8")
    assert batches.wait() == [{root / "ai" / "tasks" / "2024" / "a.md"}]


def test_a_folder_created_later_beside_git_is_watched_with_what_is_already_in_it(
        repository_watched):
    root, batches, watcher = repository_watched
    first = root / "tasks" / "deep" / "first.md"
    first.parent.mkdir(parents=True)
    first.write_text("# First\n", encoding="utf-8")  # maybe before the folder is watched
    assert batches.wait() == [{first}]

    later = root / "tasks" / "deep" / "later.md"
    later.write_text("# Later\n", encoding="utf-8")
    assert batches.wait(2)[1] == {later}

    shutil.rmtree(root / "tasks")
    assert root / "tasks" in batches.wait(3)[2]
    again = root / "tasks" / "again.md"  # the same folder again: watched again
    again.parent.mkdir()
    again.write_text("# Again\n", encoding="utf-8")
    assert batches.wait(4)[3] == {again}


def test_watchdog_says_nothing_when_a_folder_appears_to_it_twice(recwarn, repository_watched):
    """``mkdir -p a/b`` may reach watchdog twice (the walk of a and the event for b).

    That race cannot be forced from outside, so the step watchdog then takes
    (watching a watched folder again) is taken directly: it warns with every
    watch it holds, kilobytes that must not reach the terminal.
    """
    root, batches, watcher = repository_watched
    emitter = next(e for e in watcher._observer.emitters if Path(e.watch.path) == root / "ai")
    emitter._inotify._add_callback(os.fsencode(root / "ai" / "tasks"))
    assert [str(w.message)[:40] for w in recwarn] == []
