"""Reading task files: both key variants, old files, odd encodings, bad front matter."""

from __future__ import annotations

from datetime import date, datetime

from conftest import full_tasks, task_by_id

EN_TASK = """---
task_id: task_20250101_090000_abcdef12
session_id: s1
flow_file: ai/tasker.md
current_role: researcher
next_role: planner
status: review
created_at: "2025-01-01 09:00:00"
updated_at: "2025-01-02 10:30:00"
estimate: 3d
---

# Task description
Add a login page. It must support SSO.

# Current state
Research done.

# Work log
## Researcher (2025-01-01 09:00)
Looked at the auth code.

### Done
- [x] read auth.py
  - [x] nested item
- [ ] open question

## 规划员 (2025-01-02 10:30)
Planned.

### 交接清单
- [ ] write the page
"""

ZH_TASK = """---
流程: ai/tasker-v2.md
任务ID: 0012
当前角色: 执行员
下一角色: 调试员
状态: 返工
创建: 2025-02-23
更新: "2025-02-24 08:00:00"
完成: ""
---

# 最初任务描述
> 实现缓存

# 当前状态
返工中。

# 工作记录
## 执行员 （2025-02-24 08:00）
完成了缓存。

### 完成项
- [x] 实现 LRU
"""


def test_english_keys(build_site):
    builder = build_site({"ai/tasks/a.md": EN_TASK})
    task = task_by_id(builder, "task_20250101_090000_abcdef12")
    assert (task.status, task.current_role, task.next_role) == ("review", "researcher", "planner")
    assert task.session == "s1" and task.flow == "ai/tasker.md"
    assert task.created == datetime(2025, 1, 1, 9, 0, 0)
    assert task.updated_raw == "2025-01-02 10:30:00"
    assert task.extra == {"estimate": "3d"}
    assert task.title == "Add a login page" and task.title_from == "description"
    assert task.summary == "Add a login page."
    assert set(task.sections) == {"description", "state", "worklog"}


def test_work_log_entries_and_checklists(build_site):
    task = task_by_id(build_site({"ai/tasks/a.md": EN_TASK}), "task_20250101_090000_abcdef12")
    assert [(e.role, e.role_raw, e.when_raw) for e in task.worklog] == [
        ("researcher", "Researcher", "2025-01-01 09:00"),
        ("planner", "规划员", "2025-01-02 10:30"),
    ]
    first, second = task.worklog
    assert (first.progress.done, first.progress.total) == (2, 3)
    assert [i.text for i in first.handover] == ["open question"]
    assert first.items[0].group == "Done" and first.items[0].line == 24
    assert (second.progress.done, second.progress.total) == (0, 1)
    assert (task.progress.done, task.progress.total) == (2, 4)
    assert first.summary == "Looked at the auth code."


def test_chinese_keys_and_values(build_site):
    task = task_by_id(build_site({"ai/tasks/b.md": ZH_TASK}), "0012")
    assert task.id == "0012"  # not 12, not octal 10
    assert (task.status, task.current_role, task.next_role) == ("rework", "executor", "debugger")
    assert task.status_raw == "返工"
    assert task.created == date(2025, 2, 23) and task.created_raw == "2025-02-23"
    assert task.flow == "ai/tasker-v2.md"
    assert task.completed is None and task.completed_raw == ""
    assert [(e.role, e.when_raw) for e in task.worklog] == [("executor", "2025-02-24 08:00")]
    assert task.sections["description"].heading == "最初任务描述"


def test_date_only_value_is_not_shifted_by_timezone(build_site):
    builder = build_site({"ai/tasks/b.md": ZH_TASK}, {"timezone": "America/Los_Angeles"})
    data = full_tasks(builder)[0].to_json()
    assert data["created"] == "2025-02-23"
    assert data["updated"] == "2025-02-24T08:00:00-08:00"


def test_file_without_front_matter(build_site):
    text = ("# Cache rewrite\n\nflow_file: ai/tasker.md # 工作流程文档\nstatus: paused\n\n"
            "## 项目概述\nRewrite it.\n\n## 工作日志\n\n### 2024-03-27\n- [x] one\n- [ ] two\n")
    task = full_tasks(build_site({"ai/tasks/cache_rewrite.md": text}))[0]
    assert task.has_front_matter is False
    assert (task.id, task.title, task.title_from) == ("cache_rewrite", "Cache rewrite", "heading")
    assert task.flow == "ai/tasker.md" and task.status == "paused"
    assert [(e.role, e.when_raw, e.progress.done, e.progress.total) for e in task.worklog] == [
        (None, "2024-03-27", 1, 2)]


