"""Benchmark taskmon-site against Hugo and MkDocs on synthetic task repositories.

Every build is timed as a whole process. Trees, sites and logs go to bench/work/.

    python bench/run.py                  # 1,000 and 10,000 tasks; report on stdout
    python bench/run.py --quick          # 200 tasks, one run each: a smoke test
    python bench/run.py --write-doc      # also write docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import generate
import report
from measure import Measure, Output, inspect_output, repeat
from preview import PreviewResult, measure_preview

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
MKDOCS_VERSION = "1.6.1"
# MkDocs' default navigation lists every page on every page: quadratic, so the
# variant with it is only run on small trees.
FULL_NAV_MAX_TASKS = 1000


@dataclass
class SizeResult:
    """Everything measured on one generated tree."""

    tasks: int
    docs: int
    source_bytes: int
    repeat: int
    ours: dict[str, Measure] = field(default_factory=dict)
    ours_error: str | None = None
    ours_output: Output | None = None
    checks: list[tuple[bool, str]] = field(default_factory=list)
    hugo: Measure = field(default_factory=Measure)
    hugo_output: Output | None = None
    mkdocs: Measure = field(default_factory=Measure)
    mkdocs_output: Output | None = None
    mkdocs_full_nav: Measure | None = None
    mkdocs_full_nav_output: Output | None = None
    load: tuple[float, float] = (0.0, 0.0)
    """1-minute load average before and after this size's builds."""
    speed: tuple[float, float] = (0.0, 0.0)
    """Seconds of :func:`calibrate` before and after this size's builds."""
    preview: PreviewResult | None = None
    """Save → reload in the preview server, one task edited at a time."""
    floors: dict | None = None
    """What lies outside our own code (see bench/floors.py), or {"error": ...}."""


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    taskmon = _taskmon_command(args.taskmon)
    results = [bench_size(n, args, taskmon) for n in args.sizes]
    browser = bench_browser(args.browser_tasks) if args.browser_tasks else None

    command = "python bench/run.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    machine = report.machine_info(ROOT, _mkdocs_bin(), taskmon)
    text = report.render(results, machine, command.strip(), browser)
    if args.write_doc:
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "performance.md").write_text(text, encoding="utf-8")
        print(f"wrote {ROOT / 'docs' / 'performance.md'}", file=sys.stderr)
    print(text)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="task counts to generate (default: 1000 10000)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 200 tasks, one run of everything")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per measurement (default: 3 up to 1,000 tasks, else 2)")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds before one build is killed")
    parser.add_argument("--taskmon", default=None,
                        help="command that runs our CLI (default: taskmon-site on PATH)")
    parser.add_argument("--write-doc", action="store_true", help="write docs/performance.md")
    parser.add_argument("--edits", type=int, default=6,
                        help="single-task edits timed in the preview server (0: none)")
    parser.add_argument("--browser-tasks", type=int, default=10_000,
                        help="tasks of the site filtered in Chromium (0: no browser run)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = [200], args.repeat or 1
        args.browser_tasks = min(args.browser_tasks, 200)
    return args


def _taskmon_command(given: str | None) -> list[str] | None:
    if given:
        return shlex.split(given)
    found = shutil.which("taskmon-site")
    if found and "/.pyenv/shims/" in found:
        # A pyenv shim is a shell script that adds its own start-up to every run.
        done = subprocess.run(["pyenv", "which", "taskmon-site"], capture_output=True, text=True)
        found = done.stdout.strip() if done.returncode == 0 else found
    return [found] if found else None


def _repeat_for(tasks: int, args: argparse.Namespace) -> int:
    if args.repeat:
        return args.repeat
    return 3 if tasks <= 1000 else 2


def bench_size(tasks: int, args: argparse.Namespace, taskmon: list[str] | None) -> SizeResult:
    """Generate a tree of *tasks* tasks and time the three generators on it."""
    _log(f"== {tasks} tasks: generating")
    src = generate.generate(tasks, WORK / f"src-{tasks}")
    result = SizeResult(
        tasks=tasks,
        docs=len(list((src / "docs").glob("*.md"))),
        source_bytes=sum(p.stat().st_size for p in src.rglob("*.md")),
        repeat=_repeat_for(tasks, args),
    )
    # The other sites get a pristine copy before our rebuild-after-edit changes src.
    hugo_site = prepare_hugo(src, tasks)
    mkdocs_site = prepare_mkdocs(src, tasks)

    load_before = os.getloadavg()[0]
    speed_before = calibrate()
    ours = OursSetup(result, src, taskmon)
    jobs = ours.cold_jobs() + hugo_jobs(result, hugo_site) + mkdocs_jobs(result, mkdocs_site)
    cold_rounds(jobs, result.repeat, args.timeout)
    ours.after_cold(args.timeout)
    if taskmon is not None:
        _log("   floors: markdown-it-py alone, Pagefind on every page, start-up, "
             "Pagefind on one page")
        result.floors = measure_floors(src, ours.out)
    if taskmon is not None and args.edits:
        _log(f"   taskmon-site serve: {args.edits} edits")
        env = dict(os.environ, XDG_CACHE_HOME=str(WORK / f"xdg-cache-{tasks}-serve"))
        result.preview = measure_preview(taskmon, src, args.edits,
                                         WORK / "logs" / f"{tasks}-preview.log", env)
    inspect_others(result, hugo_site, mkdocs_site)
    result.load = (load_before, os.getloadavg()[0])
    result.speed = (speed_before, calibrate())
    return result


def measure_floors(src: Path, out: Path) -> dict:
    """bench/floors.py's figures for *src* and its built site *out*, in a process of
    this interpreter (which must import taskmon_site, as the one built with)."""
    done = subprocess.run([sys.executable, str(BENCH / "floors.py"), str(src), str(out)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return {"error": lines[-1] if lines else f"exit code {done.returncode}"}
    return json.loads(done.stdout)


@dataclass
class ColdJob:
    """One tool's cold build: a command, what to remove before it, and its runs."""

    label: str
    cmd: list[str]
    cwd: Path
    logs: Path
    clean: Callable[[int], None]
    measure: Measure
    env: dict[str, str] | None = None


def cold_rounds(jobs: list[ColdJob], times: int, timeout: float) -> None:
    """Run the cold builds in rounds, each tool once a round: the machine's speed drifts
    (by a third within minutes here), and so it weighs on every tool alike."""
    for n in range(1, times + 1):
        for job in jobs:
            if job.measure.error:
                continue
            _log(f"   {job.label}: cold {n}/{times}")
            repeat(job.cmd, job.cwd, job.logs, 1, timeout, job.clean, env=job.env,
                   measure=job.measure)


CALIBRATION = """
import time
best = float("inf")
for _ in range(3):
    started = time.perf_counter()
    table = {}
    for i in range(300_000):
        table[str(i)] = (i * i, str(i))
    best = min(best, time.perf_counter() - started)
    del table
print(best)
"""


def calibrate() -> float:
    """Seconds a fixed piece of Python (arithmetic and allocation) takes, best of three:
    how fast the machine is at the time, to compare runs made at other times. In a
    process of its own: what it allocates would stay in the benchmark's, and every
    process started from it counts that memory as its own until it runs its program."""
    done = subprocess.run([sys.executable, "-c", CALIBRATION], capture_output=True,
                          text=True, check=True)
    return float(done.stdout)


def bench_browser(tasks: int) -> str:
    """What bench/browser_filter.py prints: filtering the list and board in Chromium."""
    import contextlib
    import io

    import browser_filter

    _log(f"== browser: filtering {tasks:,} tasks in Chromium")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            browser_filter.main(["--tasks", str(tasks), "--work", str(WORK / "browser")])
    except Exception as exc:  # the report says what failed instead of losing the rest
        printed.write(f"\nfailed: {type(exc).__name__}: {exc}\n")
    return printed.getvalue()


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- taskmon-site ---------------------------------------------------------------


class OursSetup:
    """Our cold builds (with and without the search index) as jobs of the rounds, then
    the no-op rebuild and the rebuild after one edit, with output checks."""

    def __init__(self, result: SizeResult, src: Path, taskmon: list[str] | None) -> None:
        self.result, self.src, self.taskmon = result, src, taskmon
        self.out = WORK / f"out-{result.tasks}" / "taskmon"
        self.logs = WORK / "logs" / f"{result.tasks}-taskmon"
        self.cmd = [*(taskmon or []), "build", str(src), "-o", str(self.out)]
        # Wherever the cache lives by default (in the tree or the user's XDG cache),
        # a cold build must start without it: both places are ours to remove.
        self.caches = [src / ".taskmon-cache", WORK / f"xdg-cache-{result.tasks}"]
        self.env = dict(os.environ, XDG_CACHE_HOME=str(self.caches[1]))

    def clean(self, _: int) -> None:
        for folder in (*self.caches, self.out):
            shutil.rmtree(folder, ignore_errors=True)

    def cold_jobs(self) -> list[ColdJob]:
        if self.taskmon is None:
            self.result.ours_error = ("`taskmon-site` is not on PATH "
                                      "(install with `pip install -e .`).")
            return []
        ours = self.result.ours
        ours["cold-no-search"], ours["cold"] = Measure(), Measure()
        # The build with the search index comes last in a round: its output is the one
        # left for the no-op and edit runs.
        return [ColdJob("taskmon-site without search", [*self.cmd, "--no-search"], ROOT,
                        self.logs / "cold-no-search", self.clean, ours["cold-no-search"],
                        self.env),
                ColdJob("taskmon-site", self.cmd, ROOT, self.logs / "cold", self.clean,
                        ours["cold"], self.env)]

    def after_cold(self, timeout: float) -> None:
        result, cmd, out, env = self.result, self.cmd, self.out, self.env
        cold = result.ours.get("cold")
        if cold is None or cold.error or not cold.runs:
            return
        result.ours_output = inspect_output(out)
        result.checks = check_output(result, cold.runs[-1].log) + [_cache_check(self.caches)]

        _log(f"   taskmon-site: no-op x{result.repeat}")
        noop = repeat(cmd, ROOT, self.logs / "noop", result.repeat, timeout, watch=out,
                      env=env)
        result.ours["noop"] = noop
        result.checks.append(_rewrite_check("no-op rebuild", noop, pages_ok=False))

        _log(f"   taskmon-site: edit x{result.repeat}")
        edited = _task_to_edit(self.src)
        edit = repeat(cmd, ROOT, self.logs / "edit", result.repeat, timeout,
                      before=lambda n: edit_task(edited, n), watch=out, env=env)
        result.ours["edit"] = edit
        result.checks.append(_rewrite_check("rebuild after one edit", edit, pages_ok=True))
        if not edit.error:
            result.checks.append(_edit_check(out, edit_marker(len(edit.runs))))


def _cache_check(caches: list[Path]) -> tuple[bool, str]:
    for folder in caches:
        files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
        if files:
            size = sum(p.stat().st_size for p in files)
            where = folder.relative_to(WORK.parent.parent).as_posix()
            return (True, f"the cold build wrote a cache: {len(files):,} files, "
                          f"{size / 1024 / 1024:.1f} MiB under `{where}`")
    return (False, "the cold build wrote no cache in the tree or under XDG_CACHE_HOME")


def _task_to_edit(src: Path) -> Path:
    tasks = sorted((src / "ai" / "tasks").glob("*.md"))
    return tasks[len(tasks) // 2]


def edit_marker(n: int) -> str:
    return f"bench-edit-{n}"


def edit_task(path: Path, n: int) -> None:
    """Replace the line under '# 当前状态' with one naming edit *n*."""
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index("# 当前状态") + 1
    lines[at] = f"基准测试第 {n} 次修改：{edit_marker(n)}。"
    path.write_text("\n".join(lines), encoding="utf-8")


def check_output(result: SizeResult, cold_log: Path) -> list[tuple[bool, str]]:
    """What a reader would miss in our output: pages, tables, code, checklists, links."""
    output = result.ours_output
    assert output is not None
    checks = [
        (len(output.task_pages) == result.tasks,
         f"{len(output.task_pages):,} task pages (`{output.task_pattern}`), "
         f"expected {result.tasks:,}"),
        (output.doc_pages == result.docs,
         f"{output.doc_pages:,} doc pages, expected {result.docs:,}"),
    ]
    if output.task_pages:
        checks += _page_checks(output.task_pages[0].read_text(encoding="utf-8"))
    warnings = sum("warning" in line.lower() for line in cold_log.read_text(
        encoding="utf-8", errors="replace").splitlines())
    checks.append((warnings == 0, f"lines saying 'warning' in the cold build's log: {warnings:,}"))
    return checks


def _page_checks(html: str) -> list[tuple[bool, str]]:
    highlighted = any(mark in html for mark in ('class="highlight"', 'class="codehilite"',
                                                '<span class="k'))
    doc_links = re.findall(r'href="([^"]*-design-[^"]*)"', html)
    md_links = sum(1 for href in doc_links if re.search(r"\.md($|#)", href))
    return [
        ("<table" in html, "a task page renders the Markdown table"),
        ("<pre" in html, "a task page renders the fenced code block"),
        (highlighted, "the code block is syntax-highlighted at build time"),
        ('type="checkbox"' in html, "checklist items render as checkboxes"),
        (bool(doc_links) and md_links == 0,
         f"links to docs point at pages ({len(doc_links)} doc links, {md_links} end in .md)"),
    ]


def _rewrite_check(label: str, measure: Measure, pages_ok: bool) -> tuple[bool, str]:
    """What a rebuild wrote; rewriting task or doc pages is only fine after an edit."""
    changes = [run.changed for run in measure.runs if run.changed is not None]
    if measure.error or not changes:
        return (False, f"{label}: failed")
    worst = max(changes, key=len)
    pages = [name for name in worst if re.match(r"(tasks|docs)/[^/]+\.html$", name)]
    names = ", ".join(f"`{name}`" for name in worst[:6]) + (", …" if len(worst) > 6 else "")
    text = (f"{label} wrote, added or removed {len(worst):,} output files "
            f"({len(pages):,} of them task or doc pages)" + (f": {names}" if worst else ""))
    return (pages_ok or not pages, text)


def _edit_check(out: Path, marker: str) -> tuple[bool, str]:
    pages = inspect_output(out).task_pages
    found = any(marker in page.read_text(encoding="utf-8") for page in pages)
    return (found, "the edited text appears in the rebuilt task page")


# --- Hugo -----------------------------------------------------------------------

HUGO_CONFIG = """\
baseURL = "http://localhost/"
title = "bench"
disableKinds = ["taxonomy", "term", "RSS", "sitemap"]
"""
HUGO_SINGLE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ .File.BaseFileName }}</title></head>
<body><main>{{ .Content }}</main></body></html>
"""
HUGO_LIST = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><ul>{{ range .Site.RegularPages }}
<li><a href="{{ .RelPermalink }}">{{ .File.BaseFileName }}</a></li>{{ end }}
</ul></body></html>
"""


def prepare_hugo(src: Path, tasks: int) -> Path:
    """A minimal Hugo site whose content/ is a copy of the tree's Markdown."""
    site = WORK / f"hugo-{tasks}"
    shutil.rmtree(site, ignore_errors=True)
    _copy_markdown(src, site / "content")
    layouts = site / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (site / "config.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    (layouts / "single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (layouts / "list.html").write_text(HUGO_LIST, encoding="utf-8")
    return site


def _copy_markdown(src: Path, content: Path) -> None:
    content.mkdir(parents=True)
    shutil.copytree(src / "ai", content / "ai")
    shutil.copytree(src / "docs", content / "docs")


def hugo_jobs(result: SizeResult, site: Path) -> list[ColdJob]:
    """Cold `hugo --quiet` builds: public/, resources/ and the cache removed first."""
    hugo = shutil.which("hugo")
    if hugo is None:
        result.hugo.error = "`hugo` is not installed (`apt-get install -y hugo`)."
        return []

    def clean(_: int) -> None:
        for name in ("public", "resources", "cache"):
            shutil.rmtree(site / name, ignore_errors=True)

    cmd = [hugo, "--quiet", "--cacheDir", str(site / "cache")]
    logs = WORK / "logs" / f"{result.tasks}-hugo"
    return [ColdJob("hugo", cmd, site, logs / "cold", clean, result.hugo)]


def inspect_others(result: SizeResult, hugo_site: Path, mkdocs_site: Path) -> None:
    """What Hugo and MkDocs wrote, from their last cold builds."""
    if result.hugo.runs and not result.hugo.error:
        result.hugo_output = inspect_output(hugo_site / "public")
    if result.mkdocs.runs and not result.mkdocs.error:
        result.mkdocs_output = inspect_output(mkdocs_site / "site")
    full = result.mkdocs_full_nav
    if full is not None and full.runs and not full.error:
        result.mkdocs_full_nav_output = inspect_output(mkdocs_site / "site-full-nav")


# --- MkDocs ---------------------------------------------------------------------


def prepare_mkdocs(src: Path, tasks: int) -> Path:
    """A minimal MkDocs project; its index page links every task and doc."""
    site = WORK / f"mkdocs-{tasks}"
    shutil.rmtree(site, ignore_errors=True)
    _copy_markdown(src, site / "content")
    pages = sorted(p.relative_to(site / "content").as_posix()
                   for p in (site / "content").rglob("*.md"))
    index = ["# Tasks and docs", ""] + [f"- [{Path(p).stem}]({p})" for p in pages]
    (site / "content" / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    base = "site_name: bench\ndocs_dir: content\n"
    (site / "mkdocs.yml").write_text(base + "site_dir: site\nnav:\n  - index.md\n",
                                     encoding="utf-8")
    (site / "mkdocs-full-nav.yml").write_text(base + "site_dir: site-full-nav\n",
                                              encoding="utf-8")
    return site


def _mkdocs_bin() -> Path:
    return WORK / "venv-mkdocs" / "bin" / "mkdocs"


def ensure_mkdocs() -> str | None:
    """Install MkDocs into its own venv when missing; an error message on failure."""
    if _mkdocs_bin().exists():
        return None
    venv = WORK / "venv-mkdocs"
    _log(f"   installing mkdocs=={MKDOCS_VERSION} into {venv}")
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(venv / "bin" / "pip"), "install", "-q", f"mkdocs=={MKDOCS_VERSION}"]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            return f"could not install MkDocs: {' '.join(step)}\n{done.stderr[-2000:]}"
    return None


def mkdocs_jobs(result: SizeResult, site: Path) -> list[ColdJob]:
    """Cold `mkdocs build -q` (site/ removed first); also the default-nav variant."""
    error = ensure_mkdocs()
    if error:
        result.mkdocs.error = error
        return []
    jobs = [_mkdocs_job(result, site, "mkdocs.yml", "site", result.mkdocs, "mkdocs")]
    if result.tasks <= FULL_NAV_MAX_TASKS:
        result.mkdocs_full_nav = Measure()
        jobs.append(_mkdocs_job(result, site, "mkdocs-full-nav.yml", "site-full-nav",
                                result.mkdocs_full_nav, "mkdocs (default nav)"))
    return jobs


def _mkdocs_job(result: SizeResult, site: Path, config: str, site_dir: str,
                measure: Measure, label: str) -> ColdJob:
    cmd = [str(_mkdocs_bin()), "build", "-q", "-f", config]
    logs = WORK / "logs" / f"{result.tasks}-{Path(config).stem}"
    return ColdJob(label, cmd, site, logs / "cold",
                   lambda _: shutil.rmtree(site / site_dir, ignore_errors=True), measure)


if __name__ == "__main__":
    main()
