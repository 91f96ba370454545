"""The task views in a real Chromium: filters, sorting, the board, read marks, themes, search.

Sites are built once per module from a small tree (English and Chinese tasks,
a hostile title) and opened from file:// — the way most people open a built
site — except for full-text search, which needs http.
"""

from __future__ import annotations

import functools
import json
import http.server
import re
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import write_tree
from taskmon_site.build import SiteBuilder
from taskmon_site.config import load_config
import taskmon_site.search as search

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 860}

#: (id, title, status, current role, next role, flow, updated, body)
TASKS = [
    ("t01", "幂等键设计", "review", "debugger", "manager", "ai/tasker.md", "2025-03-05 10:00",
     "为 POST 接口实现幂等键，避免重复记账。"),
    ("t02", "Rate limiting per key", "in_progress", "planner", "executor", "ai/tasker.md",
     "2025-03-07 09:00", "A token bucket in Redis; clients retry with backoff."),
    ("t03", "多币种汇率换算", "rework", "executor", "debugger", "ai/tasker-v2.md",
     "2025-03-02 18:30", "汇率每天拉取一次并落库。"),
    ("t04", "Webhooks for postings", "pending", "manager", "researcher", "ai/tasker.md",
     "2025-02-20 16:00", "Clients poll every 30 seconds today."),
    ("t05", "升级 PostgreSQL", "paused", "researcher", "planner", "ai/tasker-v2.md",
     "2025-02-28 12:00", "评估停机时间和风险。"),
    ("t06", "Materialized balances", "failed", "debugger", "researcher", "ai/tasker.md",
     "2025-03-01 08:00", "GET /v1/balances takes 1.8 s."),
    ("t07", "Bootstrap the service", "completed", "debugger", "manager", "ai/tasker.md",
     "2025-01-15 17:40", "FastAPI, SQLAlchemy and Alembic."),
    ("t08", "GraphQL spike", "cancelled", "researcher", "manager", "ai/tasker.md",
     "2025-01-20 09:30", "Not worth it for two clients."),
    ("t09", "Deployment runbook", "review", "executor", "manager", "ai/tasker.md",
     "2025-03-06 11:40", "Write down the release procedure."),
    ("t10", "</script><img src=x onerror=alert(1)>", "pending", "manager", "researcher",
     "ai/tasker.md", "2025-02-01 10:00", "A title that tries to break out."),
    ("t11", "交易明细导出", "in_progress", "executor", "debugger", "ai/tasker-v2.md",
     "2025-03-08 18:00", "财务团队每月\n导出交易明细。"),
    ("t12", "Audit log", "pending", "manager", "researcher", "ai/tasker-v2.md",
     "2025-02-25 17:25", "Who changed what, when, with which API key."),
]


def task_text(task_id, title, status, current, nxt, flow, updated, body) -> str:
    title = title.replace("'", "''")
    return (f"---\ntask_id: {task_id}\ntitle: '{title}'\nstatus: {status}\n"
            f"current_role: {current}\nnext_role: {nxt}\nflow_file: {flow}\n"
            f"created_at: '2025-01-10 09:00'\nupdated_at: '{updated}'\n---\n"
            f"# Task description\n{body}\n\n# Work log\n\n"
            f"## Researcher (2025-01-10 10:00)\nLooked around.\n\n- [x] Read the docs\n"
            f"- [ ] Decide the layout\n\n"
            f"## Planner (2025-01-12 15:30)\nPlanned it.\n\n- [x] Layout\n- [x] Stages\n")


def source_files(tasks=TASKS) -> dict[str, str]:
    files = {f"ai/tasks/{t[0]}.md": task_text(*t) for t in tasks}
    files["docs/guide.md"] = ("# 部署指南\n\n发布流程：先在预发布环境演练，再上线。\n\n"
                              "## Rollback\n\nRedeploy the previous image tag.\n")
    return files


def build(root: Path, out: Path, lang: str = "en") -> SiteBuilder:
    config = load_config(root, None, {"output": str(out), "lang": lang, "title": "Demo",
                                      "cache": str(out.parent / f"cache-{out.name}")},
                         environ={})
    builder = SiteBuilder(config)
    builder.build()
    return builder


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """An English site with a search index and a Chinese one, from the same tree.

    The English index is split into bundles of four pages, which the browser merges.
    """
    base = tmp_path_factory.mktemp("views")
    root = write_tree(base / "src", source_files())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_PAGES", 4)
        en = build(root, base / "en")
    bundles = json.loads((en.output_dir / "pagefind" / search.BUNDLES_FILE).read_text())
    assert bundles["bundles"] == 4
    zh = build(root, base / "zh", lang="zh")
    return {"en": en.output_dir, "zh": zh.output_dir}


def url(site: Path, page: str) -> str:
    return (site / page).as_uri()