def test_title_prefers_front_matter_then_first_specific_h1_then_the_description(build_site):
    long = "很长的描述" * 20
    files = {
        "ai/tasks/t1.md": "---\ntask_id: t1\ntitle: From meta\n---\n# Heading title\n",
        "ai/tasks/t2.md": "---\ntask_id: t2\n---\n# 任务描述\ntext\n# Real title\n",
        "ai/tasks/t3.md": "---\ntask_id: t3\n---\n# 任务描述\nFirst line\nwraps. Then more.\n",
        "ai/tasks/t4.md": "---\ntask_id: t4\n---\n# 相关文档\n- a.md\n\n# 最初任务描述\n"
                          "> 优化 arch 的\n> WebSocket 服务\n\n# 任务描述\n别的。\n",
        "ai/tasks/t5.md": "---\ntask_id: t5\n---\n# Description\n| a |\n|---|\n| b |\n\n"
                          "- [ ] 写测试。然后\n",
        "ai/tasks/t6.md": f"---\ntask_id: t6\n---\n## 任务描述\n{long}。\n",
        "ai/tasks/t7.md": ("---\ntask_id: t7\n---\n# 任务描述\n```\ncode\n```\n"
                          "# 当前状态\n进行中。\n"),
    }
    builder = build_site(files)
    assert [(t.id, t.title, t.title_from) for t in builder.site.tasks] == [
        ("t1", "From meta", "front matter"), ("t2", "Real title", "heading"),
        ("t3", "First line wraps", "description"),
        ("t4", "优化 arch 的 WebSocket 服务", "description"),
        ("t5", "写测试", "description"),
        ("t6", long[:79] + "…", "description"),
        ("t7", "t7", "id")]


def test_the_corpus_task_without_a_title_is_named_by_its_description(corpus, build_site):
    from pathlib import Path

    name = "ai/tasks/task_20250222_231952_90755fe4.md"
    builder = build_site({name: Path(corpus, name).read_bytes()})
    task = builder.site.tasks[0]
    assert (task.id, task.title, task.title_from) == (
        "task_20250222_231952_90755fe4",
        "优化 taskmon.html 和 taskmon.py，提升用户体验和代码质量", "description")
    assert task.summary == "优化 taskmon.html 和 taskmon.py，提升用户体验和代码质量。"
    html = (builder.output_dir / task.url).read_text(encoding="utf-8")
    assert "<h1>优化 taskmon.html 和 taskmon.py，提升用户体验和代码质量</h1>" in html


def test_bom_crlf_and_gb18030(build_site):
    files = {
        "ai/tasks/bom.md": b"\xef\xbb\xbf" + EN_TASK.replace("\n", "\r\n").encode("utf-8"),
        "ai/tasks/gbk.md": ZH_TASK.replace("0012", "gbk-1").encode("gb18030"),
    }
    builder = build_site(files)
    bom = task_by_id(builder, "task_20250101_090000_abcdef12")
    assert bom.status == "review" and len(bom.worklog) == 2 and bom.problems == []
    gbk = task_by_id(builder, "gbk-1")
    assert gbk.current_role == "executor"
    assert [str(p) for p in gbk.problems] == ["ai/tasks/gbk.md: not UTF-8; decoded as GB18030"]


def test_invalid_front_matter_is_listed_with_file_and_line(build_site):
    broken = "---\ntask_id: bad\nstatus: [unclosed\nnext_role: x\n---\n# Broken task\n"
    builder = build_site({"ai/tasks/bad.md": broken, "ai/tasks/a.md": EN_TASK})
    assert len(builder.site.tasks) == 2  # the good file is not hidden by the broken one
    bad = task_by_id(builder, "bad")
    assert bad.title == "Broken task"
    [problem] = bad.problems
    assert (problem.src_uri, problem.line, problem.level) == ("ai/tasks/bad.md", 4, "error")
    assert problem.message == ("front matter is not valid YAML: did not find expected ',' or "
                               "']' (while parsing a flow sequence that starts on line 3)")
    assert (builder.output_dir / "tasks/bad.html").is_file()


