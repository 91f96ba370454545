"""How fast the task list and the board filter in Chromium, with 10,000 tasks.

Generates a task repository (``bench/generate.py``), builds it, opens the list
and the board from file:// in headless Chromium, types into the filter one
key at a time and reports, per keystroke, the time from the key press to the
next rendered frame, and the filter's own work (the ``taskmon-filter``
performance measures of views.js). Also prints the sizes of the pages and of
``assets/data.js``.

    python bench/browser_filter.py                 # 10,000 tasks
    python bench/browser_filter.py --tasks 2000 --keep
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from generate import generate  # noqa: E402

from taskmon_site.build import SiteBuilder  # noqa: E402
from taskmon_site.config import load_config  # noqa: E402

CHROMIUM = os.environ.get("TASKMON_CHROMIUM", "/usr/bin/chromium")
#: Typed one key at a time: English words, then (after clearing) Chinese ones.
QUERIES = ["socket 错误", "线程池"]

# Installed before any page script: the time from each key press (its beforeinput, which
# typed Chinese characters fire too) to the frame after it.
PROBE = """
window.__keyTimes = [];
document.addEventListener("beforeinput", function () {
  var start = performance.now();
  requestAnimationFrame(function () {
    setTimeout(function () { window.__keyTimes.push(performance.now() - start); }, 0);
  });
}, true);
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.work).resolve()
    source, output = work / f"src-{args.tasks}", work / f"site-{args.tasks}"
    if not (source / "ai" / "tasks").is_dir():
        print(f"Generating {args.tasks:,} tasks into {source}")
        generate(args.tasks, source)
    started = time.perf_counter()
    shutil.rmtree(output, ignore_errors=True)
    config = load_config(source, None, {"output": str(output),
                                        "cache": str(work / f"cache-{args.tasks}")}, environ={})
    SiteBuilder(config).build()
    print(f"Built {args.tasks:,} tasks in {time.perf_counter() - started:.1f} s\n")

    print_sizes(output, args.tasks)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--disable-background-networking"])
        for page_url in ("tasks/index.html", "board.html"):
            measure(browser, output / page_url)
        browser.close()
    if not args.keep:
        shutil.rmtree(output, ignore_errors=True)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--work", default=str(HERE / "work" / "browser"))
    parser.add_argument("--keep", action="store_true", help="keep the built site")
    return parser.parse_args(argv)


def print_sizes(output: Path, tasks: int) -> None:
    print("Sizes")
    some_task = next((output / "tasks").glob("task_*.html"))
    for label, path in [("list page", output / "tasks/index.html"),
                        ("board page", output / "board.html"),
                        ("dashboard", output / "index.html"),
                        ("a task page", some_task),
                        ("assets/data.js", output / "assets/data.js")]:
        size = path.stat().st_size
        print(f"  {label:<16} {size / 1024:>9,.0f} KiB  ({size / tasks:,.0f} B per task)")
    print()


def measure(browser, page_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(PROBE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = time.perf_counter()
    page.goto(page_path.as_uri(), wait_until="load")
    loaded = time.perf_counter() - started
    field = page.locator("[data-filters] input[name=q]")
    field.click()
    name = f"{page_path.parent.name}/{page_path.name}"
    print(f"{name}: loaded and ready in {loaded * 1000:,.0f} ms")

    for query in QUERIES:
        field.fill("")
        page.wait_for_timeout(300)
        page.evaluate("window.__keyTimes = []; performance.clearMeasures('taskmon-filter')")
        for char in query:
            page.keyboard.type(char)
            page.wait_for_timeout(120)
        page.wait_for_timeout(300)
        frames = page.evaluate("window.__keyTimes")
        work = page.evaluate("performance.getEntriesByName('taskmon-filter')"
                             ".map(function (e) { return e.duration; })")
        shown = page.locator("[data-shown]").inner_text()
        print(f"  typing {query!r:<14} → {shown}")
        print(f"    key → next frame: {summary(frames)}")
        print(f"    filter work:      {summary(work)}")
    if errors:
        print(f"  page errors: {errors}")
    print()
    context.close()


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    return (f"median {statistics.median(ordered):6.1f} ms, max {ordered[-1]:6.1f} ms "
            f"over {len(ordered)} keys  [" + " ".join(f"{v:.0f}" for v in values) + "]")


if __name__ == "__main__":
    raise SystemExit(main())