@contextmanager
def serving(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def new_page(browser, **options):
    """A page in a context of its own, collecting console errors like the shared fixture."""
    context = browser.new_context(**options)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def shown_ids(page) -> list[str]:
    return page.eval_on_selector_all("[data-task-table] tbody tr",
                                     "rows => rows.map(r => r.dataset.taskId)")


# -- the task list ------------------------------------------------------------------------


def test_filters_live_in_the_url_and_the_back_button_restores_them(sites, page):
    page.goto(url(sites["en"], "tasks/index.html"))
    shown = page.locator("[data-shown]")
    expect(shown).to_have_text("12 of 12")
    assert len(shown_ids(page)) == 12

    page.check("input[name=status][value=review]")
    expect(shown).to_have_text("2 of 12")
    assert shown_ids(page) == ["t01", "t09"]
    page.check("input[name=status][value=rework]")
    expect(shown).to_have_text("3 of 12")
    assert "status=review,rework" in page.url
    # The other filters' counts: what each status would add.
    expect(page.locator("[data-count-for=pending]")).to_have_text("3")

    page.fill("input[name=q]", "汇率")
    expect(shown).to_have_text("1 of 12")
    assert shown_ids(page) == ["t03"]
    expect(page.locator("[data-count-for=review]")).to_have_text("0")
    page.select_option("select[name=current]", "executor")
    assert shown_ids(page) == ["t03"] and "current=executor" in page.url

    page.go_back()   # the role choice
    expect(page.locator("select[name=current]")).to_have_value("")
    page.go_back()   # the whole typing burst at once
    expect(page.locator("input[name=q]")).to_have_value("")
    expect(shown).to_have_text("3 of 12")
    page.go_back()
    expect(shown).to_have_text("2 of 12")
    expect(page.locator("input[name=status][value=rework]")).not_to_be_checked()
    page.go_forward()
    expect(shown).to_have_text("3 of 12")

    page.goto(url(sites["en"], "tasks/index.html") + "?flow=ai/tasker-v2.md&q=export")
    assert shown_ids(page) == []
    expect(page.locator("[data-no-matches]")).to_be_visible()
    page.fill("input[name=q]", "")
    assert shown_ids(page) == ["t03", "t05", "t11", "t12"]
    assert page.errors == []


def test_filter_by_next_role_and_body_text(sites, page):
    page.goto(url(sites["en"], "tasks/index.html") + "?next=manager")
    assert shown_ids(page) == ["t01", "t07", "t08", "t09"]
    page.goto(url(sites["en"], "tasks/index.html") + "?q=token+bucket")
    assert shown_ids(page) == ["t02"]
    page.click("[data-reset]")
    assert len(shown_ids(page)) == 12


def test_a_chinese_phrase_wrapped_across_source_lines_is_found(sites, page):
    page.goto(url(sites["en"], "tasks/index.html") + "?q=每月导出")
    assert shown_ids(page) == ["t11"]
    expect(page.locator("tr[data-task-id=t11] .summary")).to_have_text("财务团队每月导出交易明细。")
    page.goto(url(sites["en"], "tasks/t11.html"))     # no stray space where the line wrapped
    expect(page.locator(".markdown-body p").first).to_have_text("财务团队每月导出交易明细。")


def test_sorting_by_any_column(sites, page):
    page.goto(url(sites["en"], "tasks/index.html"))
    page.click("th[data-sort-key=updated] .sort")
    assert "sort=updated&order=desc" in page.url
    assert shown_ids(page)[:3] == ["t11", "t02", "t09"]
    expect(page.locator("th[data-sort-key=updated]")).to_have_attribute("aria-sort", "descending")
    page.click("th[data-sort-key=updated] .sort")
    assert shown_ids(page)[:2] == ["t07", "t08"]
    page.click("th[data-sort-key=status] .sort")
    assert shown_ids(page)[:3] == ["t04", "t10", "t12"]     # pending first: workflow order
    page.click("th[data-sort-key=title] .sort")
    titles = page.eval_on_selector_all("tbody tr .col-title a", "as => as.map(a => a.textContent)")
    assert titles[0].startswith("</script>") and titles == sorted(titles, key=str.lower)
    page.go_back()
    assert shown_ids(page)[:3] == ["t04", "t10", "t12"]


def test_sorting_on_a_phone_where_the_headers_are_hidden(sites, browser):
    page = new_page(browser, viewport=PHONE)
    page.goto(url(sites["en"], "tasks/index.html"))
    expect(page.locator("th[data-sort-key=updated] .sort")).to_be_hidden()
    expect(page.locator("select[name=order]")).to_be_disabled()
    page.select_option("select[name=sort]", "updated")
    assert "sort=updated&order=desc" in page.url
    expect(page.locator("select[name=order]")).to_have_value("desc")
    assert shown_ids(page)[:3] == ["t11", "t02", "t09"]
    page.select_option("select[name=order]", "asc")
    assert shown_ids(page)[:2] == ["t07", "t08"]
    page.select_option("select[name=sort]", "status")
    expect(page.locator("select[name=order]")).to_have_value("asc")
    assert shown_ids(page)[:3] == ["t04", "t10", "t12"]
    page.go_back()
    expect(page.locator("select[name=sort]")).to_have_value("updated")
    expect(page.locator("select[name=order]")).to_have_value("asc")
    page.select_option("select[name=sort]", "")
    assert "sort=" not in page.url and shown_ids(page)[:2] == ["t01", "t02"]
    page.context.close()
    desktop = new_page(browser, viewport=DESKTOP)
    desktop.goto(url(sites["en"], "tasks/index.html"))
    expect(desktop.locator("select[name=sort]")).to_be_hidden()
    assert page.errors == [] and desktop.errors == []
    desktop.context.close()


def test_the_list_without_javascript_lists_every_task(sites, browser):
    page = new_page(browser, java_script_enabled=False)
    page.goto(url(sites["en"], "tasks/index.html"))
    assert len(shown_ids(page)) == 12
    expect(page.locator("[data-filters]")).to_be_hidden()
    expect(page.locator("tbody")).to_contain_text("</script><img src=x onerror=alert(1)>")
    page.context.close()


def test_slash_focuses_the_site_search_everywhere_and_f_the_filter(sites, page):
    for path in ("tasks/index.html", "board.html"):
        page.goto(url(sites["en"], path))
        page.keyboard.press("/")
        expect(page.locator("#site-search")).to_be_focused()
        page.keyboard.press("Escape")
        page.keyboard.press("f")
        expect(page.locator("input[name=q]")).to_be_focused()
        expect(page.locator("input[name=q]")).to_have_value("")
        expect(page.locator("input[name=q]")).to_have_attribute("aria-keyshortcuts", "f")
    page.goto(url(sites["en"], "tasks/t01.html"))
    page.keyboard.press("/")
    expect(page.locator("#site-search")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("f")     # no filter here: nothing happens
    expect(page.locator("body")).to_be_focused()


def test_a_task_without_a_title_is_named_by_its_description(browser, tmp_path):
    text = ("---\nstatus: pending\n---\n# 任务描述\n优化 taskmon.html，提升用户体验。\n"
            "在开始之前先读源码。\n")
    files = {"ai/tasks/task_20250222_231952_90755fe4.md": text}
    out = tmp_path / "out"
    build(write_tree(tmp_path / "src", files), out)
    title = "优化 taskmon.html，提升用户体验"
    page = new_page(browser)
    page.goto(url(out, "tasks/task_20250222_231952_90755fe4.html"))
    expect(page.locator(".task-header h1")).to_have_text(title)
    page.goto(url(out, "tasks/index.html"))
    expect(page.locator("tbody .col-title a")).to_have_text(title)
    expect(page.locator("tbody .summary")).to_have_count(0)   # no second copy of the title
    page.goto(url(out, "board.html"))
    expect(page.locator(".card-title")).to_have_text(title)
    expect(page.locator(".card-id")).to_have_text("task_20250222_231952_90755fe4")
    assert page.errors == []
    page.context.close()


TIMELINE_TASK = """---
task_id: tl
title: Timeline
status: in_progress
---
# Work log
## Researcher (2025-01-01 09:00)
Keys live in PostgreSQL, in the same transaction as the postings, so a crash can
never leave postings without their key. More later.

- [x] read
- [ ] decide

## Planner (2025-01-08 12:30)
研究员完成了表格数据
清洗。

- [ ] one
- [ ] two

## Executor (2025-01-08 13:15)
Done.
"""

DOT = """(head) => {
  var dot = getComputedStyle(head, "::before");
  var badge = head.querySelector(".role").getBoundingClientRect();
  var top = head.getBoundingClientRect().top + parseFloat(dot.top) + parseFloat(dot.height) / 2;
  return dot.content === "none" ? null : Math.abs(top - (badge.top + badge.height / 2));
}"""


@pytest.mark.parametrize("lang, gaps, span, handover", [
    ("en", ["+7 d 3 h", "+45 min"], "Span 7 d 4 h",
     ["Hand-over: 1 open item", "Hand-over: 2 open items"]),
    ("zh", ["+7 天 3 小时", "+45 分钟"], "历时 7 天 4 小时", ["交接: 1 项未完成", "交接: 2 项未完成"])])
def test_timeline_entries_read_whole(browser, tmp_path, lang, gaps, span, handover):
    out = tmp_path / "out"
    build(write_tree(tmp_path / "src", {"ai/tasks/tl.md": TIMELINE_TASK}), out, lang=lang)
    page = new_page(browser, viewport=DESKTOP)
    page.goto(url(out, "tasks/tl.html"))
    expect(page.locator(".timeline .gap")).to_have_text(gaps)
    expect(page.locator(".timeline-summary")).to_contain_text(span)
    expect(page.locator(".entry-summary")).to_have_text([
        "Keys live in PostgreSQL, in the same transaction as the postings, so a crash can never "
        "leave postings without their key.", "研究员完成了表格数据清洗。", "Done."])
    expect(page.locator(".handover")).to_have_text(handover)
    expect(page.locator(".handover").first).to_have_attribute("title", "decide")
    # Each role dot is level with its entry's role badge, not with the gap above it.
    for head in page.locator(".entry-head").all():
        offset = head.evaluate(DOT)
        assert offset is not None and offset < 2, offset
    page.context.close()


def test_the_rest_of_needs_attention_is_one_link_to_exactly_those_tasks(browser, tmp_path):
    # Stale: open and idle for over 14 days before the build (SOURCE_DATE_EPOCH is not set,
    # so "now" is today: a date in 2020 is stale, one in 2099 is not).
    tasks = ([(f"r{i:02}", f"Review {i}", "review", "2099-01-01 10:00") for i in range(20)] +
             [(f"s{i:02}", f"Stale {i}", "pending", "2020-01-01 10:00") for i in range(15)] +
             [(f"f{i:02}", f"Fresh {i}", "pending", "2099-01-01 10:00") for i in range(5)])
    files = {f"ai/tasks/{i}.md": (f"---\ntask_id: {i}\ntitle: {title}\nstatus: {status}\n"
                                  f"updated_at: '{when}'\n---\n")
             for i, title, status, when in tasks}
    out = tmp_path / "out"
    build(write_tree(tmp_path / "src", files), out)
    page = new_page(browser, viewport=DESKTOP)
    page.goto(url(out, "index.html"))
    more = page.locator("section[aria-labelledby=attention-h] p a")
    expect(more).to_have_text("5 more →")
    more.click()
    expect(page.locator("input[name=attention]")).to_be_checked()
    expect(page.locator("[data-shown]")).to_have_text("35 of 40")
    assert not any(i.startswith("f") for i in shown_ids(page))
    page.uncheck("input[name=attention]")
    expect(page.locator("[data-shown]")).to_have_text("40 of 40")
    page.goto(url(out, "board.html") + "?attention=1")
    expect(page.locator(".card:visible")).to_have_count(35)
    assert page.errors == []
    page.context.close()


def test_unknown_filter_values_in_a_link_are_left_out_and_said(sites, page):
    page.goto(url(sites["en"], "tasks/index.html") + "?current=nobody&status=done,review&q=")
    expect(page.locator("[data-shown]")).to_have_text("2 of 12")
    notice = page.locator("[data-filter-notice]")
    expect(notice).to_be_visible()
    expect(notice.locator("[data-dropped]")).to_have_text("status=done, current=nobody")
    assert page.url.endswith("tasks/index.html?status=review")
    page.click("[data-reset]")
    expect(notice).to_be_hidden()
    expect(page.locator("[data-shown]")).to_have_text("12 of 12")
    page.goto(url(sites["en"], "board.html") + "?status=done&lanes=x")
    expect(page.locator(".board > .column")).to_have_count(8)
    expect(page.locator("[data-filter-notice] [data-dropped]")).to_have_text(
        "status=done, lanes=x")
    page.click("[data-filter-notice] [data-dismiss]")
    expect(page.locator("[data-filter-notice]")).to_be_hidden()
    page.goto(url(sites["en"], "tasks/index.html") + "?status=review&sort=updated&order=desc")
    expect(page.locator("[data-filter-notice]")).to_be_hidden()
    assert page.errors == []


# -- the board ------------------------------------------------------------------------------


def column_ids(page, status: str) -> list[str]:
    return page.eval_on_selector_all(f".column[data-status={status}] .card",
                                     "cards => cards.map(c => c.dataset.taskId)")


def test_board_columns_lanes_and_filters(sites, page):
    page.goto(url(sites["en"], "board.html"))
    statuses = page.eval_on_selector_all(".board > .column", "cs => cs.map(c => c.dataset.status)")
    assert statuses == ["pending", "in_progress", "paused", "review", "rework", "completed",
                        "failed", "cancelled"]
    assert column_ids(page, "pending") == ["t04", "t10", "t12"]
    card = page.locator(".card[data-task-id=t02]")
    expect(card).to_contain_text("Planner")
    expect(card).to_contain_text("3/4")

    page.check("input[name=lanes]")
    assert "lanes=current" in page.url
    lanes = page.eval_on_selector_all(".lane", "ls => ls.map(l => l.dataset.lane)")
    assert lanes == ["manager", "researcher", "planner", "executor", "debugger"]
    assert page.eval_on_selector_all(".lane[data-lane=manager] .card",
                                     "cs => cs.map(c => c.dataset.taskId)") == ["t04", "t10", "t12"]

    page.fill("input[name=q]", "汇率")
    expect(page.locator(".card:visible")).to_have_count(1)
    page.go_back()
    page.go_back()
    expect(page.locator(".board > .column")).to_have_count(8)

    page.check("input[name=status][value=review]")
    expect(page.locator(".board > .column")).to_have_count(1)
    assert page.errors == []


BOARD_GEOMETRY = """() => {
  var board = document.querySelector("[data-board]");
  var lanes = Array.from(document.querySelectorAll(".lane"));
  return {
    overflow: board.scrollWidth - board.clientWidth,
    laneRowsScroll: lanes.some(l => getComputedStyle(l.lastElementChild).overflowX !== "visible"),
    columnX: lanes.map(l => Array.from(l.querySelectorAll(".column"),
                                       c => Math.round(c.getBoundingClientRect().x))),
    emptyHeights: Array.from(document.querySelectorAll(".lane .column.is-empty"),
                             c => c.getBoundingClientRect().height),
    danglingArrows: Array.from(document.querySelectorAll(".card .arrow")).filter(a => {
      var role = a.nextElementSibling.getBoundingClientRect();
      return Math.abs(a.getBoundingClientRect().top - role.top) > role.height;
    }).length
  };
}"""


def test_a_long_unbroken_word_in_a_title_wraps_instead_of_widening_the_page(tmp_path, browser):
    word = "Supercalifragilistic" * 8
    files = {"ai/tasks/a.md": task_text("a", f"Fix {word} now", "pending", "planner",
                                        "executor", "", "2025-02-24 10:00", "Body.\n"),
             "ai/tasks/b.md": task_text("b", "Its neighbour", "pending", "planner",
                                        "executor", "", "2025-02-24 11:00", "Body.\n")}
    out = build(write_tree(tmp_path / "src", files), tmp_path / "out").output_dir
    page = new_page(browser, viewport=DESKTOP)
    page.goto(url(out, "tasks/index.html"))
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), wrap.evaluate(
        "w => [w.scrollWidth, w.clientWidth]")
    page.screenshot(path=ARTIFACTS / "views-list-long-title.png")
    phone = new_page(browser, viewport=PHONE)
    for name in ("a", "b"):  # its own page, and the page linking to it as next or previous
        phone.goto(url(out, f"tasks/{name}.html"))
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=ARTIFACTS / "views-task-phone-long-neighbour.png", full_page=True)
    assert page.errors == phone.errors == []
    page.context.close()
    phone.context.close()


