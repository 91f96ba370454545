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
from test_serve import fetch, poll, real_site, serving, write

from taskmon_site import actions, serve
from taskmon_site.config import load_config
from taskmon_site.urls import BOARD_URL, LIST_URL

TOKEN = actions.new_token()
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


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


def test_the_outcome_of_a_change_is_still_shown_after_the_reload(site, page):
    with site() as (_, server):
        page.goto(task_url(server, "task_a"))
        with page.expect_event("load", timeout=10_000):
            page.locator('button[data-status="review"]').click()
        expect(page.locator('[data-field="status"] .status')).to_have_class(
            re.compile(r"\bstatus-review\b"))
        expect(page.locator("#taskmon-notice .taskmon-notice-text")).to_have_text(
            "task_a: status is now Review. The page shows it now.")
        expect(page.locator("[data-updated-notice]")).to_be_hidden()  # the reader's own
        page.screenshot(path=ARTIFACTS / "actions-status-after-reload.png")
        page.reload()  # shown once: not again on the next load
        expect(page.locator("#taskmon-notice")).to_have_count(0)
    assert page.errors == []


def test_a_final_status_is_set_only_when_confirmed(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.locator('button[data-status="completed"]').click()
        assert asked == [("Completed is a final status: the preview offers no change after "
                          "it (only `taskmon-site task status --force` undoes it). Set it?")]
        expect(page.locator("#taskmon-notice")).to_have_count(0)
        assert status_in(src / "ai/tasks/task_a.md") == "in_progress"
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
        with page.expect_event("load", timeout=10_000):
            page.locator('button[data-status="failed"]').click()  # not final: not asked
        assert status_in(src / "ai/tasks/task_a.md") == "failed" and len(asked) == 1
        with page.expect_event("load", timeout=10_000):
            page.locator('button[data-status="cancelled"]').click()
        assert status_in(src / "ai/tasks/task_a.md") == "cancelled"
        assert asked[1].startswith("Cancelled is a final status")
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


def test_a_request_that_got_no_answer_is_retried_as_it_was(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        sent = []

        def unavailable_once(route):
            sent.append(json.loads(route.request.post_data))
            if len(sent) == 1:
                route.fulfill(status=503, content_type="application/json", body=json.dumps(
                    {"ok": False, "error": "the site has not been built yet; retry in a moment",
                     "allowed": []}))
            else:
                route.continue_()

        page.route("**/_taskmon/api/**", unavailable_once)
        page.locator('button[data-status="paused"]').click()
        notice = page.locator("#taskmon-notice")
        expect(notice).to_have_attribute("data-state", "error")
        expect(notice.locator(".taskmon-notice-text")).to_have_text(
            "Not saved: the site has not been built yet; retry in a moment")
        assert status_in(src / "ai/tasks/task_a.md") == "in_progress"

        with page.expect_event("load", timeout=10_000):
            notice.locator('[data-action="retry"]').click()
        assert status_in(src / "ai/tasks/task_a.md") == "paused"
    shown = {"status": "in_progress", "current_role": "planner", "next_role": "executor",
             "stamp": "2025-02-23 23:52:30"}
    assert sent == 2 * [{"status": "paused", "expect": shown}]
    # Chromium logs every error response; the 503 was the test's own.
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 503 "
        "(Service Unavailable)"]


def break_the_build(src: Path, server) -> None:
    """A broken config: rebuilds fail, so open pages keep what they showed."""
    (src / "taskmon.toml").write_text('title = "Actions demo"\nstale_days = "x"\n', "utf-8")
    poll(lambda: test_serve.status(server)["error"], timeout=10)


STALE = {
    "en": ("Hand off to Executor", "Not saved: {error}. Reload the page to see the task as it "
           "is now.", "Reload", "Hand off to Planner"),
    "zh": ("交给执行员", "未保存：{error}。请重新载入页面，查看任务现在的样子。", "重新载入",
           "交给规划员"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_task_changed_since_the_page_showed_it_is_refused_and_the_page_offers_a_reload(
        site, page, lang):
    before, text, reload, after = STALE[lang]
    config = f'title = "Actions demo"\nlang = "{lang}"\n'
    with site({**SOURCE, "taskmon.toml": config}) as (src, server):
        page.goto(task_url(server, "task_a"))
        expect(page.locator('[data-action="handoff"]')).to_have_text(before)
        break_the_build(src, server)
        page.locator("#dismiss").click()
        path = src / "ai/tasks/task_a.md"
        agent = path.read_text(encoding="utf-8").replace(
            "current_role: planner\nnext_role: executor",
            "current_role: executor\nnext_role: planner")
        path.write_text(agent, encoding="utf-8")  # an agent hands the task on meanwhile

        page.locator('[data-action="handoff"]').click()
        notice = page.locator("#taskmon-notice")
        expect(notice).to_have_attribute("data-state", "error")
        expect(notice.locator(".taskmon-notice-text")).to_have_text(text.format(error=(
            "task_a: changed since the page showed it: current role is now executor, not "
            "planner; next role is now planner, not executor")))
        expect(notice.locator('[data-action="retry"]')).to_have_count(0)
        expect(notice.locator('[data-action="reload"]')).to_have_text(reload)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"actions-stale-task-{lang}.png")
        assert path.read_text(encoding="utf-8") == agent

        with page.expect_event("load", timeout=10_000):
            notice.locator('[data-action="reload"]').click()
        # Still the last good build (the config is broken): what the page shows is old.
        expect(page.locator('[data-action="handoff"]')).to_have_text(before)
        with page.expect_event("load", timeout=10_000):
            (src / "taskmon.toml").write_text(config, "utf-8")
        expect(page.locator('[data-action="handoff"]')).to_have_text(after)
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"]


def test_the_notice_says_what_was_written(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        break_the_build(src, server)  # no reload: the notice stays to be read
        page.locator("#dismiss").click()
        page.locator('select[name="to"]').select_option("manager")
        page.locator('[data-action="handoff"]').click()
        notice = page.locator("#taskmon-notice .taskmon-notice-text")
        expect(notice).to_have_text("task_a: Executor has the task now, then Manager. Saved. "
                                    "The page updates when the site has been rebuilt.")
        page.screenshot(path=ARTIFACTS / "actions-handoff-saved.png")
    assert "current_role: executor\nnext_role: manager\n" in (
        src / "ai/tasks/task_a.md").read_text(encoding="utf-8")
    assert page.errors == []


def test_then_next_does_not_offer_the_role_taking_the_task(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        choices = page.locator('select[name="to"] option')
        assert choices.evaluate_all("os => os.map(o => o.value)") == [
            "manager", "researcher", "planner", "debugger"]
        expect(page.locator('select[name="to"]')).to_have_value("debugger")
    assert page.errors == []


def test_a_task_whose_id_is_in_two_files_is_changed_in_the_file_its_page_shows(site, page):
    files = {**SOURCE, "ai/tasks/dupcopy.md": SOURCE["ai/tasks/task_a.md"]}
    with site(files) as (src, server):
        data = json.loads(fetch(server.url + "tasks.json")[2])
        url = next(t["url"] for t in data["tasks"] if t["source"] == "ai/tasks/dupcopy.md")
        page.goto(server.url + url)
        with page.expect_event("load", timeout=10_000):
            page.locator('button[data-status="review"]').click()
        assert status_in(src / "ai/tasks/dupcopy.md") == "review"
        assert status_in(src / "ai/tasks/task_a.md") == "in_progress"
    assert page.errors == []


def test_a_comment_draft_survives_a_reload(site, page):
    with site() as (src, server):
        page.goto(task_url(server, "task_a"))
        page.locator(".taskmon-comment textarea").fill("Half a thought")
        with page.expect_event("load", timeout=10_000):
            write(src / "ai/tasks/task_a.md",
                  (src / "ai/tasks/task_a.md").read_text(encoding="utf-8") + "\nMore.\n")
        expect(page.locator(".taskmon-comment textarea")).to_have_value("Half a thought")
    assert page.errors == []


def test_dragging_a_card_to_another_column_changes_the_file(site, page):
    with site() as (src, server):
        page.goto(server.url + BOARD_URL)
        card = page.locator('.card[data-task-id="task_b"]')
        expect(card).to_have_attribute("draggable", "true")

        with page.expect_request("**/_taskmon/api/**") as request:
            card.drag_to(page.locator('.column[data-status="review"]'))
        poll(lambda: status_in(src / "ai/tasks/task_b.md") == "review", timeout=10)
        expect(page.locator('.column[data-status="review"] .card[data-task-id="task_b"]')
               ).to_be_visible(timeout=10_000)
    assert request.value.url.endswith("/_taskmon/api/tasks/task_b/status")
    assert json.loads(request.value.post_data) == {"status": "review",
                                                   "expect": {"status": "in_progress"}}
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


def test_a_bulk_change_is_refused_when_a_selected_task_changed_meanwhile(site, page):
    with site() as (src, server):
        page.goto(server.url + LIST_URL)
        page.locator('tr[data-task-id="task_a"] .taskmon-select input').check()
        page.locator('tr[data-task-id="task_b"] .taskmon-select input').check()
        break_the_build(src, server)
        page.locator("#dismiss").click()
        before = {name: (src / "ai/tasks" / name).read_bytes() for name in ["task_a.md"]}
        path = src / "ai/tasks/task_b.md"
        path.write_text(path.read_text("utf-8").replace("status: in_progress", "status: review"),
                        encoding="utf-8")
        agent = path.read_bytes()

        bulk = page.locator(".taskmon-bulk")
        bulk.locator("select").select_option("paused")
        bulk.locator('[data-action="bulk-status"]').click()
        expect(page.locator("#taskmon-notice .taskmon-notice-text")).to_have_text(
            "Not saved: task_b: changed since the page showed it: status is now review, not "
            "in_progress. Reload the page to see the task as it is now.")
        assert (src / "ai/tasks/task_a.md").read_bytes() == before["task_a.md"]
        assert path.read_bytes() == agent
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"]


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
