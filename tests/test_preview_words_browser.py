"""The preview's words in a real browser: from the theme's strings.toml, in the site's language."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from test_actions_browser import SOURCE, browser, page, site, task, task_url  # noqa: F401

from taskmon_site.urls import LIST_URL

SHOTS = Path(__file__).resolve().parent / "artifacts"

ZH_SITE = {
    **SOURCE,
    "taskmon.toml": 'lang = "zh"\ntheme = "theme"\n',
    "theme/strings.toml": '[zh]\naction_comment = "留言"\npreview_connected = "连上了"\n',
    "ai/tasks/task_done.md": task("task_done", "completed", "debugger", "manager"),
}


def test_a_chinese_site_shows_the_preview_in_chinese(site, page):
    with site(ZH_SITE) as (src, server):
        page.goto(task_url(server, "task_a"))
        panel = page.locator(".taskmon-actions")
        expect(panel).to_have_attribute("aria-label", "操作")
        expect(panel.locator("h2")).to_have_text(["更改状态", "交接", "留言"])
        expect(page.locator('[data-action="handoff"]')).to_have_text("交给执行员")
        expect(panel.locator("label.taskmon-inline")).to_contain_text("之后交给")
        expect(panel.locator(".taskmon-comment textarea")).to_have_attribute(
            "placeholder", "写一条评论…")
        expect(panel.locator(".taskmon-comment button[type=submit]")).to_have_text("添加评论")
        expect(page.locator("taskmon-preview #state")).to_have_text("连上了")
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "preview-zh-task.png"), full_page=True)

        page.goto(task_url(server, "task_done"))
        expect(page.locator(".taskmon-actions")).to_contain_text("该状态为终态。")
        expect(page.locator(".taskmon-actions")).to_contain_text("已结束的任务不再交接。")
        expect(page.locator('[data-action="handoff"]')).to_have_count(0)

        page.goto(server.url + LIST_URL)
        expect(page.locator("thead .taskmon-select input")).to_have_attribute(
            "aria-label", "选择所有显示的任务")
        page.locator('tr[data-task-id="task_a"] .taskmon-select input').check()
        bulk = page.locator(".taskmon-bulk")
        expect(bulk).to_contain_text("已选 1 项")
        expect(bulk.locator('[data-action="bulk-status"]')).to_have_text("应用")
        page.screenshot(path=str(SHOTS / "preview-zh-list.png"), full_page=True)
    assert page.errors == []