def test_a_board_filtered_to_nothing_says_so(sites, page):
    page.goto(url(sites["zh"], "board.html"))
    empty = page.locator("[data-no-matches]")
    expect(empty).to_be_hidden()
    page.fill("input[name=q]", "没有这样的任务")
    expect(empty).to_be_visible()
    expect(empty).to_have_text("没有符合筛选条件的任务。")
    page.screenshot(path=ARTIFACTS / "views-board-no-matches-zh.png")
    page.fill("input[name=q]", "")
    expect(empty).to_be_hidden()
    assert page.errors == []


def test_columns_put_back_when_lanes_go_off_are_sized_for_their_cards(sites, page):
    page.goto(url(sites["en"], "board.html"))
    page.fill("input[name=q]", "zzzz")
    page.check("input[name=lanes]")
    page.fill("input[name=q]", "")
    page.uncheck("input[name=lanes]")
    expect(page.locator(".board > .column.is-collapsed")).to_have_count(
        page.eval_on_selector_all(".board > .column", "cs => cs.filter(c => "
                                  "!c.querySelector('.card')).length"))
    assert page.eval_on_selector_all(
        ".board > .column", "cs => cs.filter(c => c.querySelector('.card'))"
        ".every(c => !c.classList.contains('is-collapsed') && c.offsetWidth > 100)")
    assert page.errors == []


