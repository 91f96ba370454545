"""Whole builds: the real corpus, links, URLs, themes, rebuilds, CLI and logs."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import CORPUS, REPO, full_tasks, task_by_id, write_tree
from taskmon_site.build import BuildError, SiteBuilder
from taskmon_site.cli import main
from taskmon_site.config import load_config
from taskmon_site.site import is_stale

CORPUS_TOML = REPO / "tests" / "fixtures" / "ai-ppdb.toml"
SEED = "task_20250222_231952_90755fe4"


@pytest.fixture(scope="module")
def corpus_site(tmp_path_factory) -> SiteBuilder:
    out = tmp_path_factory.mktemp("corpus-out")
    config = load_config(CORPUS, CORPUS_TOML, {"output": str(out)}, environ={})
    builder = SiteBuilder(config)
    builder.report = builder.build()
    return builder


def page_text(builder: SiteBuilder, url: str) -> str:
    return (builder.output_dir / url).read_text(encoding="utf-8")


def test_corpus_seed_task(corpus_site):
    task = task_by_id(corpus_site, SEED)
    assert (task.status, task.current_role, task.next_role) == ("in_progress", "planner",
                                                                "executor")
    assert [(e.role, e.when_raw) for e in task.worklog] == [
        ("researcher", "2025-02-23 23:51"), ("researcher", "2025-02-23 23:52")]
    html = page_text(corpus_site, task.url)
    assert '<dd data-field="status"><span class="status status-in_progress">进行中</span>' in html
    assert '<dd data-field="current_role"><span class="role role-planner">规划员</span>' in html
    assert '<dd data-field="next_role"><span class="role role-executor">执行员</span>' in html
    assert html.count('class="timeline-entry role-line-researcher"') == 2


def test_corpus_lists_every_task_and_doc(corpus_site):
    listing = page_text(corpus_site, "tasks/index.html")
    assert 'href="../tasks/polyxscript_impl.html">PolyxScript 实现任务跟踪</a>' in listing
    assert f'href="../tasks/{SEED}.html"' in listing
    docs = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("docs/**/*.md"))
    docs += sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("ppx/**/*.md"))
    assert [d.src_uri for d in corpus_site.site.docs] == sorted(docs)
    nav = page_text(corpus_site, "docs/ppx.html")
    for doc in corpus_site.site.docs:
        assert f'data-url="{doc.url}"' in nav
    assert corpus_site.report.problems == 0


def test_corpus_doc_mentioned_in_task_links_back(corpus_site):
    task = page_text(corpus_site, f"tasks/{SEED}.html")
    assert '<a href="../docs/ppx.html">docs/ppx.md</a>' in task
    doc = page_text(corpus_site, "docs/ppx.html")
    # The seed task has no title; its description names it.
    title = "优化 taskmon.html 和 taskmon.py，提升用户体验和代码质量"
    assert f'<a href="../tasks/{SEED}.html">{title}</a> <code class="muted">{SEED}</code>' in doc


def test_corpus_tasks_json(corpus_site):
    data = json.loads(page_text(corpus_site, "tasks.json"))
    seed = next(t for t in data["tasks"] if t["id"] == SEED)
    assert seed["created"] == "2025-02-23T23:51:07+08:00"
    assert seed["created_raw"] == "2025-02-23 23:51:07"
    assert seed["status"] == "in_progress" and seed["problems"] == []
    assert data["counts"]["in_progress"] == 1 and data["counts"]["unknown"] == 1


def test_dashboard_matrix_counts(corpus_site):
    html = page_text(corpus_site, "index.html")
    current = re.search(r'data-matrix="current">(.*?)</table>', html, re.S).group(1)
    assert re.search(r'data-role="planner" data-status="in_progress"><a class="cell-count"[^>]*>1</a>',
                     current)
    nxt = re.search(r'data-matrix="next">(.*?)</table>', html, re.S).group(1)
    assert re.search(r'data-role="executor" data-status="in_progress"><a class="cell-count"[^>]*>1</a>',
                     nxt)


def test_all_links_are_relative_and_resolve(corpus_site):
    out = corpus_site.output_dir
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for href in re.findall(r'(?:href|src)="([^"#?]+)', html):
            assert not href.startswith("/"), (page, href)
            if href.startswith(("http:", "https:", "mailto:")):
                continue
            from urllib.parse import unquote
            assert (page.parent / unquote(href)).exists(), (page, href)


def test_links_between_tasks_and_docs(build_site):
    files = {
        "ai/tasks/a.md": "---\ntask_id: a\n---\nSee [design](../../docs/d.md#part-two), "
                         "[b](b.md), [root](docs/d.md) and [web](https://example.com).\n",
        "ai/tasks/b.md": "---\ntask_id: b\n---\n# B\n",
        "docs/d.md": "# D\n## Part two\n",
    }
    builder = build_site(files)
    html = (builder.output_dir / "tasks/a.html").read_text(encoding="utf-8")
    assert '<a href="../docs/d.html#part-two">design</a>' in html
    assert '<a href="b.html">b</a>' in html
    assert '<a href="../docs/d.html">root</a>' in html
    assert '<a href="https://example.com">web</a>' in html
    assert [t.id for t in builder.site.docs[0].referenced_by] == ["a"]


def test_unicode_and_space_file_names_get_safe_unique_urls(build_site):
    files = {
        "ai/tasks/测试 1.md": "---\ntask_id: 测试 1\n---\n",
        "ai/tasks/测试-1.md": "---\ntask_id: other\n---\n",
        "docs/设计 文档.md": "# 设计\n",
    }
    builder = build_site(files)
    urls = sorted(t.url for t in builder.site.tasks)
    assert urls == ["tasks/测试-1-2.html", "tasks/测试-1.html"]
    assert builder.site.docs[0].url == "docs/设计-文档.html"
    listing = (builder.output_dir / "tasks/index.html").read_text(encoding="utf-8")
    assert 'href="../tasks/%E6%B5%8B%E8%AF%95-1.html"' in listing
    for url in urls:
        assert (builder.output_dir / url).is_file()


def test_user_theme_overrides_single_templates(build_site, tmp_path):
    theme = tmp_path / "mytheme" / "templates"
    theme.mkdir(parents=True)
    (theme / "problems.html").write_text("CUSTOM {{ site.problems|length }}")
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n"},
                         {"theme": str(tmp_path / "mytheme")})
    assert (builder.output_dir / "problems.html").read_text() == "CUSTOM 0"
    assert "<!doctype html>" in (builder.output_dir / "index.html").read_text()


def test_zh_ui_language(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\nstatus: review\n---\n"},
                         {"lang": "zh"})
    html = (builder.output_dir / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "需要关注" in html and "待审核" in html


def test_rebuild_updates_adds_and_removes(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\nstatus: pending\n---\n# A\n",
                          "ai/tasks/b.md": "---\ntask_id: b\n---\n# B\n"})
    src, out = builder.config.source_dir, builder.output_dir
    (src / "ai/tasks/a.md").write_text("---\ntask_id: a\nstatus: review\n---\n# A2\n")
    report = builder.rebuild({src / "ai/tasks/a.md"})
    assert report.full is False
    assert "A2" in (out / "tasks/a.html").read_text()
    assert builder.site.counts["review"] == 1
    assert (out / "tasks/b.html").is_file()
    (src / "ai/tasks/c.md").write_text("---\ntask_id: c\n---\n# C\n")
    (src / "ai/tasks/b.md").unlink()
    builder.rebuild({src / "ai/tasks/c.md", src / "ai/tasks/b.md"})
    assert not (out / "tasks/b.html").exists()
    assert (out / "tasks/c.html").is_file()
    listing = (out / "tasks/index.html").read_text()
    assert "C</a>" in listing and ">B</a>" not in listing
    assert [t["id"] for t in json.loads((out / "tasks.json").read_text())["tasks"]] == ["a", "c"]


def test_rebuild_renders_only_what_depends_on_the_change(build_site):
    files = {f"ai/tasks/t{i}.md": f"---\ntask_id: t{i}\n---\n# T{i}\n" for i in range(20)}
    files["docs/d.md"] = "# D\n"
    builder = build_site(files)
    src = builder.config.source_dir
    (src / "ai/tasks/t5.md").write_text("---\ntask_id: t5\n---\n# T5 changed\n")
    report = builder.rebuild({src / "ai/tasks/t5.md"})
    # t5, its two neighbours (their prev/next titles changed) and the index files.
    assert report.pages_rendered == 3 + len(builder.renderer.index_urls())


def test_full_build_removes_pages_of_deleted_sources_only(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n",
                          "ai/tasks/b.md": "---\ntask_id: b\n---\n"})
    out = builder.output_dir
    (out / "mine.txt").write_text("user file")
    (builder.config.source_dir / "ai/tasks/b.md").unlink()
    SiteBuilder(builder.config).build()
    assert not (out / "tasks/b.html").exists()
    assert (out / "tasks/a.html").exists() and (out / "mine.txt").read_text() == "user file"


def test_stale_tasks_need_attention(build_site, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    files = {
        "ai/tasks/old.md": "---\ntask_id: old\nstatus: in_progress\nupdated_at: '2025-12-01'\n---\n",
        "ai/tasks/new.md": "---\ntask_id: new\nstatus: in_progress\nupdated_at: '2025-12-30'\n---\n",
        "ai/tasks/done.md": "---\ntask_id: done\nstatus: completed\nupdated_at: '2025-01-01'\n---\n",
    }
    builder = build_site(files)
    assert [t.id for t in builder.site.attention] == ["old"]
    assert builder.site.built_at.isoformat() == "2026-01-01T00:00:00+00:00"


# -- the command line ------------------------------------------------------------------


def test_cli_builds_corpus_and_logs_summary(tmp_path, capsys):
    code = main(["build", str(CORPUS), "--config", str(CORPUS_TOML), "-o", str(tmp_path / "o")])
    assert code == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"Building site from {CORPUS.resolve()}"
    assert re.fullmatch(r"Built (\d+) pages \(\1 written\): 2 tasks, 10 docs, 0 problems in "
                        r"\d+\.\d\d s", err[-1])


def test_cli_strict_turns_warnings_into_exit_1(tmp_path, capsys):
    src = tmp_path / "src" / "ai" / "tasks"
    src.mkdir(parents=True)
    (src / "x.md").write_text("---\ntask_id: x\nstatus: nonsense\n---\n")
    args = ["build", str(tmp_path / "src"), "-o", str(tmp_path / "o")]
    assert main(args) == 0
    assert main(args + ["--strict"]) == 1
    err = capsys.readouterr().err
    assert "WARNING: ai/tasks/x.md:3: unknown status 'nonsense'" in err
    assert "ERROR: 1 warnings and --strict is set" in err


def test_cli_bad_config_exits_2_listing_every_problem(tmp_path, capsys):
    (tmp_path / "taskmon.toml").write_text('lang = "fr"\nstale_days = "x"\n')
    assert main(["build", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "lang: expected 'zh' or 'en', got 'fr'" in err
    assert "stale_days: expected a whole number of days, got 'x'" in err
    assert not (tmp_path / "o").exists()


def test_cli_json_log_format(tmp_path, capsys):
    src = tmp_path / "src" / "tasks"
    src.mkdir(parents=True)
    (src / "x.md").write_text("---\ntask_id: x\nstatus: [\n---\n")
    assert main(["build", str(tmp_path / "src"), "-o", str(tmp_path / "o"),
                 "--log-format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    warning = next(r for r in lines if r["level"] == "WARNING")
    assert warning["message"].startswith("tasks/x.md:4: front matter is not valid YAML")
    assert lines[-1]["message"].startswith("Built ")


def test_python_m_entry_point(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "taskmon_site", "build", str(CORPUS),
                             "--config", str(CORPUS_TOML), "-o", str(tmp_path / "o"), "-q"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "o" / "index.html").is_file()


# -- the cache between runs and worker processes ---------------------------------------


def test_second_run_with_nothing_changed_reads_and_writes_nothing(build_site, capsys):
    files = {f"ai/tasks/t{i}.md": f"---\ntask_id: t{i}\n---\n# T{i}\nsee docs/d.md\n"
             for i in range(5)}
    files["docs/d.md"] = "# D\n"
    first = build_site(files)
    before = {p: p.stat().st_mtime_ns for p in first.output_dir.rglob("*") if p.is_file()}
    report = SiteBuilder(first.config).build()
    assert report.up_to_date and (report.read, report.pages_written) == (0, 0)
    assert (report.tasks, report.docs, report.problems) == (5, 1, 0)
    after = {p: p.stat().st_mtime_ns for p in first.output_dir.rglob("*") if p.is_file()}
    assert after == before


def test_touched_file_with_the_same_bytes_is_not_read_again(build_site):
    first = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n",
                        "ai/tasks/b.md": "---\ntask_id: b\n---\n# B\n"})
    path = first.config.source_dir / "ai/tasks/a.md"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = SiteBuilder(first.config)
    assert second.build().up_to_date and second._restat == set()
    # The new stat was kept: the next run does not even hash the file.
    third = SiteBuilder(first.config)
    assert third.build().up_to_date and not third._loaded


def test_one_edit_reads_one_file_and_rewrites_its_page_and_the_indexes(build_site):
    first = build_site({f"ai/tasks/t{i}.md": f"---\ntask_id: t{i}\n---\n# T{i}\n"
                        for i in range(6)})
    out = first.output_dir
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (first.config.source_dir / "ai/tasks/t0.md").write_text("---\ntask_id: t0\n---\n# T0\nmore\n")
    report = SiteBuilder(first.config).build()
    assert report.read == 1
    changed = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and before.get(p) != p.read_bytes())
    # The list row shows the new text; the dashboard and board link data.js by version.
    assert changed == ["assets/build.js", "assets/data.js", "board.html", "index.html",
                       "tasks.json", "tasks/index.html", "tasks/t0.html"]


def test_cached_page_is_reread_when_a_link_target_appears(build_site):
    files = {"ai/tasks/a.md": "---\ntask_id: a\n---\n[later](../../docs/later.md)\n"}
    first = build_site(files)
    html = (first.output_dir / "tasks/a.html").read_text()
    assert '<a href="../../docs/later.md">later</a>' in html
    (first.config.source_dir / "docs").mkdir()
    (first.config.source_dir / "docs/later.md").write_text("# Later\n")
    second = SiteBuilder(first.config)
    second.build()
    assert second.cache.misses == 2  # the task (its link now resolves) and the new doc
    html = (first.output_dir / "tasks/a.html").read_text()
    assert '<a href="../docs/later.html">later</a>' in html


def test_worker_processes_read_the_same_as_one_process(build_site, monkeypatch):
    import taskmon_site.build as build_module
    import taskmon_site.workers as workers

    files = {f"ai/tasks/t{i:02}.md": f"---\ntask_id: t{i:02}\nstatus: review\n---\n"
             f"# T{i}\n[next](t{i + 1:02}.md)\n- [x] a\n- [ ] b\n" for i in range(30)}
    monkeypatch.setattr(build_module, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(workers, "cpus", lambda: 2)
    parallel = build_site(files, {"cache": ""})
    monkeypatch.setattr(build_module, "PARALLEL_THRESHOLD", 10_000)
    serial = SiteBuilder(parallel.config, output_dir=parallel.output_dir.parent / "serial")
    serial.build()
    assert [t.to_json() for t in full_tasks(parallel)] == [t.to_json() for t in full_tasks(serial)]
    assert parallel.site.tasks[3].references == {"ai/tasks/t04.md"}


def test_same_problem_in_many_files_is_logged_a_few_times(tmp_path, capsys):
    src = tmp_path / "src" / "tasks"
    src.mkdir(parents=True)
    for i in range(8):
        (src / f"t{i}.md").write_text(f"---\ntask_id: t{i}\nstatus: soon\n---\n")
    (src / "z.md").write_text("---\ntask_id: z\nstatus: later\n---\n")
    assert main(["build", str(tmp_path / "src"), "-o", str(tmp_path / "o"), "--strict"]) == 1
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith("WARNING")]
    assert warnings == [f"WARNING: tasks/t{i}.md:3: unknown status 'soon'" for i in range(5)] + [
        "WARNING: 3 more files: unknown status 'soon'",
        "WARNING: tasks/z.md:3: unknown status 'later'",
    ]
    assert err[-1] == "ERROR: 7 warnings and --strict is set"


def test_task_named_index_does_not_replace_the_list(build_site):
    builder = build_site({"ai/tasks/index.md": "---\ntask_id: index\n---\n# Index task\n"})
    assert builder.site.tasks[0].url == "tasks/index-2.html"
    assert "Index task" in (builder.output_dir / "tasks/index-2.html").read_text()


def test_rebuild_sees_new_folders_and_removed_folders(build_site):
    import shutil

    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n"})
    src = builder.config.source_dir
    (src / "ai/tasks/sub").mkdir()
    (src / "ai/tasks/sub/b.md").write_text("---\ntask_id: b\n---\n")
    builder.rebuild({src / "ai/tasks/sub"})
    assert [t.id for t in builder.site.tasks] == ["a", "b"]
    shutil.rmtree(src / "ai/tasks/sub")
    builder.rebuild({src / "ai/tasks/sub"})
    assert [t.id for t in builder.site.tasks] == ["a"]
    assert not (builder.output_dir / "tasks/b.html").exists()
    (src / "notes.txt").write_text("x")
    report = builder.rebuild({src / "notes.txt"})
    assert [t.id for t in builder.site.tasks] == ["a"] and report.full is False


def test_template_error_names_the_template_and_line(tmp_path, capsys):
    theme = tmp_path / "theme" / "templates"
    theme.mkdir(parents=True)
    (theme / "problems.html").write_text("line one\n{{ site.nothing_here.deeper }}\n")
    (tmp_path / "src" / "tasks").mkdir(parents=True)
    code = main(["build", str(tmp_path / "src"), "-o", str(tmp_path / "o"),
                 "--theme", str(tmp_path / "theme")])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"ERROR: template error: {theme / 'problems.html'}:2: "
                       "'taskmon_site.site.Site object' has no attribute 'nothing_here'")


def test_static_build_has_no_preview_files(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n"})
    assets = sorted(p.name for p in (builder.output_dir / "assets").iterdir())
    assert not [name for name in assets if name.startswith(("preview.", "actions."))]


def test_theme_change_rerenders_every_page(build_site, tmp_path):
    theme = tmp_path / "theme" / "templates"
    theme.mkdir(parents=True)
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"},
                         {"theme": str(tmp_path / "theme")})
    (theme / "task.html").write_text("NEW {{ task.title }}")
    builder.rebuild({theme / "task.html"})
    assert (builder.output_dir / "tasks/a.html").read_text() == "NEW A"


def test_full_build_indexes_for_search_only_when_pages_changed(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# 中文 搜索\n"},
                         {"search": "true"})
    index = builder.output_dir / "pagefind" / "0"
    assert (index / "pagefind.js").is_file()
    stamp = index.stat().st_mtime_ns
    SiteBuilder(builder.config).build()  # nothing changed: the index is kept as it is
    assert index.stat().st_mtime_ns == stamp
    (builder.config.source_dir / "ai/tasks/a.md").write_text("---\ntask_id: a\n---\n# 改了\n")
    SiteBuilder(builder.config).build()
    assert index.stat().st_mtime_ns == stamp  # the edited page went to the delta bundle
    assert bundles_state(builder)["delta"] == ["tasks/a.html"]


def bundles_state(builder) -> dict:
    return json.loads((builder.output_dir / "pagefind" / "bundles.json").read_text())


def page_count(bundle) -> int:
    entry = json.loads((bundle / "pagefind-entry.json").read_text())
    return sum(lang["page_count"] for lang in entry["languages"].values())


def test_changed_pages_go_to_the_delta_bundle_until_it_is_full(build_site, monkeypatch):
    import taskmon_site.search as search

    monkeypatch.setattr(search, "SHARD_PAGES", 2)
    monkeypatch.setattr(search, "DELTA_PAGES", 3)
    files = {f"ai/tasks/t{i}.md": f"---\ntask_id: t{i}\n---\n# Word{i}\n" for i in range(6)}
    builder = build_site(files, {"search": "true"})
    root = builder.output_dir / "pagefind"
    assert sorted(p.name for p in root.iterdir()) == ["0", "1", "2", "bundles.json"]
    assert bundles_state(builder) == {
        "bundles": 3, "language": "en", "shard_pages": 2, "delta": [], "removed": []}
    stamps = {p.name: p.stat().st_mtime_ns for p in root.iterdir() if p.is_dir()}
    src = builder.config.source_dir

    # One edit (the same title: no neighbour changes): only the delta is indexed.
    (src / "ai/tasks/t3.md").write_text("---\ntask_id: t3\n---\n# Word3\nMore words.\n")
    SiteBuilder(builder.config).build()
    assert bundles_state(builder)["delta"] == ["tasks/t3.html"]
    assert page_count(root / "delta") == 1
    assert all(root.joinpath(n).stat().st_mtime_ns == stamp for n, stamp in stamps.items())

    # The same page changed again: the delta is indexed again with its new text.
    delta_stamp = (root / "delta").stat().st_mtime_ns
    (src / "ai/tasks/t3.md").write_text("---\ntask_id: t3\n---\n# Word3\nOther words.\n")
    SiteBuilder(builder.config).build()
    assert (root / "delta").stat().st_mtime_ns != delta_stamp

    # A removed page is listed as gone; the delta is still within its limit (and five
    # pages still make three bundles).
    (src / "ai/tasks/t0.md").unlink()
    SiteBuilder(builder.config).build()
    state = bundles_state(builder)
    assert (state["delta"], state["removed"]) == (["tasks/t1.html", "tasks/t3.html"],
                                                  ["tasks/t0.html"])  # t1: its prev link

    # One more change fills it: the bundles of those pages are indexed again.
    (src / "ai/tasks/t4.md").write_text("---\ntask_id: t4\n---\n# Word4\nMore.\n")
    SiteBuilder(builder.config).build()
    state = bundles_state(builder)
    assert (state["delta"], state["removed"]) == ([], [])
    assert not (root / "delta").exists()
    assert sum(page_count(root / str(n)) for n in range(state["bundles"])) == 5


def test_preview_rebuild_leaves_search_to_update_search(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# Alpha\n"},
                         {"search": "true"})
    path = builder.config.source_dir / "ai/tasks/b.md"
    path.write_text("---\ntask_id: b\n---\n# Beta\n")
    builder.rebuild({path})
    assert builder.search_pending == {"tasks/a.html", "tasks/b.html"}  # a: its "next" link
    assert not (builder.output_dir / "pagefind/delta").exists()
    builder.update_search()
    assert builder.search_pending == set()
    assert bundles_state(builder)["delta"] == ["tasks/a.html", "tasks/b.html"]
    assert page_count(builder.output_dir / "pagefind/delta") == 2


def test_no_search_flag(tmp_path):
    (tmp_path / "src" / "tasks").mkdir(parents=True)
    assert main(["build", str(tmp_path / "src"), "-o", str(tmp_path / "o"), "--no-search"]) == 0
    assert not (tmp_path / "o" / "pagefind").exists()


def test_a_symbolic_link_out_of_the_repository_is_not_read(build_site, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntask_id: secret\n---\n# Password: hunter2\n")
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"})
    src = builder.config.source_dir
    (src / "ai/tasks/passwd.md").symlink_to(secret)
    (src / "ai/tasks/inside.md").symlink_to(src / "ai/tasks/a.md")
    builder = SiteBuilder(builder.config)
    builder.build()
    assert [t.id for t in builder.site.tasks] == ["a", "a"]  # the link inside is a task
    assert not (builder.output_dir / "tasks/passwd.html").exists()
    assert "hunter2" not in (builder.output_dir / "tasks.json").read_text()
    assert [str(p) for p in builder.site.problems if "outside" in p.message] == [
        "ai/tasks/passwd.md: leads outside the source folder (a symbolic link): not read"]


def test_a_symbolic_link_to_nothing_is_a_problem_until_it_is_gone(build_site, tmp_path):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"})
    src = builder.config.source_dir
    (src / "ai/tasks/gone.md").symlink_to(tmp_path / "nowhere.md")
    (src / "ai/tasks/out.md").symlink_to(tmp_path / "src-outside.md")
    (tmp_path / "src-outside.md").write_text("# Out\n")
    builder.rebuild({src / "ai/tasks/gone.md", src / "ai/tasks/out.md"})
    assert [str(p) for p in builder.site.problems] == [
        "ai/tasks/gone.md: leads nowhere (a symbolic link): not read",
        "ai/tasks/out.md: leads outside the source folder (a symbolic link): not read"]
    (src / "ai/tasks/gone.md").unlink()
    (src / "ai/tasks/out.md").unlink()
    builder.rebuild({src / "ai/tasks/gone.md", src / "ai/tasks/out.md"})
    assert builder.site.problems == []


def test_a_build_after_a_link_to_nothing_appeared_is_not_up_to_date(build_site, tmp_path):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"})
    src = builder.config.source_dir
    (src / "ai/tasks/gone.md").symlink_to(tmp_path / "nowhere.md")
    again = SiteBuilder(builder.config)
    report = again.build()
    assert not report.up_to_date
    assert "ai/tasks/gone.md" in (builder.output_dir / "problems.html").read_text()
    assert SiteBuilder(builder.config).build().up_to_date


def test_dot_files_and_dot_folders_are_not_read(build_site):
    task = "---\ntask_id: {}\n---\n# T\n"
    builder = build_site({"ai/tasks/a.md": task.format("a"),
                          "ai/tasks/.draft.md": task.format("draft"),
                          "ai/tasks/.old/b.md": task.format("old"),
                          "docs/d.md": "# D\n", "docs/.wip/e.md": "# E\n",
                          "docs/sub/f.md": "# F\n"},
                         {"tasks": ["ai/tasks/**/*.md"], "docs": ["docs/**/*.md"]})
    assert [t.id for t in builder.site.tasks] == ["a"]
    assert [d.src_uri for d in builder.site.docs] == ["docs/d.md", "docs/sub/f.md"]


def test_markdown_files_in_the_output_folder_stop_the_build(tmp_path):
    src = write_tree(tmp_path / "src", {"ai/tasks/a.md": "---\ntask_id: a\n---\n",
                                        "docs/d.md": "# D\n", "docs/site/old.md": "# Old\n",
                                        "docs/site/.hidden/x.md": "# Dot\n"})
    config = load_config(src, None, {"docs": ["docs/**/*.md"], "search": "false",
                                     "output": str(src / "docs/site")}, environ={})
    builder = SiteBuilder(config)
    with pytest.raises(BuildError, match=r"^the output folder docs/site/ holds 1 file the "
                                         r"globs select \(docs/site/old.md\)"):
        builder.build()
    assert sorted(p.name for p in (src / "docs/site").iterdir()) == [".hidden", "old.md"]


def test_task_globs_that_find_nothing_are_a_problem(build_site):
    builder = build_site({"notes/a.md": "# Not a task\n"}, {"tasks": ["todo/*.md"]})
    assert [str(p) for p in builder.site.problems] == [
        "(settings): no task files match tasks = ['todo/*.md']"]
    docs_only = build_site({"docs/a.md": "# A\n"}, {"tasks": []})
    assert docs_only.site.problems == []


def test_a_task_turns_stale_in_a_later_build_with_nothing_else_changed(build_site, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    files = {"ai/tasks/t.md":
             "---\ntask_id: t\nstatus: in_progress\nupdated_at: '2025-12-20'\n---\n"}
    first = build_site(files)
    assert first.site.attention == []
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    assert SiteBuilder(first.config).build().up_to_date
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1767225600 + 4 * 86400))  # 15 days idle
    later = SiteBuilder(first.config)
    report = later.build()
    assert not report.up_to_date and report.read == 0
    assert [t.id for t in later.site.attention] == ["t"]
    page = (first.output_dir / "tasks/t.html").read_text()
    assert '<span class="badge badge-warn">stale</span>' in page
    record = json.loads((first.output_dir / "tasks.json").read_text())["tasks"][0]
    assert record["stale"] is True


def test_a_deleted_output_folder_is_written_again_from_the_state(build_site):
    import shutil

    first = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n", "docs/d.md": "# D\n"})
    before = {p.relative_to(first.output_dir): p.read_bytes()
              for p in first.output_dir.rglob("*") if p.is_file()}
    shutil.rmtree(first.output_dir)
    report = SiteBuilder(first.config).build()
    assert report.read == 0
    after = {p.relative_to(first.output_dir): p.read_bytes()
             for p in first.output_dir.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    same_time = {Path("index.html"), Path("assets/build.js"), Path("assets/data.js"),
                 Path("tasks.json")}  # they carry the build time
    assert [p for p in after if after[p] != before[p] and p not in same_time] == []


def test_a_theme_may_show_the_rows_twice_or_not_at_all(build_site, tmp_path):
    theme = tmp_path / "theme" / "templates"
    theme.mkdir(parents=True)
    (theme / "list.html").write_text("{{ rows }}<hr>{{ rows }}")
    (theme / "board.html").write_text("{{ title }}: no cards")
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# A\n"},
                         {"theme": str(tmp_path / "theme")})
    listing = (builder.output_dir / "tasks/index.html").read_text()
    row = listing.split("<hr>")[0]
    assert row.startswith('<tr data-task-id="a"') and listing == f"{row}<hr>{row}"
    assert (builder.output_dir / "board.html").read_text() == "Board: no cards"


def test_an_output_folder_where_the_globs_look_is_a_problem(tmp_path):
    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "docs" / "a.md").write_text("# A\n")
    config = load_config(src, None, {"output": str(src / "docs" / "site"), "search": "false",
                                     "tasks": []}, environ={})
    builder = SiteBuilder(config)
    builder.build()
    assert [str(p) for p in builder.site.problems] == [
        "(settings): the output folder docs/site/ is where the globs look for files; "
        "files in it are not read"]


def _log_task(task_id: str, updated: str, entries: list[str]) -> str:
    body = "".join(f"## 执行者 ({when})\n\nDone.\n\n" for when in entries)
    return f"---\ntask_id: {task_id}\nupdated_at: '{updated}'\n---\n# {task_id}\n\n{body}"


def test_recent_activity_is_the_newest_entries_of_all_tasks(build_site):
    # One task holds the 13 newest entries; another ties with one of them.
    busy = [f"2025-03-{day:02d} 10:00" for day in range(1, 14)]
    builder = build_site({
        "ai/tasks/a.md": _log_task("a", "2025-01-05", ["2025-01-01 09:00", "2025-03-13 10:00"]),
        "ai/tasks/b.md": _log_task("b", "2025-03-20", busy),
        "ai/tasks/c.md": _log_task("c", "2025-02-01", ["2025-02-01 08:00"]),
        "ai/tasks/d.md": "---\ntask_id: d\n---\n# d\n\n## 执行者\n\nUndated.\n",
    })
    got = [(a.task.id, a.entry.when.strftime("%m-%d")) for a in builder.site.activity]
    assert got == [("a", "03-13"), ("b", "03-13")] + [
        ("b", f"03-{day:02d}") for day in range(12, 2, -1)]
    assert [t.id for t in builder.site.recent] == ["b", "c", "a", "d"]


def test_a_rebuild_may_leave_tasks_json_for_later(build_site):
    first = build_site({"ai/tasks/a.md": "---\ntask_id: a\nstatus: todo\n---\n# A\n"})
    builder = SiteBuilder(first.config, first.output_dir.parent / "preview", defer_data=True)
    builder.build()
    data = builder.output_dir / "tasks.json"
    task = first.config.source_dir / "ai/tasks/a.md"
    task.write_text("---\ntask_id: a\nstatus: done\n---\n# A\n", encoding="utf-8")
    builder.rebuild([task])
    assert json.loads(data.read_text())["tasks"][0]["status"] == "pending"
    assert 'data-status="completed"' in (builder.output_dir / "tasks/index.html").read_text()
    builder.finish()
    assert json.loads(data.read_text())["tasks"][0]["status"] == "completed"
    builder.finish()  # nothing left: writes nothing
    assert json.loads(data.read_text())["tasks"][0]["status"] == "completed"


def test_rebuilds_in_one_builder_carry_titles_to_neighbours_and_backlinks(build_site):
    # The preview server's builder keeps the keys of its pages between rebuilds.
    files = {f"ai/tasks/t{i}.md": f"---\ntask_id: t{i}\n---\n# T{i}\n\nSee [d](../../docs/d.md).\n"
             for i in range(6)}
    files["docs/d.md"] = "# D\n"
    builder = build_site(files)
    src, out = builder.config.source_dir, builder.output_dir
    index_pages = len(builder.renderer.index_urls())

    def edit(name: str, text: str):
        (src / name).write_text(text)
        return builder.rebuild({src / name})

    report = edit("ai/tasks/t3.md",
                  "---\ntask_id: t3\n---\n# Renamed\n\nSee [d](../../docs/d.md).\n")
    assert report.pages_rendered == 4 + index_pages  # t3, t2, t4 and the doc's backlinks
    for neighbour in ("t2", "t4"):
        assert "Renamed" in (out / f"tasks/{neighbour}.html").read_text()
    assert "Renamed" in (out / "docs/d.html").read_text()

    report = edit("ai/tasks/t3.md", "---\ntask_id: t3\n---\n# Renamed\n\nNew body.\n")
    assert report.pages_rendered == 2 + index_pages  # t3 and the doc it no longer links to
    assert "Renamed" not in (out / "docs/d.html").read_text()
    assert "New body." in (out / "tasks/t3.html").read_text()

    # A new file: URLs are given again; every page still links where it should.
    report = edit("ai/tasks/t25.md", "---\ntask_id: t25\n---\n# Between\n")
    assert [t.id for t in builder.site.tasks] == ["t0", "t1", "t2", "t25", "t3", "t4", "t5"]
    assert 'href="../tasks/t25.html">Between →' in (out / "tasks/t2.html").read_text()
    assert 'href="../tasks/t25.html">← Between' in (out / "tasks/t3.html").read_text()
    assert "Between" in (out / "tasks/index.html").read_text()


def test_a_task_turning_stale_between_two_rebuilds_of_one_builder_is_shown_stale(
        build_site, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    builder = build_site({  # a's neighbour is m, not the task edited
        "ai/tasks/a.md": "---\ntask_id: a\nstatus: in_progress\nupdated_at: '2025-12-20'\n---\n",
        "ai/tasks/m.md": "---\ntask_id: m\n---\n# M\n",
        "ai/tasks/u.md": "---\ntask_id: u\n---\n# U\n"})
    other = builder.config.source_dir / "ai/tasks/u.md"
    other.write_text("---\ntask_id: u\n---\n# U again\n")
    builder.rebuild({other})
    badge = '<span class="badge badge-warn">stale</span>'
    assert badge not in (builder.output_dir / "tasks/a.html").read_text()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1767225600 + 4 * 86400))  # 15 days idle
    other.write_text("---\ntask_id: u\n---\n# U once more\n")
    builder.rebuild({other})
    assert badge in (builder.output_dir / "tasks/a.html").read_text()
    assert badge in (builder.output_dir / "tasks/index.html").read_text()


@pytest.mark.parametrize("hour, stale", [(10, False), (11, True)])
def test_a_task_turns_stale_after_its_days_of_elapsed_time_across_a_clock_change(
        build_site, monkeypatch, hour, stale):
    # Updated 2025-03-10 12:00 in Berlin (11:00 UTC); the clocks went forward on the
    # 30th. 20 days later by the wall clock is 10:00 UTC, by elapsed time 11:00 UTC.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1742900400")  # 2025-03-25T11:00:00Z
    files = {f"ai/tasks/f{n:02d}.md": f"---\ntask_id: f{n:02d}\nstatus: completed\n---\n"
             for n in range(20)}
    builder = build_site({
        **files, "ai/tasks/a.md": ("---\ntask_id: a\nstatus: pending\n"
                                   "updated_at: '2025-03-10 12:00'\n---\n")},
        {"timezone": "Europe/Berlin", "stale_days": "20"})
    assert builder.site.horizon == 1743332400  # 2025-03-30T11:00:00Z
    at = 1743332400 - 3600 + (hour - 10) * 3600 + 1800  # half past the hour, UTC
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(at))
    other = builder.config.source_dir / "ai/tasks/f10.md"
    other.write_text("---\ntask_id: f10\nstatus: completed\n---\n# Edited\n")
    builder.rebuild({other})
    task = next(t for t in builder.site.tasks if t.id == "a")
    # As the rebuild kept it (its horizon) and as a whole build gives it.
    assert task.stale is stale
    assert is_stale(task, builder.config, builder.site.built_at) is stale
    badge = '<span class="badge badge-warn">stale</span>' in (
        builder.output_dir / "tasks/a.html").read_text()
    assert badge is stale


def test_a_build_without_search_removes_the_index_and_search_indexes_all_again(build_site):
    builder = build_site({"ai/tasks/a.md": "---\ntask_id: a\n---\n# One\n",
                          "ai/tasks/b.md": "---\ntask_id: b\n---\n# Two\n"}, {"search": "true"})
    (builder.config.source_dir / "ai/tasks/a.md").write_text("---\ntask_id: a\n---\n# Zebra\n")
    SiteBuilder(replace(builder.config, search=False)).build()
    index = builder.output_dir / "pagefind"
    assert not index.exists()  # it showed a as it was
    SiteBuilder(builder.config).build()
    assert bundles_state(builder)["delta"] == []
    assert page_count(index / "0") == 2
