"""The benchmark's Markdown report: one table per size, the machine, how to reproduce."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from measure import Measure, Output, Run
from preview import EDIT_KINDS

if TYPE_CHECKING:
    from run import SizeResult

DASH = "—"


def render(results: list[SizeResult], machine: dict[str, str], command: str,
           browser: str | None = None) -> str:
    """The whole report as Markdown."""
    parts = [_intro()]
    parts += [_size_section(result) for result in results]
    if browser:
        parts.append(_browser_section(browser))
    parts.append(_setup_section())
    parts.append(_machine_section(machine))
    parts.append(_reproduce_section(command))
    return "\n".join(parts)


def _intro() -> str:
    return (
        "# Performance\n\n"
        "How long `taskmon-site build` takes on synthetic task repositories, next to "
        "Hugo and MkDocs building the same Markdown. Every figure below was measured by "
        "`bench/run.py` in one run on the machine described at the end; nothing is "
        "typed in by hand. Times are wall-clock times of the whole process (start-up "
        "included), best of the runs shown; the table's other figures are from that run. "
        "Memory is measured three ways: the peak resident set of the largest single process "
        "(`ru_maxrss` from `wait4`, exact), the peak of the summed resident sets of "
        "every process the build started (worker pools included) and the peak of their "
        "summed proportional set sizes (PSS: a page shared by several processes, like a "
        "forked worker's copy-on-write pages or a shared library, counts once), "
        "sampled from `/proc`: the resident sets every 50 ms, the PSS every 0.5 s (the "
        "kernel holds a process's memory map while it sums its PSS, which slowed the "
        "builds measured). CPU time is user + system time of all those "
        "processes, each reaped by the benchmark (cold builds).\n"
    )


# --- one size -------------------------------------------------------------------


def _size_section(result: SizeResult) -> str:
    lines = [
        f"## {result.tasks:,} tasks",
        "",
        f"{result.tasks:,} task files and {result.docs:,} docs, "
        f"{_size(result.source_bytes)} of Markdown; best of {result.repeat} "
        f"run{'s' if result.repeat > 1 else ''}, the tools taking turns (one cold build "
        f"each, round by round). {_load(result.load)} {_speed(result.speed)}",
        "",
    ]
    lines += _figures_table(result)
    lines += ["", _ratios(result), ""]
    lines += _floors(result)
    lines += _ours_notes(result)
    lines += _failures(result)
    lines += _all_runs(result)
    return "\n".join(lines)


def _figures_table(result: SizeResult) -> list[str]:
    columns = [("taskmon-site", result.ours.get("cold"), result.ours_output),
               ("Hugo", result.hugo, result.hugo_output),
               ("MkDocs", result.mkdocs, result.mkdocs_output)]
    if result.mkdocs_full_nav is not None:
        columns.append(("MkDocs, default nav", result.mkdocs_full_nav,
                        result.mkdocs_full_nav_output))
    header = "| | " + " | ".join(name for name, _, _ in columns) + " |"
    rule = "|---|" + "---:|" * len(columns)
    rest = [DASH] * (len(columns) - 1)
    rows = [
        ("Cold build", [_seconds(m) for _, m, _ in columns]),
        ("Cold build without the search index", [_seconds(result.ours.get("cold-no-search"))]
         + [_seconds(m) for _, m, _ in columns[1:]]),
        ("No-op rebuild", [_seconds(result.ours.get("noop"))] + [DASH] * (len(columns) - 1)),
        ("Rebuild after editing one task",
         [_seconds(result.ours.get("edit"))] + rest),
        ("Preview: save → reload, one task (median)", [_preview(result.preview)] + rest),
        ("Peak memory, largest process", [_rss(m) for _, m, _ in columns]),
        ("Peak memory, all processes", [_total_rss(m) for _, m, _ in columns]),
        ("Peak memory, all processes (PSS)", [_total_pss(m) for _, m, _ in columns]),
        ("CPU time (cold)", [_cpu(m) for _, m, _ in columns]),
        ("Task pages", [_pages(o) for _, _, o in columns]),
        ("Average task page", [_avg_page(o) for _, _, o in columns]),
        ("Whole output", [_whole(o) for _, _, o in columns]),
    ]
    return [header, rule] + [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]


def _ratios(result: SizeResult) -> str:
    lines = []
    for label, kind in (("Our cold build time", "cold"),
                        ("Without the search index (neither Hugo nor MkDocs here builds one "
                         "at build time; MkDocs' search plugin writes a JSON index)",
                         "cold-no-search")):
        ours = _best(result.ours.get(kind))
        if ours is None:
            lines.append(f"{label}: did not complete (see below).")
            continue
        parts = []
        for name, other in (("Hugo", result.hugo), ("MkDocs", result.mkdocs)):
            theirs = _best(other)
            ratio = f"**{ours.seconds / theirs.seconds:.2f}×**" if theirs else "(failed)"
            parts.append(f"{name}: {ratio}")
        lines.append(f"{label} ÷ theirs, from this run: " + "; ".join(parts) + ".")
    return "\n\n".join(lines)


def _floors(result: SizeResult) -> list[str]:
    """What no change to our own code removes, from bench/floors.py."""
    floors = result.floors
    if not floors:
        return []
    if "error" in floors:
        return [f"What lies outside our code (`bench/floors.py`): failed: {floors['error']}", ""]
    md, start, cores = floors["markdown"], floors["startup"], floors["cores"]
    least = (md["parse"] + md["render"]) / cores
    hugo = _best(result.hugo)
    against = f", against Hugo's whole cold build of {hugo.seconds:.2f} s" if hugo else ""
    text = (f"What lies outside our own code (`bench/floors.py`, this run): markdown-it-py, "
            f"configured as taskmon-site uses it, takes {md['parse']:.2f} s of CPU time "
            f"to parse the bodies of these {md['files']:,} files and {md['render']:.2f} s "
            f"to render them (Pygments included) in one process: at least {least:.2f} s "
            f"on {cores} cores{against}.{_pagefind_site(floors.get('pagefind_site'))}"
            f" A rebuild as a whole process starts the "
            f"interpreter and imports what a build imports ({start['imports'] * 1000:.0f} ms; "
            f"the interpreter alone {start['python'] * 1000:.0f} ms)")
    if floors.get("pagefind") is not None:
        text += (f", and with search runs Pagefind on the changed page "
                 f"({floors['pagefind'] * 1000:.0f} ms for one page indexed in Chinese)")
    return [text + ".", ""]


def _pagefind_site(figures: dict | None) -> str:
    """Pagefind indexing every page at once (a sentence), or "" when not measured."""
    if not figures:
        return ""
    return (f" With search, Pagefind alone, indexing the {figures['pages']:,} task and "
            f"doc pages in one process, takes {figures['wall']:.2f} s "
            f"({figures['cpu']:.2f} s of CPU time).")


def _ours_notes(result: SizeResult) -> list[str]:
    lines = []
    output = result.ours_output
    if output is not None and output.list_files:
        lines += ["List and index data in our output:", ""]
        for name, size in sorted(output.list_files.items(), key=lambda item: -item[1])[:10]:
            lines.append(f"- `{name}`: {_size(size)}")
        lines.append("")
    if result.checks:
        lines += ["Checks on our output:", ""]
        lines += [f"- {'ok' if ok else '**not ok**'}: {text}" for ok, text in result.checks]
        lines.append("")
    return lines


def _failures(result: SizeResult) -> list[str]:
    problems = []
    if result.ours_error:
        problems.append(("taskmon-site", result.ours_error))
    if result.preview is not None and result.preview.error:
        problems.append(("taskmon-site serve", result.preview.error))
    for label, measure in (*((f"taskmon-site ({k})", m) for k, m in result.ours.items()),
                           ("Hugo", result.hugo), ("MkDocs", result.mkdocs),
                           ("MkDocs, default nav", result.mkdocs_full_nav)):
        if measure is not None and measure.error:
            problems.append((label, measure.error))
    lines = []
    for label, error in problems:
        lines += [f"**{label} failed:**", "", "```text", error.strip(), "```", ""]
    return lines


def _all_runs(result: SizeResult) -> list[str]:
    measures = [(f"taskmon-site {kind}", m) for kind, m in result.ours.items()]
    measures += [("Hugo cold", result.hugo), ("MkDocs cold", result.mkdocs)]
    if result.mkdocs_full_nav is not None:
        measures.append(("MkDocs default nav cold", result.mkdocs_full_nav))
    cells = [f"{label} {', '.join(f'{r.seconds:.2f}' for r in m.runs)}"
             for label, m in measures if m.runs]
    return [f"All runs, in seconds: {'; '.join(cells)}.", ""] if cells else []


# --- formatting -----------------------------------------------------------------


def _load(load: tuple[float, float]) -> str:
    cores = os.cpu_count() or 1
    return (f"Load average (1 min) before and after: {load[0]:.1f} and {load[1]:.1f} on "
            f"{cores} cores (the benchmark's own builds count in it).")


def _speed(speed: tuple[float, float]) -> str:
    if not all(speed):
        return ""
    return (f"A fixed piece of Python (`calibrate` in `bench/run.py`) took "
            f"{speed[0] * 1000:.0f} ms before and {speed[1] * 1000:.0f} ms after: "
            "how fast the machine was.")


def _preview(preview) -> str:
    if preview is None:
        return DASH
    if preview.error or preview.median is None:
        return "failed"
    parts = []
    for kind in EDIT_KINDS:
        median = preview.median_of(kind)
        if median is not None:
            reload, rebuild = median
            inner = f", rebuild {rebuild} ms" if rebuild is not None else ""
            parts.append(f"{kind}: {reload * 1000:.0f} ms{inner}")
    return f"{'; '.join(parts)} (worst {max(preview.reloads) * 1000:.0f} ms)"


def _best(measure: Measure | None) -> Run | None:
    return measure.best if measure is not None else None


def _seconds(measure: Measure | None) -> str:
    run = _best(measure)
    if run is None:
        return "failed" if measure is not None and measure.runs else DASH
    return f"{run.seconds:.2f} s" if run.seconds >= 1 else f"{run.seconds * 1000:.0f} ms"


def _rss(measure: Measure | None) -> str:
    run = _best(measure)
    return f"{run.max_rss_kb / 1024:.0f} MiB" if run else DASH


def _total_rss(measure: Measure | None) -> str:
    run = _best(measure)
    if run is None:
        return DASH
    plural = "es" if run.processes != 1 else ""
    # Sampling can miss the very peak; it is never below the largest process's.
    peak = max(run.peak_total_kb, run.max_rss_kb)
    return f"{peak / 1024:.0f} MiB ({run.processes} process{plural})"


def _total_pss(measure: Measure | None) -> str:
    run = _best(measure)
    return f"{run.peak_pss_kb / 1024:.0f} MiB" if run and run.peak_pss_kb else DASH


def _cpu(measure: Measure | None) -> str:
    run = _best(measure)
    return f"{run.cpu_seconds:.2f} s" if run else DASH


def _pages(output: Output | None) -> str:
    return f"{len(output.task_pages):,}" if output else DASH


def _avg_page(output: Output | None) -> str:
    return _size(output.avg_task_page) if output and output.task_pages else DASH


def _whole(output: Output | None) -> str:
    return f"{_size(output.total_bytes)} in {output.files:,} files" if output else DASH


def _size(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MiB"
    return f"{n / 1024:.1f} KiB"


def _browser_section(printed: str) -> str:
    return ("## Filtering in the browser\n\n"
            "`bench/browser_filter.py` builds a generated site, opens the task list and "
            "the board from `file://` in headless Chromium, types into the filter one key "
            "at a time and takes, per key, the time from the key press to the next "
            "rendered frame, and the filter's own work (the `taskmon-filter` performance "
            "measures of `views.js`). What it printed:\n\n"
            f"```text\n{printed.strip()}\n```\n")


# --- setup, machine, reproduction ----------------------------------------------


def _setup_section() -> str:
    return """## What each tool builds

