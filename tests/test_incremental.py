"""Rebuilds that index only the pages read again: the site and the output folder
are those a whole build of the same files gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import taskmon_site.build as build_module
from conftest import write_tree
from taskmon_site.build import OUTPUT_MARK, SiteBuilder
from taskmon_site.config import load_config
from taskmon_site.site import Site, index_site
from taskmon_site.state import BuildState

STATUSES = ["pending", "in_progress", "paused", "review", "rework", "completed", "failed",
            "cancelled", "待启动", "进行中", "no-such-status", None]
ROLES = ["manager", "researcher", "planner", "executor", "debugger", "研究员", "nobody", None]
DOCS = ["docs/a.md", "docs/b.md", "docs/sub/c.md"]
EPOCH = 1767225600  # 2026-01-01T00:00:00Z


def task_text(rng: random.Random, n: int) -> str:
    """A task file in one of the two key variants, with random fields and log."""
    chinese = rng.random() < 0.5
    keys = ("task_id", "status", "current_role", "next_role", "updated_at", "flow_file")
    if chinese:
        keys = ("任务ID", "状态", "当前角色", "下一角色", "更新", "流程")
    values = [f"t{rng.randrange(60):02d}" if rng.random() < 0.9 else f"T{n}",
              rng.choice(STATUSES), rng.choice(ROLES), rng.choice(ROLES),
              f"2025-12-{rng.randrange(1, 31):02d} {rng.randrange(24):02d}:00"
              if rng.random() < 0.8 else None,
              rng.choice(["", "flow-a.md", f"flow-{n}-{rng.randrange(3)}.md"])]
    front = "".join(f"{k}: '{v}'\n" for k, v in zip(keys, values) if v)
    links = "".join(f"See [{d}](../../{d}).\n" for d in DOCS if rng.random() < 0.3)
    entries = "".join(
        f"\n## {rng.choice(['研究员', 'Planner', '执行员'])} "
        f"(2025-12-{rng.randrange(1, 31):02d} {rng.randrange(24):02d}:{rng.randrange(60):02d})"
        f"\n\n- [x] step {i}\n" for i in range(rng.randrange(4)))
    title = f"# Task {n} {rng.randrange(1000)}\n" if rng.random() < 0.7 else ""
    return f"---\n{front}---\n{title}\n{links}\n# 工作日志\n{entries}"


def doc_text(rng: random.Random, name: str) -> str:
    return f"# {name} {rng.randrange(1000)}\n\nText {rng.random()}.\n"


def site_facts(site: Site) -> dict:
    """What the pages show of the index, by src_uri (``index_site`` changes pages in
    place, so the builder's site is read before a whole index is made)."""
    names = lambda tasks: [t.src_uri for t in tasks]  # noqa: E731
    return {
        "tasks": names(site.tasks), "docs": [d.src_uri for d in site.docs],
        "stale": [t.stale for t in site.tasks], "counts": site.counts,
        "holders": {r: {s: names(c) for s, c in row.items()} for r, row in
                    site.holders.items()},
        "next": {r: {s: names(c) for s, c in row.items()} for r, row in
                 site.next_holders.items()},
        "attention": names(site.attention), "recent": names(site.recent),
        "activity": [(a.task.src_uri, a.entry.when_key, a.entry.line)
                     for a in site.activity],
        "problems": [str(p) for p in site.problems], "flows": site.flows,
        "backlinks": {d.src_uri: names(d.referenced_by) for d in site.docs},
    }


def output_files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder but the mark of the build state that wrote it."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != OUTPUT_MARK}


@pytest.mark.parametrize("seed, count", [(1, 24), (2, 24), (3, 6), (4, 6)])
def test_rebuilds_after_edits_give_what_a_whole_build_gives(tmp_path, monkeypatch, seed,
                                                            count):
    # With few tasks, the last task of a kind (say, of no role) changes more often.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    rng = random.Random(seed)
    files = {f"ai/tasks/task{n:02d}.md": task_text(rng, n) for n in range(count)}
    files.update({d: doc_text(rng, d) for d in DOCS})
    src = write_tree(tmp_path / "src", files)
    flags = {"output": str(tmp_path / "out"), "search": "false", "stale_days": "20"}
    config = load_config(src, None, flags, environ={})
    builder = SiteBuilder(config)
    builder.build()

    whole_indexes = []
    real_index_site = build_module.index_site
    monkeypatch.setattr(build_module, "index_site",
                        lambda *args: whole_indexes.append(1) or real_index_site(*args))
    for step in range(40):
        edited = rng.sample(sorted(files), rng.choice([1, 1, 1, 2, 3]))
        for name in edited:
            files[name] = (doc_text(rng, name) if name.startswith("docs/")
                           else task_text(rng, int(name[-5:-3])))
            (src / name).write_text(files[name], encoding="utf-8")
        if step == 30:  # time passes: some open tasks turn stale
            monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 12 * 86400))
        builder.rebuild({src / name for name in edited})
        facts = site_facts(builder.site)
        whole = index_site(config, builder.tasks, builder.docs, builder.site.built_at)
        assert facts == site_facts(whole), f"step {step}: {edited}"

    # Only the time passing the stale horizon asked for the whole site to be indexed.
    assert len(whole_indexes) <= 1
    monkeypatch.setattr(build_module, "index_site", real_index_site)
    fresh = SiteBuilder(load_config(src, None, {**flags, "output": str(tmp_path / "fresh")},
                                    environ={}))
    fresh.build()
    assert output_files(tmp_path / "out") == output_files(tmp_path / "fresh")