def test_board_columns_fit_a_desktop_and_lanes_share_one_scroller(sites, browser):
    page = new_page(browser, viewport=DESKTOP)
    page.goto(url(sites["en"], "board.html"))
    found = page.evaluate(BOARD_GEOMETRY)
    assert found["overflow"] <= 0 and found["danglingArrows"] == 0, found
    expect(page.locator("[data-board]")).not_to_have_class(re.compile("more-right"))
    # Statuses that no shown task has narrow to a strip; the others share the room.
    page.fill("input[name=q]", "汇率")
    expect(page.locator(".column.is-collapsed")).to_have_count(7)
    widths = page.eval_on_selector_all(".board > .column", "cs => cs.map(c => c.offsetWidth)")
    assert max(widths[:4] + widths[5:]) <= 40 and widths[4] > 800, widths
    page.fill("input[name=q]", "")
    expect(page.locator(".column.is-collapsed")).to_have_count(0)
    page.set_viewport_size({"width": 1000, "height": 860})
    page.check("input[name=lanes]")
    found = page.evaluate(BOARD_GEOMETRY)
    assert found["overflow"] > 0 and not found["laneRowsScroll"], found
    assert all(xs == found["columnX"][0] for xs in found["columnX"]), found["columnX"]
    assert found["emptyHeights"] and max(found["emptyHeights"]) < 80, found["emptyHeights"]
    board = page.locator("[data-board]")
    expect(board).to_have_class(re.compile("more-right"))     # the fade says there is more
    board.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    expect(board).not_to_have_class(re.compile("more-right"))
    expect(board).to_have_class(re.compile("more-left"))
    assert page.errors == []
    page.context.close()


