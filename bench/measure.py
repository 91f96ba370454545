"""Measuring whole processes and looking at what they wrote."""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PR_SET_CHILD_SUBREAPER = 36
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024

# Where each generator may put one page per task, most specific first.
TASK_PAGE_PATTERNS = (
    "ai/tasks/*/index.html", "ai/tasks/*.html", "tasks/*/index.html", "tasks/*.html",
    "task/*/index.html", "task/*.html", "t/*/index.html", "t/*.html",
)
DOC_PAGE_PATTERNS = ("docs/*/index.html", "docs/*.html", "doc/*/index.html", "doc/*.html")
# Files that hold the list of all tasks, when the generator writes them.
LIST_FILES = ("tasks.json", "list/index.html", "tasks/index.html", "index.html")


@dataclass
class Run:
    """One process run: wall time, memory, CPU time, exit code.

    Memory and CPU time cover the process and every process it started, also
    those that outlive it (a forkserver and its workers): they are reaped too.
    """

    seconds: float
    max_rss_kb: int
    """Peak resident set of the largest single process."""
    processes: int
    """Processes of the build: those reaped and those seen by the sampler."""
    cpu_seconds: float
    returncode: int
    log: Path
    peak_total_kb: int = 0
    """Peak of the summed resident sets of the process group, sampled."""
    peak_pss_kb: int = 0
    """Peak of the summed proportional set sizes (shared pages split among their
    processes, so a forked worker's copy-on-write pages count once), sampled."""
    changed: list[str] | None = None
    """Output files written, added or removed by this run, when watched."""


@dataclass
class Measure:
    """Repeated runs of one command, and why it stopped if it failed."""

    runs: list[Run] = field(default_factory=list)
    error: str | None = None

    @property
    def best(self) -> Run | None:
        """The fastest successful run (best-of-N is the least noisy figure)."""
        ok = [run for run in self.runs if run.returncode == 0]
        return min(ok, key=lambda run: run.seconds) if ok else None


@dataclass
class Output:
    """What a generator wrote: page counts, sizes, list data."""

    files: int
    total_bytes: int
    task_pattern: str | None
    task_pages: list[Path]
    doc_pages: int
    list_files: dict[str, int]

    @property
    def avg_task_page(self) -> float:
        sizes = [page.stat().st_size for page in self.task_pages]
        return sum(sizes) / len(sizes) if sizes else 0.0


def run_process(cmd: list[str], cwd: Path, log: Path, timeout: float,
                env: dict[str, str] | None = None) -> Run:
    """Run *cmd* to completion; rusage comes from wait4 per process, not a delta."""
    become_subreaper()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, (proc.pid,))
        timer.start()
        sampler = GroupSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        usages = [usage] + _reap_orphans()
        timer.cancel()
        sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds=seconds,
        max_rss_kb=max(u.ru_maxrss for u in usages),
        processes=max(len(usages), len(sampler.pids)),
        cpu_seconds=sum(u.ru_utime + u.ru_stime for u in usages),
        returncode=proc.returncode,
        log=log,
        peak_total_kb=sampler.peak_kb,
        peak_pss_kb=sampler.peak_pss_kb,
    )


#: Seconds between samples of the resident sets, and samples per one of the PSS: the
#: kernel walks a process's page tables for its PSS, holding its memory map, which
#: slowed a 45 s build by 5 s when done every 50 ms.
SAMPLE_INTERVAL = 0.05
PSS_EVERY = 10


class GroupSampler(threading.Thread):
    """Samples the summed resident set (and, less often, PSS) of a process group
    until stopped."""

    def __init__(self, pgid: int, interval: float = SAMPLE_INTERVAL) -> None:
        super().__init__(daemon=True)
        self.pgid, self.interval, self.peak_kb, self.peak_pss_kb = pgid, interval, 0, 0
        self.pids: set[int] = set()
        self._done = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self._done.wait(self.interval):
            tick += 1
            rss, pss = group_memory_kb(self.pgid, self.pids, tick % PSS_EVERY == 1)
            self.peak_kb = max(self.peak_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)

    def stop(self) -> None:
        self._done.set()
        self.join()