INDEX_FILES = ("index.html", "tasks/index.html", "board.html", "assets/data.js",
               "docs/index.html", "problems.html", "tasks.json")


@pytest.mark.parametrize("seed", [5, 6])
def test_rebuilds_after_files_came_went_or_moved_give_what_a_whole_build_gives(
        tmp_path, monkeypatch, seed):
    # Files in two folders, so that a file moved keeps its name and may take another's
    # URL; as many come as go at times, so the list keeps its length.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    rng = random.Random(seed)
    folders = ["ai/tasks/one", "ai/tasks/two"]
    files = {f"{rng.choice(folders)}/task{n:02d}.md": task_text(rng, n) for n in range(24)}
    src = write_tree(tmp_path / "src", files)
    flags = {"output": str(tmp_path / "out"), "search": "false", "stale_days": "20"}
    builder = SiteBuilder(load_config(src, None, flags, environ={}))
    builder.build()
    for step in range(24):
        changed = set()
        for _ in range(rng.choice([1, 2])):
            name = rng.choice(sorted(files))
            n = int(name[-5:-3])
            action = rng.choice(["edit", "move", "swap", "swap", "remove", "add"])
            if action == "edit":
                files[name] = task_text(rng, n)
            elif action == "remove" and len(files) > 20:
                del files[name]
                (src / name).unlink()
                changed.add(src / name)
                continue
            elif action in ("add", "remove"):  # one more, of a name another file has
                name = f"{rng.choice(folders)}/task{n:02d}.md"
                files[name] = task_text(rng, n)
            else:  # moved to the other folder, or gone while another comes
                (src / name).unlink()
                changed.add(src / name)
                text = files.pop(name)
                if action == "swap":
                    n, text = 24 + step, task_text(rng, 24 + step)
                other = next(f for f in folders if not name.startswith(f))
                name = f"{other}/task{n:02d}.md"
                files[name] = text
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_text(files[name], encoding="utf-8")
            changed.add(src / name)
        builder.rebuild(changed)
        builder.finish()
        if step % 6 == 5:
            fresh = cli_build(src, tmp_path / f"fresh{step}", {"search": "false",
                                                               "stale_days": "20"})
            for url in INDEX_FILES:
                assert ((tmp_path / "out" / url).read_bytes()
                        == (fresh.output_dir / url).read_bytes()), f"step {step}: {url}"
    got, want = output_files(tmp_path / "out"), output_files(tmp_path / "fresh23")
    assert sorted(got) == sorted(want)
    assert [u for u in got if got[u] != want[u]] == []


