"""What only a browser shows: reload on save, the error overlay, reconnecting."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_serve import GUIDE_URL, SOURCE, real_site, serving, write

from taskmon_site.urls import doc_url

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture
def page(page):
    """The shared page fixture, minus the 404 for the favicon no theme provides yet."""
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return page


def test_an_open_page_reloads_after_a_save(make_tree, page):
    src = make_tree(SOURCE)
    with serving(real_site(src)) as server:
        page.goto(server.url + GUIDE_URL)
        expect(page.locator("#state")).to_have_text("connected")

        with page.expect_event("load"):
            write(src / "docs" / "guide.md", "# Guide\n\nVersion two.\n")
        expect(page.locator("main")).to_contain_text("Version two.")

        with page.expect_event("load"):
            page.locator("#refresh").click()
        expect(page.locator("#state")).to_have_text("connected")

    assert page.errors == []


def test_the_error_overlay_appears_and_clears(make_tree, page):
    src = make_tree(SOURCE)
    config = src / "taskmon.toml"
    overlay = page.locator("#overlay")
    with serving(real_site(src)) as server:
        page.goto(server.url + GUIDE_URL)
        expect(page.locator("#state")).to_have_text("connected")
        expect(overlay).to_be_hidden()

        write(config, 'title = "Demo site"\nlang = "fr"\n')
        expect(overlay).to_be_visible()
        expect(overlay.locator("#file")).to_have_text("taskmon.toml:2")
        expect(overlay.locator("#message")).to_contain_text(
            "lang: expected 'zh' or 'en', got 'fr'")
        expect(page.locator("main")).to_contain_text("Version one.")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "serve-error-overlay.png")

        with page.expect_event("load"):
            write(config, 'title = "Fixed site"\n')
        expect(overlay).to_be_hidden()
        expect(page.locator(".site-title")).to_have_text("Fixed site")

    assert page.errors == []


def test_a_restarted_server_is_reconnected_to_and_the_page_reloads(make_tree, page):
    src = make_tree(SOURCE)
    indicator = page.locator("#indicator")
    with serving(real_site(src)) as first:
        port = first.sockets[0].getsockname()[1]
        page.goto(first.url + GUIDE_URL)
        expect(indicator).to_have_attribute("data-state", "connected")

    expect(indicator).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("#state")).to_have_text(re.compile("^reconnecting"))
    write(src / "docs" / "guide.md", "# Guide\n\nChanged while down.\n")

    with ExitStack() as stack:
        with page.expect_event("load", timeout=10_000):
            stack.enter_context(serving(real_site(src), port=port))
        expect(indicator).to_have_attribute("data-state", "connected")
        expect(page.locator("main")).to_contain_text("Changed while down.")


def test_save_to_reload_time_on_the_real_corpus(corpus, page):
    """Not a limit, a measurement: printed for the record (pytest -s)."""
    doc = corpus / "docs" / "ppx.md"
    with serving(real_site(corpus)) as server:
        page.goto(server.url + doc_url("docs/ppx.md", set()))
        expect(page.locator("#state")).to_have_text("connected")
        timings = []
        for n in range(3):
            started = time.perf_counter()
            with page.expect_event("load"):
                doc.write_text(doc.read_text(encoding="utf-8") + f"\nEdit {n}.\n",
                               encoding="utf-8")
            timings.append((time.perf_counter() - started) * 1000)
            expect(page.locator("main")).to_contain_text(f"Edit {n}.")
    print(f"save → reload: {', '.join(f'{t:.0f}' for t in timings)} ms")
    assert max(timings) < 5000