def test_phone_matrices_say_they_scroll(sites, browser):
    page = new_page(browser, viewport=PHONE)
    page.goto(url(sites["en"], "index.html"))
    note = page.locator(".scroll-note").first
    expect(note).to_be_visible()
    expect(note).to_have_text("More statuses to the right →")
    page.locator(".table-wrap").first.evaluate("w => { w.scrollLeft = w.scrollWidth; }")
    expect(note).to_be_hidden()
    page.context.close()
    desktop = new_page(browser, viewport=DESKTOP)
    desktop.goto(url(sites["en"], "index.html"))
    expect(desktop.locator(".scroll-note").first).to_be_hidden()
    desktop.context.close()


def test_board_drag_reorders_a_column_and_the_order_survives_a_reload(sites, page):
    page.goto(url(sites["en"], "board.html"))
    assert column_ids(page, "pending") == ["t04", "t10", "t12"]
    page.drag_and_drop(".card[data-task-id=t12]", ".card[data-task-id=t04]",
                       target_position={"x": 20, "y": 5})
    assert column_ids(page, "pending") == ["t12", "t04", "t10"]
    page.reload()
    assert column_ids(page, "pending") == ["t12", "t04", "t10"]

    # Alt + ↓ on a card moves it down, for keyboards.
    page.focus(".card[data-task-id=t12] .card-title")
    page.keyboard.press("Alt+ArrowDown")
    assert column_ids(page, "pending") == ["t04", "t12", "t10"]
    expect(page.locator("[data-board-status]")).to_have_text("Moved to position 2")
    page.reload()
    assert column_ids(page, "pending") == ["t04", "t12", "t10"]
    # A card dropped on another column stays: status changes come from a server.
    page.drag_and_drop(".card[data-task-id=t04]", ".column[data-status=review] .cards")
    assert "t04" in column_ids(page, "pending")
    assert page.errors == []


# -- new since the last visit ---------------------------------------------------------------


def test_changed_tasks_are_marked_until_read(browser, tmp_path):
    root = write_tree(tmp_path / "src", source_files())
    out = tmp_path / "out"
    build(root, out)
    page = new_page(browser)
    page.goto(url(out, "index.html"))
    expect(page.locator("[data-changed]")).to_be_hidden()
    page.goto(url(out, "tasks/t02.html"))
    expect(page.locator("[data-updated-notice]")).to_be_hidden()

    task = root / "ai/tasks/t02.md"
    task.write_text(task.read_text().replace("2025-03-07 09:00", "2025-03-09 09:00"))
    build(root, out)

    page.goto(url(out, "tasks/index.html"))
    expect(page.locator("tr[data-task-id=t02]")).to_have_class(re.compile("is-new"))
    expect(page.locator("tr.is-new")).to_have_count(1)
    page.check("input[name=new]")
    assert shown_ids(page) == ["t02"]
    page.goto(url(out, "board.html"))
    expect(page.locator(".card[data-task-id=t02] [data-new-mark]")).to_be_visible()
    page.goto(url(out, "index.html"))
    expect(page.locator("[data-changed]")).to_be_visible()
    expect(page.locator("[data-changed-count]")).to_have_text("1")

    page.click("[data-changed-list] [data-new-mark]")
    expect(page.locator("[data-changed]")).to_be_hidden()
    page.goto(url(out, "tasks/index.html"))
    expect(page.locator("tr.is-new")).to_have_count(0)

    # Opening a changed task marks it read too, after saying it changed.
    task.write_text(task.read_text().replace("2025-03-09 09:00", "2025-03-10 09:00"))
    build(root, out)
    page.goto(url(out, "tasks/t02.html"))
    expect(page.locator("[data-updated-notice]")).to_be_visible()
    page.goto(url(out, "tasks/index.html"))
    expect(page.locator("tr.is-new")).to_have_count(0)

    # "Mark all read" clears everything.
    for name in ("t03", "t05"):
        path = root / f"ai/tasks/{name}.md"
        path.write_text(re.sub(r"updated_at: '[^']+'", "updated_at: '2099-01-01 10:00'",
                               path.read_text()))
    build(root, out)
    page.reload()
    expect(page.locator("tr.is-new")).to_have_count(2)
    page.click("[data-filters] [data-mark-all-read]")
    expect(page.locator("tr.is-new")).to_have_count(0)
    assert page.errors == []
    page.context.close()


