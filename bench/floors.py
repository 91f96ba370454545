"""What of a build lies outside taskmon-site's own code, measured on its own.

The cold build is bounded below by markdown-it-py (the Markdown library the
project chose): parsing and rendering every body, Pygments included, in one
process, divided by the cores, and, with search, by Pagefind indexing every
task and doc page. A rebuild as a whole process is bounded below by the
interpreter starting and importing what a build imports, and, with search, by
one Pagefind process indexing the changed page. Prints JSON:

    python bench/floors.py SRC OUT     # SRC: a generated tree, OUT: its built site
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: What ``taskmon-site build`` imports before it reads a page.
BUILD_IMPORTS = ("import taskmon_site.cli, taskmon_site.build, taskmon_site.reading, "
                 "taskmon_site.search")


def markdown_seconds(src: Path) -> dict[str, float]:
    """CPU seconds markdown-it-py takes, as taskmon-site configures it, to parse and
    to render the body of every task and doc of *src*, in this one process."""
    from taskmon_site.markdown import Markdown
    from taskmon_site.source import split_front_matter

    bodies = [split_front_matter(p.read_text(encoding="utf-8"), str(p)).body
              for p in sorted(src.rglob("*.md")) if ".taskmon-cache" not in p.parts]
    markdown = Markdown()
    parsed = []
    started = time.process_time()
    for body in bodies:
        parsed.append(markdown.parse(body, {}))
    parse = time.process_time() - started
    started = time.process_time()
    for tokens in parsed:
        markdown.render(tokens, {})
    render = time.process_time() - started
    return {"files": len(bodies), "parse": parse, "render": render}


def best_wall(cmd: list[str], times: int = 5) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def startup_seconds() -> dict[str, float]:
    """Wall seconds of the interpreter alone, and with a build's imports."""
    return {"python": best_wall([sys.executable, "-c", "pass"]),
            "imports": best_wall([sys.executable, "-c", BUILD_IMPORTS])}


def pagefind_seconds(out: Path) -> float | None:
    """Wall seconds of Pagefind indexing one task page of *out* in Chinese, as a
    rebuild indexes the delta bundle; None without Pagefind or pages."""
    from taskmon_site.search import pagefind_binary

    binary = pagefind_binary()
    page = next((p for p in sorted((out / "tasks").glob("*.html")) if p.name != "index.html"),
                None)
    if binary is None or page is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        site = Path(folder) / "site"
        (site / "tasks").mkdir(parents=True)
        shutil.copyfile(page, site / "tasks" / page.name)
        cmd = [str(binary), "--site", str(site), "--output-path", str(Path(folder) / "index"),
               "--force-language", "zh", "--keep-index-url"]
        return best_wall(cmd, times=3)


def pagefind_site_seconds(out: Path) -> dict[str, float] | None:
    """Wall and CPU seconds of one Pagefind process indexing every task and doc page
    of *out* in Chinese (the pages a cold build indexes, in its bundles one after the
    other); None without Pagefind or pages."""
    from taskmon_site.search import pagefind_binary

    binary = pagefind_binary()
    pages = [p for p in [*(out / "tasks").glob("*.html"), *(out / "docs").rglob("*.html")]
             if p.name != "index.html"]
    if binary is None or not pages:
        return None
    # Beside *out*, so that the pages can be linked rather than copied.
    with tempfile.TemporaryDirectory(dir=out.parent) as folder:
        site = Path(folder) / "site"
        for page in pages:
            target = site / page.relative_to(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(page, target)
        cmd = [str(binary), "--site", str(site), "--output-path", str(Path(folder) / "index"),
               "--force-language", "zh", "--keep-index-url", "--exclude-selectors",
               ".header-anchor"]
        started = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, cmd)
    return {"pages": len(pages), "wall": wall, "cpu": usage.ru_utime + usage.ru_stime}


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    floors = {"cores": len(os.sched_getaffinity(0)), "markdown": markdown_seconds(src),
              "startup": startup_seconds(), "pagefind": pagefind_seconds(out),
              "pagefind_site": pagefind_site_seconds(out)}
    print(json.dumps(floors))


if __name__ == "__main__":
    main()