- **taskmon-site**: `taskmon-site build SRC -o OUT` on the generated tree as is
  (its `taskmon.toml` names `ai/tasks/**/*.md` and `docs/**/*.md`), with
  `XDG_CACHE_HOME` pointing into `bench/work/` so that its page cache (by default
  under the user's XDG cache) is the benchmark's to remove. Cold: that cache,
  `SRC/.taskmon-cache` and `OUT` removed first; once with `--no-search` (no Pagefind
  index, like the other two), then as is. No-op: the same command again. Edit: one
  line of one task's body changed, then the same command. Both rebuilds are whole
  processes (start-up, reading the build state, writing the index pages, indexing
  the changed search bundle).
- **taskmon-site serve** (the preview): `taskmon-site serve SRC --port 0` with a cache
  of its own; a LiveReload client connects like an open page, then one task file is
  rewritten at a time and the time from the write to the `reload` message is taken
  (after a save of one file the server waits 50 ms for more changes, in a burst
  100 ms). The edits take turns: "body" adds a line to the body (the list's row
  stays as it was), "status" gives the task another status (its row and card, the
  counts and the dashboard change; the list, board and data files are written
  again). Each figure is the median of its kind. "rebuild" is the server's own
  rebuild time from its log. The search bundle of the edited page is indexed after
  the reload and before the next edit.
- **Hugo**: a minimal site with the task and doc files copied under `content/`, one
  `single.html` that renders each page's content and one `list.html` that links every
  page; RSS, sitemap and taxonomies disabled. Code is highlighted at build time
  (Chroma); links to `.md` files are left as they are (no render hook). Cold:
  `public/`, `resources/` and the cache folder removed first; `hugo --quiet`.
- **MkDocs**: the default theme and plugins (so a search index is built), the same
  files under `docs_dir`, an index page linking every page, and `nav` holding just
  that index page. MkDocs' default navigation lists every page on every page, which
  makes output grow with the square of the page count; that variant ("default nav")
  is measured only up to 1,000 tasks. MkDocs highlights code in the browser, not at
  build time. Cold: `site/` removed; `mkdocs build -q`.
"""


def machine_info(root: Path, mkdocs: Path, taskmon: list[str] | None) -> dict[str, str]:
    """Facts about this machine and the tools' versions."""
    return {
        "CPU": _cpu_model(),
        "Cores": str(os.cpu_count()),
        "RAM": _ram(),
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "taskmon-site": _taskmon_version(root, taskmon),
        "taskmon-site command": f"`{' '.join(taskmon)}`" if taskmon else "not found",
        "Hugo": _first_line(["hugo", "version"]),
        "MkDocs": _first_line([str(mkdocs), "--version"]).split(" from ")[0],
        "Date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "not available"


def _taskmon_version(root: Path, taskmon: list[str] | None) -> str:
    if taskmon is None:
        return "not installed"
    try:
        version = metadata.version("taskmon-site")
    except metadata.PackageNotFoundError:
        version = "unknown version"
    commit = _first_line(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    dirty = _first_line(["git", "-C", str(root), "status", "--porcelain", "--",
                         "taskmon_site"])
    state = " with uncommitted changes in taskmon_site/" if dirty != "not available" else ""
    return f"{version}, commit {commit}{state}"


def _machine_section(machine: dict[str, str]) -> str:
    rows = "\n".join(f"| {key} | {value} |" for key, value in machine.items())
    return f"## Machine\n\n| | |\n|---|---|\n{rows}\n"


def _reproduce_section(command: str) -> str:
    return (
        "## How to reproduce\n\n"
        "From the repository root, with `taskmon-site` installed (`pip install -e .`) "
        "and Hugo on the PATH (Debian: `apt-get install -y hugo`); MkDocs is installed "
        "into `bench/work/venv-mkdocs` on first use:\n\n"
        f"```sh\n{command}\n```\n\n"
        "`python bench/run.py --quick` is a smoke run on 200 tasks. See `bench/README.md`.\n"
    )