MARKS_BY_SECTION = """() => {
  var found = {};
  document.querySelectorAll("main [data-new-mark]").forEach(function (mark) {
    var section = mark.closest("section").getAttribute("aria-labelledby");
    var link = mark.previousElementSibling.getAttribute("href");
    (found[section] = found[section] || []).push(link);
  });
  return found;
}"""


@pytest.mark.parametrize("lang, just_now", [("en", "just now"), ("zh", "刚刚")])
def test_the_dashboard_marks_each_changed_task_once_per_section(browser, tmp_path, lang,
                                                                 just_now):
    root = write_tree(tmp_path / "src", source_files())
    out = tmp_path / "out"
    build(root, out, lang=lang)
    page = new_page(browser, viewport=DESKTOP)
    page.goto(url(out, "index.html"))
    for name in ("t02", "t05"):     # changed after the visit, dated in the future: "just now"
        path = root / f"ai/tasks/{name}.md"
        path.write_text(re.sub(r"updated_at: '[^']+'", "updated_at: '2099-01-01 10:00'",
                               path.read_text()))
    build(root, out, lang=lang)
    page.reload()
    expect(page.locator("[data-changed-count]")).to_have_text("2")
    expect(page.locator("[data-changed-list] li")).to_have_text(
        [re.compile(rf"· {just_now}$")] * 2)
    marks = page.evaluate(MARKS_BY_SECTION)
    assert "activity-h" not in marks, marks
    assert len(marks["changed-h"]) == 2 and len(marks["recent-h"]) == 2, marks
    assert all(len(links) == len(set(links)) for links in marks.values()), marks
    assert page.errors == []
    page.context.close()


def test_dashboard_counts_fit_one_row_and_the_build_time_shows_once(browser, tmp_path):
    files = source_files()
    files["ai/tasks/t99.md"] = "---\ntask_id: t99\ntitle: Odd\nstatus: someday\n---\n"
    out = tmp_path / "out"
    build(write_tree(tmp_path / "src", files), out)
    for javascript in (True, False):
        page = new_page(browser, viewport=DESKTOP, java_script_enabled=javascript)
        page.goto(url(out, "index.html"))
        cards = page.locator(".count-card")
        expect(cards).to_have_count(9)              # eight statuses and "unknown"; no total card
        tops = {round(box["y"]) for box in (c.bounding_box() for c in cards.all())}
        assert len(tops) == 1, tops
        expect(page.locator("#counts-h a")).to_have_text("all 13 →")
        # Once, in the footer, from build.js (so a build changes no page for its time alone).
        built = page.get_by_text(re.compile(r"^Built"))
        expect(built).to_have_count(1)
        if javascript:
            expect(built).to_be_visible()
            expect(page.locator("footer [data-built-at]")).to_have_text(re.compile(r"^\d{4}-"))
        page.context.close()


# -- language, theme, search ------------------------------------------------------------------


def test_chinese_and_english_builds(sites, page):
    page.goto(url(sites["zh"], "tasks/index.html"))
    expect(page.locator("h1")).to_contain_text("任务")
    expect(page.locator("[data-shown]")).to_have_text("显示 12 / 共 12")
    expect(page.locator("label.chip").first).to_contain_text("待启动")
    page.goto(url(sites["zh"], "index.html"))
    expect(page.locator("h1")).to_have_text("总览")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.goto(url(sites["en"], "index.html"))
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.errors == []


def test_dark_mode_follows_the_os_and_the_toggle_is_remembered(sites, browser):
    page = new_page(browser, color_scheme="dark")
    page.goto(url(sites["en"], "index.html"))
    toggle = page.locator("[data-theme-toggle]")
    background = "getComputedStyle(document.body).backgroundColor"
    expect(toggle).to_have_attribute("data-mode", "auto")
    expect(toggle).to_have_attribute("aria-label", "Theme: as the system. Press for light.")
    dark = page.evaluate(background)
    toggle.click()
    expect(toggle).to_have_attribute("data-mode", "light")
    light = page.evaluate(background)
    assert light != dark
    # Followed as a reader does: a page that the test opens by itself may get a renderer
    # of its own, which may not see the stored choice yet (Chromium stores it lazily).
    with page.expect_navigation():
        page.click('.site-nav a[href$="board.html"]')
    assert page.evaluate(background) == light
    expect(page.locator("html")).to_have_class(re.compile(r"\blight\b"))
    toggle.click()
    expect(toggle).to_have_attribute("data-mode", "dark")
    page.reload()
    assert page.evaluate(background) == dark
    # The third press goes back to following the system, which it then does.
    toggle.click()
    expect(toggle).to_have_attribute("data-mode", "auto")
    assert page.evaluate("localStorage.getItem('taskmon:theme')") is None
    page.emulate_media(color_scheme="light")
    assert page.evaluate(background) == light
    page.reload()
    expect(toggle).to_have_attribute("data-mode", "auto")
    assert page.evaluate(background) == light
    expect(toggle).to_have_attribute("aria-label", "Theme: as the system. Press for dark.")
    page.context.close()


