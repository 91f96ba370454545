"""Task actions on rows and cards that views.js renders after the page loaded.

The list keeps only the first rows of its matches in the page and the board
the first cards of each column; filtering, sorting and "show more" bring
others in later. The preview's actions must work on those as on the first.
"""

from __future__ import annotations

from playwright.sync_api import expect
from test_actions_browser import browser, page, site, status_in, task  # noqa: F401
from test_serve import poll

from taskmon_site.urls import BOARD_URL, LIST_URL

#: More tasks than the list shows at first (100) and a board column (25).
MANY = 130


def many_tasks() -> dict[str, str]:
    files = {"taskmon.toml": 'title = "Many tasks"\n'}
    for n in range(MANY):
        files[f"ai/tasks/task_{n:03d}.md"] = task(f"task_{n:03d}", "in_progress")
    files["ai/tasks/task_zz.md"] = task("task_zz", "pending", "researcher", "planner")
    return files


def checkbox(page, task_id: str):
    return page.locator(f'tr[data-task-id="{task_id}"] .taskmon-select input')


def test_a_row_rendered_by_filtering_can_be_selected_and_changed(site, page):
    with site(many_tasks()) as (src, server):
        page.goto(server.url + LIST_URL)
        expect(page.locator("[data-task-table] tbody tr")).to_have_count(100)
        expect(page.locator('tr[data-task-id="task_zz"]')).to_have_count(0)

        page.locator("input[name=q]").fill("task_zz")
        expect(checkbox(page, "task_zz")).to_have_count(1)
        checkbox(page, "task_zz").check()
        bulk = page.locator(".taskmon-bulk")
        expect(bulk).to_contain_text("1 selected")
        assert bulk.locator("select option").evaluate_all(
            "os => os.map(o => o.value)") == ["in_progress"]
        with page.expect_event("load", timeout=10_000):
            bulk.locator('[data-action="bulk-status"]').click()
        assert status_in(src / "ai/tasks/task_zz.md") == "in_progress"
        assert status_in(src / "ai/tasks/task_000.md") == "in_progress"
    assert page.errors == []


def test_rows_shown_by_show_more_get_a_checkbox(site, page):
    with site(many_tasks()) as (src, server):
        page.goto(server.url + LIST_URL)
        page.locator("[data-more]").click()
        expect(page.locator("[data-task-table] tbody tr")).to_have_count(MANY + 1)
        expect(page.locator("[data-task-table] tbody .taskmon-select input")
               ).to_have_count(MANY + 1)
    assert page.errors == []


def test_a_selection_is_kept_while_filters_change_the_rows(site, page):
    with site(many_tasks()) as (src, server):
        page.goto(server.url + LIST_URL)
        checkbox(page, "task_001").check()
        page.locator("input[name=q]").fill("task_zz")
        bulk = page.locator(".taskmon-bulk")
        expect(bulk).to_contain_text("1 selected (1 not shown)")
        checkbox(page, "task_zz").check()
        expect(bulk).to_contain_text("2 selected (1 not shown)")
        # Pending and in progress have no common next status.
        expect(bulk).to_contain_text("No status change is allowed for all selected tasks.")

        page.locator("input[name=q]").fill("")
        expect(bulk).to_contain_text("2 selected (1 not shown)")
        expect(checkbox(page, "task_001")).to_be_checked()
        checkbox(page, "task_001").uncheck()
        expect(bulk).to_contain_text("1 selected (1 not shown)")
        page.locator("input[name=q]").fill("task_zz")
        expect(checkbox(page, "task_zz")).to_be_checked()
        expect(bulk).to_contain_text("1 selected")
        with page.expect_event("load", timeout=10_000):
            bulk.locator('[data-action="bulk-status"]').click()
    assert status_in(src / "ai/tasks/task_zz.md") == "in_progress"
    assert status_in(src / "ai/tasks/task_001.md") == "in_progress"
    assert page.errors == []


def test_a_card_shown_by_filtering_can_be_dragged_to_another_column(site, page):
    with site(many_tasks()) as (src, server):
        page.goto(server.url + BOARD_URL)
        card = page.locator('.card[data-task-id="task_120"]')
        expect(card).to_have_count(0)
        page.locator("input[name=q]").fill("task_120")
        card.drag_to(page.locator('.column[data-status="review"]'))
        poll(lambda: status_in(src / "ai/tasks/task_120.md") == "review", timeout=10)
    assert page.errors == []


def test_a_card_in_a_lane_can_be_dragged_to_another_column(site, page):
    with site(many_tasks()) as (src, server):
        page.goto(server.url + BOARD_URL + "?lanes=current")
        lane = page.locator('.lane[data-lane="researcher"]')
        lane.locator('.card[data-task-id="task_zz"]').drag_to(
            lane.locator('.column[data-status="in_progress"]'))
        poll(lambda: status_in(src / "ai/tasks/task_zz.md") == "in_progress", timeout=10)
    assert page.errors == []


def test_rows_and_cards_shown_by_show_more_stay_shown_through_the_live_reload(site, page):
    with site(many_tasks()) as (src, server):
        page.goto(server.url + LIST_URL)
        page.locator("[data-more]").click()
        rows = page.locator("[data-task-table] tbody tr")
        expect(rows).to_have_count(MANY + 1)
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        scrolled = page.evaluate("() => window.scrollY")
        assert scrolled > 1000
        with page.expect_event("load", timeout=10_000), \
                (src / "ai/tasks/task_005.md").open("a", encoding="utf-8") as file:
            file.write("\nA saved line.\n")
        expect(rows).to_have_count(MANY + 1)
        assert abs(page.evaluate("() => window.scrollY") - scrolled) < 50
        page.locator("input[name=q]").fill("task_")  # a new filter starts from the top
        expect(rows).to_have_count(100)
        page.go_back()  # and the entry before it shows as many rows as it did
        expect(rows).to_have_count(MANY + 1)
        page.go_forward()
        expect(rows).to_have_count(100)

        page.goto(server.url + BOARD_URL)
        cards = page.locator('.column[data-status="in_progress"] .card')
        expect(cards).to_have_count(25)
        page.locator('.column[data-status="in_progress"] .more button').click()
        expect(cards).to_have_count(50)
        with page.expect_event("load", timeout=10_000), \
                (src / "ai/tasks/task_006.md").open("a", encoding="utf-8") as file:
            file.write("\nA saved line.\n")
        expect(cards).to_have_count(50)
    assert page.errors == []