def test_unclosed_front_matter(build_site):
    task = full_tasks(build_site({"ai/tasks/u.md": "---\ntask_id: u\n# Title\n"}))[0]
    assert [(p.line, p.message) for p in task.problems] == [
        (1, "front matter is not closed by a '---' line")]


def test_duplicate_keys_and_ids_are_warnings_naming_files(build_site):
    dup_key = "---\ntask_id: same\nstatus: pending\nstatus: completed\n---\n"
    builder = build_site({"ai/tasks/x.md": dup_key, "tasks/y.md": "---\ntask_id: same\n---\n"})
    x = next(t for t in builder.site.tasks if t.src_uri == "ai/tasks/x.md")
    assert x.status == "completed"
    messages = [str(p) for p in builder.site.problems]
    assert "ai/tasks/x.md:4: duplicate front-matter key 'status'; the last value is used" in messages
    assert "ai/tasks/x.md: duplicate task id 'same' (also in: tasks/y.md)" in messages
    assert "tasks/y.md: duplicate task id 'same' (also in: ai/tasks/x.md)" in messages
    assert len({t.url for t in builder.site.tasks}) == 2


def test_unknown_status_and_role_are_reported_and_kept(build_site):
    text = "---\ntask_id: q\nstatus: someday\ncurrent_role: astronaut\n---\n"
    task = full_tasks(build_site({"ai/tasks/q.md": text}))[0]
    assert (task.status, task.status_raw, task.current_role_raw) == (None, "someday", "astronaut")
    assert [p.message for p in task.problems] == ["unknown status 'someday'",
                                                  "unknown role 'astronaut'"]


def test_backlog_preset_reads_other_trackers(build_site):
    text = ("---\nid: task-7\ntitle: Fix login\nstatus: To Do\nassignee: [executor]\n"
            "labels: [auth, ui]\npriority: high\ndependencies: [task-3]\n"
            "created_date: '2025-06-01 10:00'\nupdated_date: '2025-06-02'\n---\nBody\n")
    builder = build_site({"backlog/tasks/task-7.md": text},
                         {"tasks": ["backlog/tasks/*.md"]})
    builder_preset = builder  # default preset finds id/title/status/labels too
    task = full_tasks(builder_preset)[0]
    assert (task.id, task.title, task.status) == ("task-7", "Fix login", "pending")
    assert task.labels == ["auth", "ui"] and task.priority == "high"


def test_backlog_preset_via_config_file(build_site):
    text = ("---\nid: task-7\ntitle: Fix login\nstatus: Done\nassignee: [planner]\n"
            "created_date: '2025-06-01 10:00'\nupdated_date: '2025-06-02'\n---\nBody\n")
    toml = '[fields]\npreset = "backlog"\n'
    builder = build_site({"tasks/task-7.md": text, "taskmon.toml": toml})
    task = full_tasks(builder)[0]
    assert (task.status, task.current_role) == ("completed", "planner")
    assert task.updated_raw == "2025-06-02" and task.dependencies == []
    assert task.extra == {}


def test_unknown_fields_are_kept_in_order(build_site):
    text = "---\ntask_id: k\nzeta: 1\nalpha: [a, b]\nnested: {x: 1}\n---\n"
    builder = build_site({"ai/tasks/k.md": text})
    task = full_tasks(builder)[0]
    assert list(task.extra.items()) == [("zeta", "1"), ("alpha", ["a", "b"]),
                                        ("nested", {"x": "1"})]
    html = (builder.output_dir / task.url).read_text(encoding="utf-8")
    assert "<dt>zeta</dt><dd>1</dd>" in html
    assert "<dt>alpha</dt><dd><code>[\"a\", \"b\"]</code></dd>" in html


def test_undecodable_bytes_are_replaced_and_reported_with_line(build_site):
    data = b"---\ntask_id: raw\n---\n# Title\n\nbad \xff\xff here\n"
    task = full_tasks(build_site({"ai/tasks/raw.md": data}))[0]
    assert [(p.line, p.message) for p in task.problems] == [
        (6, "not valid UTF-8; bad bytes replaced")]
    assert task.title == "Title"