def test_search_finds_chinese_and_english_words_when_served(sites, page):
    # The pages found below are in different bundles: the search merges them.
    assert search.shard_of("tasks/t03.html", 4) != search.shard_of("tasks/t02.html", 4)
    with serving(sites["en"]) as base:
        page.goto(base + "tasks/index.html")
        results = page.locator("#search-results")
        page.fill("#site-search", "汇率")
        expect(results.locator("a").first).to_contain_text("多币种汇率换算")
        page.fill("#site-search", "预发布")
        expect(results.locator("a").first).to_contain_text("部署指南")
        page.fill("#site-search", "backoff")
        expect(results.locator("a").first).to_contain_text("Rate limiting per key")
        expect(results.locator("mark").first).to_have_text(re.compile("backoff", re.I))
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/tasks/t02\.html"))
    assert page.errors == []


def test_search_keys_enter_opens_the_first_result_and_one_escape_closes(sites, page):
    with serving(sites["en"]) as base:
        page.goto(base + "index.html")
        results = page.locator("#search-results")
        page.fill("#site-search", "backoff")
        expect(results.locator("a").first).to_contain_text("Rate limiting per key")
        page.keyboard.press("ArrowDown")
        expect(results.locator("a").first).to_be_focused()
        page.keyboard.press("Escape")
        expect(results).to_be_hidden()
        expect(page.locator("#site-search")).to_be_focused()
        expect(page.locator("#site-search")).to_have_attribute("aria-expanded", "false")
        # Enter right after typing waits for the results, then opens the first.
        page.fill("#site-search", "")
        page.locator("#site-search").press_sequentially("汇率")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/tasks/t03\.html"))
    assert page.errors == []


def test_search_results_stay_on_a_phone_screen(sites, browser):
    page = new_page(browser, viewport=PHONE)
    page.goto(url(sites["zh"], "index.html"))
    page.fill("#site-search", "汇率")
    results = page.locator("#search-results")
    expect(results.locator("a").first).to_contain_text("多币种汇率换算")
    box = results.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert page.errors == []
    page.context.close()


def test_search_from_disk_says_it_needs_http_and_offers_titles(sites, page):
    page.goto(url(sites["en"], "tasks/t01.html"))
    page.fill("#site-search", "webhooks")
    results = page.locator("#search-results")
    expect(results).to_contain_text("needs the site served over http")
    expect(results.locator("a")).to_have_text(re.compile("Webhooks for postings"))
    page.goto(url(sites["en"], "tasks/index.html"))
    page.fill("input[name=q]", "webhooks")
    assert shown_ids(page) == ["t04"]
    assert page.errors == []


def test_search_from_disk_offers_titles_when_an_element_is_named_like_the_data(sites, page):
    # An element's id is a name on window too, until data.js sets window.TASKMON_DATA.
    page.goto(url(sites["en"], "tasks/t01.html"))
    page.evaluate("""() => { var a = document.createElement("a"); a.id = "TASKMON_DATA";
                             document.querySelector("main").appendChild(a); }""")
    assert page.evaluate("() => window.TASKMON_DATA instanceof Element")
    page.fill("#site-search", "webhooks")
    results = page.locator("#search-results")
    expect(results.locator("a")).to_have_text(re.compile("Webhooks for postings"))
    assert page.errors == []


LINE_BOXES = """(node) => {
  var range = document.createRange();
  range.selectNodeContents(node);
  var tops = new Set(Array.from(range.getClientRects(), r => Math.round(r.top)));
  return tops.size;
}"""

