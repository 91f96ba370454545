"""Task actions in a real browser, on the real preview server with the API mounted.

Until serve.py mounts the API, :class:`ActionsServer` does what it is to do:
the API's routes ahead of the site's, and the snippet in every served page.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
import test_serve
from playwright.sync_api import expect
from test_serve import fetch, poll, real_site, serving

from taskmon_site import actions, serve
from taskmon_site.config import load_config
from taskmon_site.urls import BOARD_URL, LIST_URL

TOKEN = actions.new_token()


def task(task_id: str, status: str, current: str = "planner", next_role: str = "executor",
         title: str = "") -> str:
    return (f"---\ntask_id: {task_id}\ncurrent_role: {current}\nnext_role: {next_role}\n"
            f"status: {status}\nupdated_at: \"2025-02-23 23:52:30\"\n---\n\n"
            f"# {title or task_id.replace('_', ' ').title()}\n")


SOURCE = {
    "taskmon.toml": 'title = "Actions demo"\n',
    "ai/tasks/task_a.md": task("task_a", "in_progress"),
    "ai/tasks/task_b.md": task("task_b", "in_progress", "executor", "debugger"),
    "ai/tasks/task_c.md": task("task_c", "pending", "researcher", "planner"),
}


class ActionsServer(serve.PreviewServer):
    """The preview server with the task actions mounted, as serve.py is to do it."""

    def _application(self):
        app = super()._application()
        config = load_config(self.site.source_dir)
        app.add_handlers(r".*", actions.api_routes(lambda: config, TOKEN, lambda: self.url))
        return app


@pytest.fixture(scope="module")
def browser():
    """This module's own Chromium, stopped when the module ends.

    A Playwright session left running keeps an event loop on the main thread,
    so tests collected after this module that call asyncio.run() would fail.
    """
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/install-browser")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(page):
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return page


@pytest.fixture
def site(make_tree, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    injected = serve.inject_preview

    def inject(page_bytes: bytes, *args, **kwargs) -> bytes:
        page_bytes = injected(page_bytes, *args, **kwargs)
        head = page_bytes.lower().find(b"</head>")
        return page_bytes[:head] + actions.preview_snippet(TOKEN).encode() + page_bytes[head:]

    if not hasattr(serve, "actions"):  # until serve.py mounts the API itself
        monkeypatch.setattr(serve, "inject_preview", inject)
        monkeypatch.setattr(test_serve, "PreviewServer", ActionsServer)

    @contextmanager
    def start(files: dict[str, str] = SOURCE):
        src = make_tree(files)
        with serving(real_site(src)) as server:
            yield src, server

    return start


def task_url(server, task_id: str) -> str:
    data = json.loads(fetch(server.url + "tasks.json")[2])
    return server.url + next(t["url"] for t in data["tasks"] if t["id"] == task_id)


def status_in(path: Path) -> str:
    return re.search(r"^status: (.*)$", path.read_text(encoding="utf-8"), re.M).group(1)


def test_a_status_button_changes_the_file_and_the_page_updates(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        buttons = page.locator(".taskmon-actions button[data-status]")
        expect(buttons).to_have_count(4)
        assert buttons.evaluate_all("bs => bs.map(b => b.dataset.status)") == [
            "paused", "review", "completed", "failed"]

        with page.expect_event("load", timeout=10_000):
            page.locator('button[data-status="review"]').click()
        expect(page.locator('[data-field="status"] .status')).to_have_class(
            re.compile(r"\bstatus-review\b"))
        assert status_in(src / "ai/tasks/task_a.md") == "review"
        assert page.locator(".taskmon-actions button[data-status]").evaluate_all(
            "bs => bs.map(b => b.dataset.status)") == ["completed", "rework"]
    assert page.errors == []


def test_hand_off_and_comment_from_the_task_page(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        expect(page.locator('[data-action="handoff"]')).to_have_text("Hand off to Executor")
        expect(page.locator('select[name="to"]')).to_have_value("debugger")
        with page.expect_event("load", timeout=10_000):
            page.locator('[data-action="handoff"]').click()
        expect(page.locator('[data-field="current_role"] .role')).to_have_class(
            re.compile(r"\brole-executor\b"))

        page.locator(".taskmon-comment textarea").fill("Ready when you are")
        page.locator(".taskmon-comment input[name=author]").fill("Ann")
        with page.expect_event("load", timeout=10_000):
            page.locator(".taskmon-comment button[type=submit]").click()
        expect(page.locator(".markdown-body")).to_contain_text("Ann: Ready when you are")
        expect(page.locator(".taskmon-comment input[name=author]")).to_have_value("Ann")
    text = (src / "ai/tasks/task_a.md").read_text(encoding="utf-8")
    assert "current_role: executor\nnext_role: debugger\n" in text
    stamp = r"\*\*\d{4}-\d\d-\d\d \d\d:\d\d\*\*"
    assert re.search(rf"# Comments\n\n- {stamp} Ann: Ready when you are\n$", text)
    assert page.errors == []


def test_a_failed_change_offers_a_retry(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        refused = []

        def first_refused(route):
            if not refused:
                refused.append(route.request.post_data)
                route.fulfill(status=409, content_type="application/json", body=json.dumps(
                    {"ok": False, "error": "changed on disk", "allowed": []}))
            else:
                route.continue_()

        page.route("**/_taskmon/api/**", first_refused)
        page.locator('button[data-status="paused"]').click()
        notice = page.locator("#taskmon-notice")
        expect(notice).to_have_attribute("data-state", "error")
        expect(notice).to_contain_text("The file changed on disk meanwhile.")
        assert status_in(src / "ai/tasks/task_a.md") == "in_progress"

        with page.expect_event("load", timeout=10_000):
            notice.locator('[data-action="retry"]').click()
        assert json.loads(refused[0]) == {"status": "paused"}
        assert status_in(src / "ai/tasks/task_a.md") == "paused"
    # Chromium logs every error response; the 409 was the test's own.
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"]


def test_dragging_a_card_to_another_column_changes_the_file(site, page):
    with site() as (src, server):
        page.goto(server.url + BOARD_URL)
        card = page.locator('.card[data-task-id="task_b"]')
        expect(card).to_have_attribute("draggable", "true")

        card.drag_to(page.locator('.column[data-status="review"]'))
        poll(lambda: status_in(src / "ai/tasks/task_b.md") == "review", timeout=10)
        expect(page.locator('.column[data-status="review"] .card[data-task-id="task_b"]')
               ).to_be_visible(timeout=10_000)
    assert page.errors == []


def test_a_drop_the_lifecycle_forbids_explains_and_writes_nothing(site, page):
    with site() as (src, server):
        page.goto(server.url + BOARD_URL)
        before = (src / "ai/tasks/task_c.md").read_bytes()
        page.locator('.card[data-task-id="task_c"]').drag_to(
            page.locator('.column[data-status="review"]'))
        notice = page.locator("#taskmon-notice")
        expect(notice).to_have_attribute("data-state", "error")
        expect(notice).to_contain_text("Review is not allowed from Pending. Allowed: In progress.")
        assert (src / "ai/tasks/task_c.md").read_bytes() == before
    assert page.errors == []


def test_bulk_status_change_on_the_list(site, page):
    with site() as (src, server):
        page.goto(server.url + LIST_URL)
        page.locator('tr[data-task-id="task_a"] .taskmon-select input').check()
        page.locator('tr[data-task-id="task_c"] .taskmon-select input').check()
        bulk = page.locator(".taskmon-bulk")
        expect(bulk).to_contain_text("2 selected")
        expect(bulk).to_contain_text("No status change is allowed for all selected tasks.")

        page.locator('tr[data-task-id="task_c"] .taskmon-select input').uncheck()
        page.locator('tr[data-task-id="task_b"] .taskmon-select input').check()
        assert bulk.locator("select option").evaluate_all(
            "os => os.map(o => o.value)") == ["paused", "review", "completed", "failed"]
        bulk.locator("select").select_option("review")
        with page.expect_event("load", timeout=10_000):
            bulk.locator('[data-action="bulk-status"]').click()
    assert [status_in(src / f"ai/tasks/task_{x}.md") for x in "abc"] == [
        "review", "review", "pending"]
    assert page.errors == []


def test_a_chinese_site_gets_chinese_words(site, page):
    files = {**SOURCE, "taskmon.toml": 'lang = "zh"\n'}
    with site(files) as (src, server):
        page.goto(task_url(server, "task_a"))
        expect(page.locator(".taskmon-actions")).to_contain_text("更改状态")
        expect(page.locator('button[data-status="review"]')).to_have_text("待审核")
    assert page.errors == []


PLAIN_BOARD = """\
{% extends "base.html" %}
{% block kind %}board{% endblock %}
{% block main %}<div class="board">{% for status, cards in columns.items() %}
<section class="column status-col-{{ status }}"><h2>{{ label(status) }}</h2>
<div class="cards">{{ cards }}</div></section>{% endfor %}</div>{% endblock %}
"""


def test_a_plain_board_without_the_themes_board_script_still_takes_drops(site, page):
    files = {**SOURCE, "taskmon.toml": 'theme = "theme"\n',
             "theme/templates/board.html": PLAIN_BOARD}
    with site(files) as (src, server):
        page.goto(server.url + BOARD_URL)
        expect(page.locator(".board")).not_to_have_attribute("data-status-drop", "")
        page.locator('.card[data-task-id="task_b"]').drag_to(
            page.locator(".column.status-col-review"))
        poll(lambda: status_in(src / "ai/tasks/task_b.md") == "review", timeout=10)
    assert page.errors == []