def group_memory_kb(pgid: int, seen: set[int], with_pss: bool = True) -> tuple[int, int]:
    """Summed resident set and (*with_pss*, else 0) proportional set size of a process
    group's processes, from /proc; adds their pids to *seen*."""
    rss = pss = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            # Fields after the command name, which may hold spaces: state, ppid, pgrp.
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                rss += int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * PAGE_KB
                pss += _pss_kb(entry) if with_pss else 0
                seen.add(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return rss, pss


def _pss_kb(pid: str) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def become_subreaper() -> None:
    """Adopt orphaned descendants, so their rusage can be collected (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def end_group(proc: subprocess.Popen, grace: float = 30.0) -> None:
    """Stop *proc* (started with ``start_new_session``) and every process of its group,
    and reap those adopted here, so that none of them runs on, or is counted, in the
    next measured run (a preview server's worker pool outlives the server)."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    _kill_group(proc.pid)
    _reap_orphans()


def _reap_orphans() -> list[resource.struct_rusage]:
    """Wait for descendants that outlived the main process; their usage each."""
    usages = []
    while True:
        try:
            _, _, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return usages
        usages.append(usage)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def repeat(cmd: list[str], cwd: Path, logs: Path, times: int, timeout: float,
           before: Callable[[int], None] | None = None, watch: Path | None = None,
           env: dict[str, str] | None = None, measure: Measure | None = None) -> Measure:
    """Run *cmd* up to *times* times, calling *before(n)* first; stop at the first failure.

    With *watch*, each run also counts the files it changed in that folder. With
    *measure*, its runs go on (numbered after those it has) and it is returned.
    """
    measure = measure if measure is not None else Measure()
    done = len(measure.runs)
    for n in range(done + 1, done + times + 1):
        if before is not None:
            before(n)
        stamps = snapshot(watch) if watch else {}
        run = run_process(cmd, cwd, logs.with_name(f"{logs.name}-{n}.log"), timeout, env)
        if watch:
            run.changed = changed_files(stamps, snapshot(watch))
        measure.runs.append(run)
        if run.returncode != 0:
            measure.error = (f"exit code {run.returncode}; last lines of {run.log}:\n"
                             + tail(run.log))
            break
    return measure


def tail(path: Path, lines: int = 12) -> str:
    """The last lines of a log file."""
    text = path.read_text(encoding="utf-8", errors="replace").rstrip("\n")
    return "\n".join(text.splitlines()[-lines:])


def inspect_output(out: Path) -> Output:
    """Count pages and sizes of a built site."""
    files = [path for path in out.rglob("*") if path.is_file()]
    pattern, task_pages = _best_pattern(out, TASK_PAGE_PATTERNS)
    _, doc_pages = _best_pattern(out, DOC_PAGE_PATTERNS)
    return Output(
        files=len(files),
        total_bytes=sum(path.stat().st_size for path in files),
        task_pattern=pattern,
        task_pages=task_pages,
        doc_pages=len(doc_pages),
        list_files=_list_files(out, files),
    )


def _best_pattern(out: Path, patterns: tuple[str, ...]) -> tuple[str | None, list[Path]]:
    best: tuple[str | None, list[Path]] = (None, [])
    for pattern in patterns:
        listing = out / pattern.split("/*")[0] / "index.html"
        pages = [page for page in out.glob(pattern) if page != listing]
        if len(pages) > len(best[1]):
            best = (pattern, sorted(pages))
    return best


def _list_files(out: Path, files: list[Path]) -> dict[str, int]:
    found = {name: (out / name).stat().st_size for name in LIST_FILES if (out / name).is_file()}
    for path in files:
        if path.suffix in (".json", ".js"):
            found[path.relative_to(out).as_posix()] = path.stat().st_size
    return found


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    """Modification time and size of every file, to see what a rebuild rewrote."""
    if not out.is_dir():
        return {}
    return {
        path.relative_to(out).as_posix(): (path.stat().st_mtime_ns, path.stat().st_size)
        for path in out.rglob("*") if path.is_file()
    }


def changed_files(before: dict[str, tuple[int, int]],
                  after: dict[str, tuple[int, int]]) -> list[str]:
    """The files written, added or removed between two snapshots."""
    touched = [name for name, stamp in after.items() if before.get(name) != stamp]
    return sorted(touched + [name for name in before if name not in after])