def test_a_file_gone_gives_its_url_to_the_next_file_of_its_name(build_site, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    builder = build_site({"ai/tasks/x.md": "---\ntask_id: t1\n---\n",
                          "ai/tasks/z/x.md": "---\ntask_id: t2\n---\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/x.md").unlink()
    builder.rebuild({src / "ai/tasks/x.md"})
    builder.finish()
    assert [t.url for t in builder.site.tasks] == ["tasks/x.html"]
    fresh = cli_build(src, tmp_path / "fresh", {"search": "false"}).output_dir
    assert output_files(out) == output_files(fresh)


def test_a_file_whose_url_a_new_file_took_has_its_new_url_everywhere(build_site, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    # ai/tasks/a/x.md sorts first and takes x.html; x.md, not edited, becomes x-2.html.
    builder = build_site({"ai/tasks/x.md": "---\ntask_id: t1\n---\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/a").mkdir()
    (src / "ai/tasks/a/x.md").write_text("---\ntask_id: t3\n---\n")
    builder.rebuild({src / "ai/tasks/a/x.md"})
    builder.finish()
    entries = json.loads((out / "tasks.json").read_text())["tasks"]
    assert {e["source"]: e["url"] for e in entries} == {"ai/tasks/a/x.md": "tasks/x.html",
                                                        "ai/tasks/x.md": "tasks/x-2.html"}
    fresh = cli_build(src, tmp_path / "fresh", {"search": "false"}).output_dir
    assert output_files(out) == output_files(fresh)


def test_a_task_file_moved_to_another_folder_shows_its_new_path(build_site, tmp_path):
    # Same bytes, same file name, so the same URL: the page still says where it is now.
    builder = build_site({"ai/tasks/one/t.md": "---\ntask_id: t\n---\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/two").mkdir()
    (src / "ai/tasks/one/t.md").rename(src / "ai/tasks/two/t.md")
    builder.rebuild({src / "ai/tasks/one/t.md", src / "ai/tasks/two/t.md"})
    assert "ai/tasks/two/t.md" in (out / "tasks/t.html").read_text()
    (src / "ai/tasks/two/t.md").rename(src / "ai/tasks/one/t.md")
    cli_build(src, out, {"search": "false"})
    assert "ai/tasks/two/t.md" not in (out / "tasks/t.html").read_text()


def test_a_task_edited_to_turn_stale_sooner_turns_stale_in_a_later_rebuild(
        build_site, monkeypatch):
    # The stale horizon was a's; b, edited, now turns stale first.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))  # 2026-01-01
    open_task = "---\ntask_id: {}\nstatus: in_progress\nupdated_at: '{}'\n---\n"
    builder = build_site({"ai/tasks/a.md": open_task.format("a", "2025-12-30"),
                          "ai/tasks/b.md": "---\ntask_id: b\nstatus: completed\n---\n",
                          "ai/tasks/c.md": "---\ntask_id: c\n---\n# C\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/b.md").write_text(open_task.format("b", "2025-12-20"))
    builder.rebuild({src / "ai/tasks/b.md"})
    assert [t.id for t in builder.site.attention] == []
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 4 * 86400))  # b: 16 days idle
    (src / "ai/tasks/c.md").write_text("---\ntask_id: c\n---\n# C again\n")
    builder.rebuild({src / "ai/tasks/c.md"})
    assert [t.id for t in builder.site.attention] == ["b"]
    assert '<span class="badge badge-warn">stale</span>' in (out / "tasks/b.html").read_text()


def test_a_list_page_is_written_again_only_when_its_rows_change(build_site):
    builder = build_site({
        "ai/tasks/a.md": ("---\ntask_id: a\n---\n# 任务描述\n\nIntro.\n\n"
                          "# 当前状态\n\nOne.\n"),
        "ai/tasks/b.md": "---\ntask_id: b\n---\n# B\n"})
    src, out = builder.config.source_dir, builder.output_dir
    listing = out / "tasks/index.html"

    def edit(text: str) -> int:
        """Rebuild after *text* went into a.md; the list page's inode afterwards."""
        (src / "ai/tasks/a.md").write_text(text)
        builder.rebuild({src / "ai/tasks/a.md"})
        return listing.stat().st_ino

    before = listing.stat().st_ino
    # A new current state is not in the row: the list page stays as it was.
    text = "---\ntask_id: a\n---\n# 任务描述\n\n{}\n\n# 当前状态\n\n{}\n"
    assert edit(text.format("Intro.", "Two.")) == before
    assert "Two." in (out / "tasks/a.html").read_text()
    # The description's start is filtered on: data.js and the list's link to it change.
    assert edit(text.format("New intro.", "Two.")) != before
    assert "New intro." in (out / "assets/data.js").read_text()
    page = listing.read_text()
    # Gone from the output folder: written again, though its rows are the same.
    listing.unlink()
    edit(text.format("New intro.", "Three."))
    assert listing.read_text() == page


def test_a_task_whose_url_changed_in_its_place_has_its_new_row(build_site, tmp_path,
                                                                monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    # b keeps its place in the list while a new file with its file name takes its URL
    # (among enough tasks that the list is not looked up again as a whole).
    files = {f"ai/tasks/more/m{n:02d}.md": f"---\ntask_id: m{n:02d}\n---\n" for n in range(20)}
    builder = build_site({**files, "ai/tasks/b/x.md": "---\ntask_id: b\nstatus: review\n---\n",
                          "ai/tasks/z.md": "---\ntask_id: c\n---\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/z.md").unlink()
    (src / "ai/tasks/a").mkdir()
    (src / "ai/tasks/a/x.md").write_text("---\ntask_id: c\n---\n")
    builder.rebuild({src / "ai/tasks/z.md", src / "ai/tasks/a/x.md"})
    assert [(t.id, t.url) for t in builder.site.tasks[:2]] == [("b", "tasks/x-2.html"),
                                                               ("c", "tasks/x.html")]
    fresh = cli_build(src, tmp_path / "fresh", {"search": "false"}).output_dir
    for url in ("tasks/index.html", "board.html", "assets/data.js"):
        assert (out / url).read_text() == (fresh / url).read_text(), url
    assert 'href="../tasks/x-2.html"' in (out / "tasks/index.html").read_text()


def cli_build(src: Path, out: Path, flags: dict) -> SiteBuilder:
    """A build in a new builder, as each run of ``taskmon-site build`` makes."""
    builder = SiteBuilder(load_config(src, None, {**flags, "output": str(out)}, environ={}))
    builder.report = builder.build()
    return builder


def test_builds_of_new_builders_after_edits_give_what_a_whole_build_gives(
        tmp_path, monkeypatch):
    # Each build starts from the build state: the site it gives, updated.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    rng = random.Random(7)
    files = {f"ai/tasks/task{n:02d}.md": task_text(rng, n) for n in range(16)}
    files.update({d: doc_text(rng, d) for d in DOCS})
    src = write_tree(tmp_path / "src", files)
    flags = {"search": "false", "stale_days": "20"}
    cli_build(src, tmp_path / "out", flags)

    updates = []
    real_update_site = build_module.update_site
    monkeypatch.setattr(build_module, "update_site",
                        lambda *args: updates.append(real_update_site(*args)) or updates[-1])
    for step in range(12):
        for name in rng.sample(sorted(files), rng.choice([1, 2])):
            files[name] = (doc_text(rng, name) if name.startswith("docs/")
                           else task_text(rng, int(name[-5:-3])))
            (src / name).write_text(files[name], encoding="utf-8")
        if step == 8:
            monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 12 * 86400))
        cli_build(src, tmp_path / "out", flags)
    assert len(updates) >= 11 and all(updates[:8])

    monkeypatch.setattr(build_module, "update_site", real_update_site)
    fresh = tmp_path / "fresh"
    cli_build(src, fresh, {**flags, "cache": str(tmp_path / "other-cache")})
    assert output_files(tmp_path / "out") == output_files(fresh)


def test_pages_removed_from_the_output_folder_are_written_by_the_next_build(
        tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    src = write_tree(tmp_path / "src", {
        **{f"ai/tasks/{n}.md": f"---\ntask_id: {n}\n---\n# {n.upper()}\n" for n in "abmyz"},
        "docs/d.md": "# D\n", "docs/e.md": "# E\n"})
    out, flags = tmp_path / "out", {"search": "false"}
    cli_build(src, out, flags)
    (out / "tasks/a.html").unlink()  # not z's neighbour
    (out / "docs/d.html").unlink()
    (src / "ai/tasks/z.md").write_text("---\ntask_id: z\n---\n# Z again\n")
    cli_build(src, out, flags)
    cli_build(src, tmp_path / "fresh", {**flags, "cache": str(tmp_path / "other-cache")})
    assert output_files(out) == output_files(tmp_path / "fresh")


def test_a_new_theme_between_builds_renders_every_page_again(tmp_path):
    theme = tmp_path / "theme" / "templates"
    theme.mkdir(parents=True)
    src = write_tree(tmp_path / "src", {
        f"ai/tasks/{n}.md": f"---\ntask_id: {n}\n---\n# {n.upper()}\n" for n in "abmyz"})
    out, flags = tmp_path / "out", {"search": "false", "theme": str(tmp_path / "theme")}
    cli_build(src, out, flags)
    (theme / "task.html").write_text("NEW {{ task.title }}")
    (src / "ai/tasks/z.md").write_text("---\ntask_id: z\n---\n# Z again\n")
    cli_build(src, out, flags)
    assert [(out / f"tasks/{n}.html").read_text() for n in "abmyz"] == [
        "NEW A", "NEW B", "NEW M", "NEW Y", "NEW Z again"]


def test_a_build_after_one_dated_later_is_not_up_to_date(tmp_path, monkeypatch):
    # Built with SOURCE_DATE_EPOCH a month ahead, the tasks were stale; now they are not.
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": (
        "---\ntask_id: a\nstatus: in_progress\nupdated_at: '2026-01-01'\n---\n")})
    out, flags = tmp_path / "out", {"search": "false"}
    badge = '<span class="badge badge-warn">stale</span>'
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 30 * 86400))
    cli_build(src, out, flags)
    assert badge in (out / "tasks/a.html").read_text()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 86400))
    cli_build(src, out, flags)
    assert badge not in (out / "tasks/a.html").read_text()


