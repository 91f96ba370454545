"""Summaries and plain text come from the parsed Markdown, not from its source."""

from __future__ import annotations

from conftest import full_tasks

TASK = ("---\ntask_id: s\n---\n# 任务描述\nRead [the *spec*](docs/a.md), `code` and "
        "<b>x</b> &amp; [js](javascript:alert(1)) ![a **pic**](p.png) now.\nMore.\n\n"
        "# 工作记录\n## 研究员 (2025-02-24)\n"
        "2025 年 **完成** [调研](https://x.org). Then more.\n")


def test_summary_and_text_show_what_the_page_shows(build_site):
    builder = build_site({"ai/tasks/s.md": TASK, "docs/a.md": "# A\n"})
    [task] = full_tasks(builder)
    assert task.summary == ("Read the spec, code and <b>x</b> & [js](javascript:alert(1)) "
                            "a pic now.")
    assert task.sections["description"].text == task.summary + " More."
    assert task.worklog[0].summary == "2025 年 完成 调研."
    data = (builder.output_dir / "assets/data.js").read_text(encoding="utf-8")
    assert ('"Read the spec, code and \\u003cb\\u003ex\\u003c/b\\u003e \\u0026 '
            '[js](javascript:alert(1)) a pic now. More."]') in data


def test_without_a_description_the_summary_is_the_first_paragraph(build_site):
    plain = ("---\ntask_id: p\n---\n# Fix login\n\n- [ ] a check\n\nUsers cannot log in\n\n"
             "## Work log\n\n## planner (2025-02-24 09:10)\nDid X\n")
    listed = "---\ntask_id: l\n---\n# 修复登录\n\n> 用户无法登录。其他\n\n- 第二\n"
    bare = "---\ntask_id: b\n---\n# Only a title\n"
    by_id = {t.id: t for t in full_tasks(build_site(
        {"ai/tasks/p.md": plain, "ai/tasks/l.md": listed, "ai/tasks/b.md": bare}))}
    assert {i: t.summary for i, t in by_id.items()} == {
        "p": "Users cannot log in", "l": "用户无法登录。", "b": ""}


def test_raw_html_is_left_out_when_sanitized(build_site):
    [task] = full_tasks(build_site({"ai/tasks/s.md": TASK}, {"html": "sanitize"}))
    assert task.summary.startswith("Read the spec, code and x & [js]")


def test_a_long_run_of_brackets(build_site):
    # The old pattern that stripped links from the source took minutes on this.
    text = "---\ntask_id: b\n---\n" + "[" * 200_000 + "\n"
    [task] = full_tasks(build_site({"ai/tasks/b.md": text}))
    assert task.text == "[" * 400