CHECKBOXES = """() => {
  function rgb(text) { return (text.match(/[\\d.]+/g) || []).map(Number); }
  function lum(c) {
    var v = c.slice(0, 3).map(
      x => (x /= 255) <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function ratio(a, b) {
    var x = lum(rgb(a)), y = lum(rgb(b));
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  }
  var page = getComputedStyle(document.body).backgroundColor;
  return Array.from(document.querySelectorAll(".task-list-item-checkbox"), box => {
    var style = getComputedStyle(box);
    var edge = box.checked ? style.backgroundColor : style.borderTopColor;
    return [box.getAttribute("aria-label"), box.checked, ratio(edge, page) >= 3];
  });
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_ids_front_matter_and_checklists_read_as_written(browser, tmp_path, scheme):
    long_id = "task_20261005_093012_3fa81c2e"
    files = {f"ai/tasks/{long_id}.md": task_text(
        long_id, "Bootstrap the ledger-api service skeleton with a long title", "review",
        "debugger", "manager", "ai/tasker.md", "2025-03-05 10:00", "Text.")}
    out = tmp_path / "out"
    build(write_tree(tmp_path / "src", files), out)
    page = new_page(browser, viewport=DESKTOP, color_scheme=scheme)
    page.goto(url(out, "tasks/index.html"))
    assert page.locator("tbody td.col-id").evaluate(LINE_BOXES) == 1
    page.goto(url(out, f"tasks/{long_id}.html"))
    page.click("details.raw summary")
    raw = page.locator("details.raw pre code")
    assert raw.evaluate(LINE_BOXES) == raw.text_content().count("\n") + 1
    assert page.evaluate(CHECKBOXES) == [
        ["Read the docs", True, True], ["Decide the layout", False, True],
        ["Layout", True, True], ["Stages", True, True]]
    page.context.close()


# -- docs -----------------------------------------------------------------------------------------

DOC_LAYOUT = """() => {
  var box = (s) => document.querySelector(s).getBoundingClientRect();
  var h1 = document.querySelector("article h1"), toc = document.querySelector("article .toc");
  return {h1: box("article h1"), toc: box("article .toc"), nav: box(".doc-nav"),
          article: box("article.doc"), h1BeforeToc: !!(h1.compareDocumentPosition(toc) & 4),
          h1s: document.querySelectorAll("h1").length};
}"""


def test_a_doc_starts_with_its_title_then_its_contents(sites, browser):
    phone = new_page(browser, viewport=PHONE)
    phone.goto(url(sites["en"], "docs/guide.html"))
    found = phone.evaluate(DOC_LAYOUT)
    assert found["h1BeforeToc"] and found["h1s"] == 1
    assert found["h1"]["y"] < 200                          # on the first screen
    assert found["nav"]["y"] >= found["article"]["y"] + found["article"]["height"]
    phone.context.close()
    desktop = new_page(browser, viewport=DESKTOP)
    desktop.goto(url(sites["en"], "docs/guide.html"))
    found = desktop.evaluate(DOC_LAYOUT)
    assert found["h1BeforeToc"]
    assert found["nav"]["x"] + found["nav"]["width"] <= found["h1"]["x"]   # nav on the left
    assert found["toc"]["x"] >= found["h1"]["x"] + 400                      # contents beside
    expect(desktop.locator(".doc-nav a[aria-current=page]")).to_have_text("部署指南")
    desktop.context.close()


def test_a_doc_without_a_heading_gets_its_title_as_one(browser, tmp_path):
    files = {"docs/plain.md": "---\ntitle: Plain notes\n---\nJust text.\n\n## Part\n\nMore.\n"}
    out = tmp_path / "out"
    build(write_tree(tmp_path / "src", files), out)
    page = new_page(browser, viewport=DESKTOP)
    page.goto(url(out, "docs/plain.html"))
    expect(page.locator("h1")).to_have_text("Plain notes")
    assert page.evaluate(DOC_LAYOUT)["h1BeforeToc"]
    page.context.close()


# -- every page type: no errors, phone width, screenshots ---------------------------------------

PAGES = {"dashboard": "index.html", "list": "tasks/index.html", "board": "board.html",
         "task": "tasks/t01.html", "doc": "docs/guide.html", "docs": "docs/index.html",
         "problems": "problems.html"}


@pytest.mark.parametrize("device, scheme", [("desktop", "light"), ("desktop", "dark"),
                                            ("phone", "light"), ("phone", "dark")])
def test_every_page_type_renders_cleanly(sites, browser, device, scheme):
    page = new_page(browser, viewport=PHONE if device == "phone" else DESKTOP,
                    color_scheme=scheme)
    ARTIFACTS.mkdir(exist_ok=True)
    for kind, path in PAGES.items():
        page.goto(url(sites["en" if scheme == "light" else "zh"], path))
        expect(page.locator("h1").first).to_be_visible()
        if device == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (kind, width)
        page.screenshot(path=ARTIFACTS / f"views-{kind}-{device}-{scheme}.png", full_page=True)
    assert page.errors == []
    page.context.close()


CONTRAST = """
(selectors) => {
  function rgb(text) { return (text.match(/[\\d.]+/g) || []).map(Number); }
  function lum(c) {
    var v = c.slice(0, 3).map(function (x) {
      x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function background(node) {
    for (; node && node.nodeType === 1; node = node.parentNode) {
      var c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || c[3] > 0.9) return c;
    }
    return rgb(getComputedStyle(document.body).backgroundColor);
  }
  var worst = [];
  document.querySelectorAll(selectors).forEach(function (node) {
    if (!node.offsetParent || !node.textContent.trim()) return;
    var a = lum(rgb(getComputedStyle(node).color)), b = lum(background(node));
    var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) {
      worst.push(node.className + " '" + node.textContent.trim().slice(0, 20) + "' " +
                 ratio.toFixed(2));
    }
  });
  return worst;
}
"""
TEXT = ("a, .status, .role, .badge, .muted, .chip, .chip-count, .count-card a, th, td, "
        "label, .summary, .card-id, .age, .button, time")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_has_readable_contrast(sites, browser, scheme):
    page = new_page(browser, viewport=DESKTOP, color_scheme=scheme)
    for path in ("index.html", "tasks/index.html", "board.html", "tasks/t01.html"):
        page.goto(url(sites["en"], path))
        assert page.evaluate(CONTRAST, TEXT) == [], path
    page.context.close()


def test_search_shows_the_delta_copy_of_a_changed_page_and_not_removed_ones(tmp_path, page):
    fruit = ["apple", "banana", "cherry", "damson", "elderberry", "fig"]
    files = {f"ai/tasks/t{i}.md": f"---\ntask_id: t{i}\ntitle: Task {i}\n---\n# Description\n"
             f"About {word}.\n" for i, word in enumerate(fruit)}
    root = write_tree(tmp_path / "src", files)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(search, "SHARD_PAGES", 2)
        built = build(root, tmp_path / "site")
        (root / "ai/tasks/t2.md").write_text(
            "---\ntask_id: t2\ntitle: Task 2\n---\n# Description\nAbout quince.\n")
        (root / "ai/tasks/t4.md").unlink()
        build(root, tmp_path / "site")
    state = json.loads((built.output_dir / "pagefind/bundles.json").read_text())
    assert "tasks/t2.html" in state["delta"] and state["removed"] == ["tasks/t4.html"]
    results = page.locator("#search-results")
    with serving(built.output_dir) as base:
        page.goto(base + "index.html")
        page.fill("#site-search", "quince")
        expect(results.locator("a")).to_have_count(1)
        assert results.locator("a").get_attribute("href").endswith("/tasks/t2.html")
        page.fill("#site-search", "cherry")  # only in the old copy of t2
        expect(results).to_contain_text("Nothing found.")
        page.fill("#site-search", "elderberry")  # t4 was removed
        expect(results).to_contain_text("Nothing found.")
        page.fill("#site-search", "damson")
        expect(results.locator("a")).to_have_text(re.compile("Task 3"))
    assert page.errors == []