def test_links_to_other_repository_files_use_repo_url(build_site):
    files = {"ai/tasks/a.md": "---\ntask_id: a\n---\n[code](../../src/main.c#L3) [gone](nope.c)\n",
             "src/main.c": "int main;\n"}
    builder = build_site(files, {"repo_url": "https://git.example/r/blob/main/"})
    html = (builder.output_dir / "tasks/a.html").read_text()
    assert '<a href="https://git.example/r/blob/main/src/main.c#L3">code</a>' in html
    assert '<a href="nope.c">gone</a>' in html


def test_problems_page_lists_every_problem(build_site):
    files = {"ai/tasks/a.md": "---\ntask_id: a\nstatus: [\n---\n",
             "ai/tasks/b.md": "---\ntask_id: b\nstatus: soon\n---\n"}
    builder = build_site(files)
    html = (builder.output_dir / "problems.html").read_text()
    assert html.count("<tr class=\"level-") == 2
    assert "<code>ai/tasks/a.md</code>" in html and "<td>4</td>" in html
    assert "unknown status &#39;soon&#39;" in html


def test_a_new_task_from_the_tool_shows_its_title(build_site):
    from datetime import datetime

    from taskmon_site.taskedit import new_task_text

    now = datetime(2026, 12, 3, 10, 0)
    files = {"ai/tasks/zh.md": new_task_text('实现 "登录": 第一步', "zh", now, task_id="t_zh"),
             "ai/tasks/en.md": new_task_text("Fix: login # now", "en", now, task_id="t_en")}
    builder = build_site(files)
    assert [(t.id, t.title, t.status, t.current_role) for t in builder.site.tasks] == [
        ("t_en", "Fix: login # now", "pending", "researcher"),
        ("t_zh", '实现 "登录": 第一步', "pending", "researcher")]
    assert builder.site.problems == []


WRAPPED_ZH = """---
task_id: wrapped
status: pending
---
# 任务描述
上线 ledger-api 前，需要把表格数据
清洗成统一格式的 CSV，整理科目和分录
（postings）。English words
on two lines keep their space.

# 工作记录
## 研究员 (2025-01-01 09:00)
对比了三种建模方式，**结论**是两表结构
最适合。其余见下文。

## Planner (2025-01-02 10:00)
Keys live in PostgreSQL, in the same transaction as the postings, so a crash can
never leave postings without their key. More later.
"""


def test_soft_line_breaks_between_chinese_characters_add_no_space(build_site):
    builder = build_site({"ai/tasks/w.md": WRAPPED_ZH})
    task = task_by_id(builder, "wrapped")
    description = ("上线 ledger-api 前，需要把表格数据清洗成统一格式的 CSV，整理科目和分录"
                   "（postings）。English words on two lines keep their space.")
    assert task.sections["description"].text == description
    assert task.text.startswith("任务描述 " + description + " 工作记录 ")
    assert task.summary == description.split("English")[0]
    assert [e.summary for e in task.worklog] == [
        "对比了三种建模方式，结论是两表结构最适合。",
        "Keys live in PostgreSQL, in the same transaction as the postings, so a crash can "
        "never leave postings without their key."]
    data_js = (builder.output_dir / "assets/data.js").read_text(encoding="utf-8")
    assert "需要把表格数据清洗成统一格式的 CSV，整理科目和分录（postings）。" in data_js
    html = (builder.output_dir / task.url).read_text(encoding="utf-8")
    assert ("<p>上线 ledger-api 前，需要把表格数据清洗成统一格式的 CSV，整理科目和分录（postings）。"
            "English words\non two lines keep their space.</p>") in html
    assert "<p>对比了三种建模方式，<strong>结论</strong>是两表结构最适合。其余见下文。</p>" in html


def test_many_files_with_one_id_name_five_others_and_count_the_rest(build_site):
    files = {f"ai/tasks/t{i:02}.md": "---\ntask_id: same\n---\n" for i in range(9)}
    builder = build_site(files)
    messages = [str(p) for p in builder.site.problems]
    assert len(messages) == 9
    assert messages[0] == ("ai/tasks/t00.md: duplicate task id 'same' (also in: ai/tasks/t01.md, "
                           "ai/tasks/t02.md, ai/tasks/t03.md, ai/tasks/t04.md, ai/tasks/t05.md "
                           "and 3 more)")
    assert messages[8] == ("ai/tasks/t08.md: duplicate task id 'same' (also in: ai/tasks/t00.md, "
                           "ai/tasks/t01.md, ai/tasks/t02.md, ai/tasks/t03.md, ai/tasks/t04.md "
                           "and 3 more)")