def test_a_build_writes_the_manifest_again_when_it_was_removed(tmp_path):
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": "---\ntask_id: a\n---\n"})
    out, flags = tmp_path / "out", {"search": "false"}
    cli_build(src, out, flags)
    manifest = (out / ".taskmon-manifest.json").read_text()
    (out / ".taskmon-manifest.json").unlink()
    cli_build(src, out, flags)
    assert (out / ".taskmon-manifest.json").read_text() == manifest


def test_a_build_checks_every_page_after_another_build_wrote_the_folder(tmp_path, monkeypatch):
    # Another cache, or none: what this build's state knows of the pages is stale.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    first = "---\ntask_id: a\nstatus: pending\n---\n# A\n"
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": first,
                                        "ai/tasks/b.md": "---\ntask_id: b\n---\n# B\n"})
    out = tmp_path / "out"
    ours = {"search": "false", "cache": str(tmp_path / "ours")}
    cli_build(src, out, ours)
    (src / "ai/tasks/a.md").write_text("---\ntask_id: a\nstatus: failed\n---\n# A, failed\n")
    cli_build(src, out, {**ours, "cache": ""})
    (src / "ai/tasks/a.md").write_text(first)  # the bytes our state has, a new mtime
    cli_build(src, out, ours)
    cli_build(src, tmp_path / "fresh", {**ours, "cache": str(tmp_path / "other")})
    assert output_files(out) == output_files(tmp_path / "fresh")
    # Ours again, and nothing changed since: up to date, as the mark in the folder says.
    again = cli_build(src, out, ours)
    assert again.report.up_to_date
    assert (out / OUTPUT_MARK).read_text() == again.state.mark != ""


