"""Work-log entries: which headings are entries, where each ends, what it counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from conftest import full_tasks
from markdown_it.token import Token

from taskmon_site.config import Config
from taskmon_site.markdown import Heading
from taskmon_site.model import Task
from taskmon_site.reading import _checklist, _worklog


def read(build_site, body: str, front: str = "task_id: w\n", files: dict | None = None):
    builder = build_site({"ai/tasks/w.md": f"---\n{front}---\n{body}", **(files or {})})
    return full_tasks(builder)[0]


def test_an_entry_ends_at_the_next_entry_heading_of_any_level(build_site):
    body = ("# 工作记录\n\n## 研究员 (2025-02-23 10:00)\n- [x] a\n- [ ] b\n"
            "### 完成项\n- [x] c\n"
            "### 规划员 (2025-02-24 10:00)\n- [x] d\n  - [x] d1\n- [ ] e\n"
            "## 执行员 (2025-02-25 10:00)\n- [x] f\n")
    task = read(build_site, body)
    assert [(e.role, [i.text for i in e.items]) for e in task.worklog] == [
        ("researcher", ["a", "b", "c"]), ("planner", ["d", "d1", "e"]), ("executor", ["f"])]
    assert task.progress.total == sum(e.progress.total for e in task.worklog) == 7


def test_checklist_groups_and_entry_items_scale_linearly():
    # The old code scanned every heading per item and every item per entry:
    # at this size it ran for many minutes; the assertions are on what is read.
    n = 50_000
    heads = [Heading(2, f"执行员 (2025-02-24 {k % 24:02d}:00)", f"h{k}", 2 * k)
             for k in range(n)]
    tokens, lines = [], []
    for k in range(n):
        lines += [f"## {heads[k].text}", f"- [{'x' if k % 2 else ' '}] item {k}"]
        tokens += [Token("list_item_open", "li", 1, attrs={"class": "task-list-item"},
                         map=[2 * k + 1, 2 * k + 2]),
                   Token("inline", "", 0, content=f"item {k}")]
    task = Task("ai/tasks/big.md", Path("big.md"), "tasks/big.html")
    task.items = _checklist(tokens, lines, heads, 5)
    assert (len(task.items), task.items[-1].group, task.items[-1].line) == (
        n, heads[-1].text, 2 * n + 4)
    task.worklog = _worklog(task, heads, tokens, 5, Config(Path(".")))
    assert len(task.worklog) == n
    assert all(e.items == [task.items[k]] for k, e in enumerate(task.worklog))


def test_configured_role_spellings_apply_to_entry_headings(build_site):
    body = ("# 工作记录\n\n## tech lead (2025-02-24 10:00)\ndid things\n\n"
            "## 审核员 (2025-02-24 11:00)\n")
    toml = '[roles]\n"tech lead" = "manager"\n"审核员" = "manager"\n'
    task = read(build_site, body, "task_id: w\ncurrent_role: tech lead\n", {"taskmon.toml": toml})
    assert task.current_role == "manager"
    assert [(e.role, e.role_raw) for e in task.worklog] == [
        ("manager", "tech lead"), ("manager", "审核员")]
    assert task.problems == []


def test_entries_at_the_level_of_the_work_log_heading_are_kept(build_site):
    body = ("# Task\n\n## 工作记录\n\n## 审核员 (2025-02-24 11:00)\nok\n"
            "### 完成项\n- [x] a\n"
            "## 研究员 (2025-02-25 09:00)\n- [ ] b\n## 2025-02-26\n"
            "## 相关文档\n## 编辑 (2025-02-27)\n## 执行员 (2025-02-28)\n")
    task = read(build_site, body)
    assert [(e.role, e.role_raw, e.when_raw, e.progress.total) for e in task.worklog] == [
        (None, "审核员", "2025-02-24 11:00", 1),
        ("researcher", "研究员", "2025-02-25 09:00", 1),
        (None, "", "2025-02-26", 0), ("executor", "执行员", "2025-02-28", 0)]
    assert task.worklog[0].summary == "ok"


def test_common_entry_heading_variants(build_site):
    body = ("# 工作记录\n\n## 执行员 (2025-02-24 11:00) 完成实现\n"
            "## **调试员** (2025-02-24 12:00)\n## 管理者（2025年2月24日 13:00）\n"
            "## 2025-02-25 研究员\n## (2025-02-26) planner: 拆分任务\n"
            "## 2025-02-27 修复登录\n### 2025-02-28\n")
    task = read(build_site, body)
    assert [(e.role, e.role_raw, e.when_raw, str(e.when), e.summary) for e in task.worklog] == [
        ("executor", "执行员", "2025-02-24 11:00", "2025-02-24 11:00:00", "完成实现"),
        ("debugger", "调试员", "2025-02-24 12:00", "2025-02-24 12:00:00", ""),
        ("manager", "管理者", "2025年2月24日 13:00", "2025-02-24 13:00:00", ""),
        ("researcher", "研究员", "2025-02-25", "2025-02-25", ""),
        ("planner", "planner", "2025-02-26", "2025-02-26", "拆分任务"),
        (None, "", "2025-02-27", "2025-02-27", "修复登录"),
        (None, "", "2025-02-28", "2025-02-28", ""),
    ]
    assert task.problems == []


def test_entry_headings_with_a_time_zone_offset_or_fractions_of_a_second(build_site):
    body = ("# Work log\n\n## researcher (2025-02-23 23:51:07+08:00)\n"
            "## planner (2025-02-23T23:51:07Z)\n## executor (2025-02-23 23:51 +08:00)\n"
            "## debugger (2025-02-23 23:51:07.123456789)\n## manager (2025-02-23 23:51+24:00)\n")
    task = read(build_site, body)
    assert [(e.role, e.when_raw, e.when) for e in task.worklog] == [
        ("researcher", "2025-02-23 23:51:07+08:00",
         datetime(2025, 2, 23, 23, 51, 7, tzinfo=timezone(timedelta(hours=8)))),
        ("planner", "2025-02-23T23:51:07Z",
         datetime(2025, 2, 23, 23, 51, 7, tzinfo=UTC)),
        ("executor", "2025-02-23 23:51 +08:00",
         datetime(2025, 2, 23, 23, 51, tzinfo=timezone(timedelta(hours=8)))),
        ("debugger", "2025-02-23 23:51:07.123456789", datetime(2025, 2, 23, 23, 51, 7, 123456)),
        ("manager", "2025-02-23 23:51+24:00", None)]
    assert [str(p) for p in task.problems] == [
        "ai/tasks/w.md:10: work-log date '2025-02-23 23:51+24:00' is not a date"]


def test_the_text_after_an_entry_date_loses_its_separator_not_its_sign(build_site):
    body = ("# Work log\n\n## 研究员 (2025-02-23 23:51) - 2 items\n"
            "## planner (2025-02-24): done\n"
            "## 2025-03-09 - 2 items\n## 2025-03-10 10:00 -5 items\n## 2025-03-04 -0800 deploy\n"
            "## 执行员（2025-03-05）：完成\n")
    task = read(build_site, body)
    assert [(e.role, e.when_raw, e.summary) for e in task.worklog] == [
        ("researcher", "2025-02-23 23:51", "2 items"), ("planner", "2025-02-24", "done"),
        (None, "2025-03-09", "2 items"), (None, "2025-03-10 10:00", "-5 items"),
        (None, "2025-03-04", "-0800 deploy"), ("executor", "2025-03-05", "完成")]


def test_variants_outside_the_work_log_need_a_known_role(build_site):
    body = ("# Notes\n\n## 2025-02-25 研究员\n## Release (2025-02-24) notes\n"
            "## 2025-02-27 修复登录\n## 研究员 (2025-02-24) 完成\n")
    task = read(build_site, body)
    assert [(e.role, e.when_raw, e.summary) for e in task.worklog] == [
        ("researcher", "2025-02-25", ""), ("researcher", "2025-02-24", "完成")]


def test_an_entry_whose_date_does_not_parse_is_kept_and_reported(build_site):
    body = "# 工作记录\n\n## 研究员 (2025-13-45)\n- [x] a\n## 审核员 (2025-02-30 10:00)\n"
    task = read(build_site, body)
    assert [(e.role, e.role_raw, e.when_raw, e.when) for e in task.worklog] == [
        ("researcher", "研究员", "2025-13-45", None),
        (None, "审核员", "2025-02-30 10:00", None)]
    assert [str(p) for p in task.problems] == [
        "ai/tasks/w.md:6: work-log date '2025-13-45' is not a date",
        "ai/tasks/w.md:8: work-log date '2025-02-30 10:00' is not a date"]


def test_long_heading_with_a_date_is_read_in_linear_time(build_site):
    spaces = " " * 100_000
    task = read(build_site, f"## 研究员{spaces}(2025-02-24){spaces}完成\n## a{spaces}b\n")
    assert [(e.role, e.when_raw, e.summary) for e in task.worklog] == [
        ("researcher", "2025-02-24", "完成")]