def test_a_rebuild_after_a_file_changed_rebuilds_the_links_to_it(build_site):
    # The preview hears of the file a symbolic link leads to, not of the link.
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n",
                          "docs/d.md": "# D\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/z.md").symlink_to(src / "ai/tasks/a.md")
    (src / "docs/e.md").symlink_to(src / "docs/d.md")
    builder.rebuild({src / "ai/tasks/z.md", src / "docs/e.md"})
    (src / "ai/tasks/a.md").write_text("---\ntask_id: a\n---\n# A\n\nBody again.\n")
    (src / "docs/d.md").write_text("# D\n\nText again.\n")
    builder.rebuild({src / "ai/tasks/a.md", src / "docs/d.md"})
    for page in ("tasks/z.html", "tasks/a.html"):
        assert "Body again." in (out / page).read_text()
    assert "Text again." in (out / "docs/e.html").read_text()


def test_a_build_whose_state_was_not_saved_leaves_no_state_named(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    first = "---\ntask_id: a\n---\n# A\n"
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": first})
    out, flags = tmp_path / "out", {"search": "false", "cache": str(tmp_path / "cache")}
    cli_build(src, out, flags)
    (src / "ai/tasks/a.md").write_text("---\ntask_id: a\n---\n# A, edited\n")
    with monkeypatch.context() as patch:
        patch.setattr(BuildState, "save", lambda *args: False)  # a read-only state, say
        cli_build(src, out, flags)
    assert (out / OUTPUT_MARK).read_text() == ""
    (src / "ai/tasks/a.md").write_text(first)  # the bytes the state has
    assert not cli_build(src, out, flags).report.up_to_date
    assert "A, edited" not in (out / "tasks/a.html").read_text()


def test_an_unreadable_state_is_made_anew(tmp_path, caplog):
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"})
    out, flags = tmp_path / "out", {"search": "false", "cache": str(tmp_path / "cache")}
    first = cli_build(src, out, flags)
    first.close()
    state = first.state.path
    state.write_bytes(b"not a database" * 100)
    cli_build(src, out, flags)
    assert f"Build state {state} unreadable (file is not a database): made anew" in caplog.text
    assert cli_build(src, out, flags).report.up_to_date


def test_a_new_link_to_a_file_no_glob_selects_matters(build_site):
    # The preview asks about the link; the file it leads to is outside the task folder.
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n",
                          "shared/real.md": "---\ntask_id: real\n---\n# Real\n"})
    src = builder.config.source_dir
    (src / "ai/tasks/link.md").symlink_to(src / "shared/real.md")
    assert builder.is_relevant(src / "ai/tasks/link.md")
    assert not builder.is_relevant(src / "shared/real.md")
    builder.rebuild({src / "ai/tasks/link.md"})
    assert "Real" in (builder.output_dir / "tasks/link.html").read_text()


def test_a_mark_that_cannot_be_written_is_a_warning(tmp_path, caplog):
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"})
    out = tmp_path / "out"
    (out / OUTPUT_MARK).mkdir(parents=True)
    cli_build(src, out, {"search": "false"})
    assert f"Could not write {out / OUTPUT_MARK}: " in caplog.text
    assert (out / "tasks/a.html").is_file()
    assert not list(out.glob(".tmp-*"))


def test_search_indexes_what_another_build_without_search_wrote(tmp_path):
    import gzip

    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"})
    out, ours = tmp_path / "out", {"cache": str(tmp_path / "cache")}
    cli_build(src, out, ours)
    (src / "ai/tasks/a.md").write_text("---\ntask_id: a\n---\n# A\n\nZebraword.\n")
    cli_build(src, out, {"search": "false", "cache": ""})
    cli_build(src, out, ours)
    fragments = [gzip.decompress(p.read_bytes()) for p in (out / "pagefind").rglob(
        "*.pf_fragment")]
    assert any(b"Zebraword" in f for f in fragments)
