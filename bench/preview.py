"""Save → reload in the preview server, as an open page sees it.

Starts ``taskmon-site serve`` on a generated tree, connects to its LiveReload
socket like an open page does, then edits one task at a time and takes the
time from the moment the file is written to the moment the reload message
arrives. The server's own log line gives the rebuild time within that. Edits
take turns: a line added to the body (the list's row stays as it was) and a new
status (the row, the board's card, the counts and the dashboard change).

    python bench/preview.py --tasks 1000          # generates into bench/work/
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tornado.websocket import websocket_connect

from measure import become_subreaper, end_group

BENCH = Path(__file__).resolve().parent
WORK = BENCH / "work"
_URL = re.compile(r"Serving on (http://\S+)")
_REBUILT = re.compile(r"Changed (\S+): rebuilt .* in (\d+) ms")
_INDEXED = re.compile(r"Indexed \d+ pages for search")
_STATUS = re.compile(r"^(status|状态): .*$", re.M)
#: The kinds of edit, in turn (see :func:`edited`).
EDIT_KINDS = ("body", "status")
STATUSES = ("in_progress", "review", "completed")


@dataclass
class PreviewResult:
    """Save → reload times of single edits, and the rebuild times the server logged."""

    reloads: list[float] = field(default_factory=list)
    #: The kind of each edit (EDIT_KINDS), and the server's rebuild time of each.
    kinds: list[str] = field(default_factory=list)
    rebuilds_ms: list[int | None] = field(default_factory=list)
    #: Seconds from starting the server to its first build being served.
    startup: float = 0.0
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.reloads) if self.reloads else None

    def median_of(self, kind: str) -> tuple[float, int | None] | None:
        """The median save → reload (seconds) and rebuild (ms) of the edits of *kind*."""
        reloads = [s for s, k in zip(self.reloads, self.kinds) if k == kind]
        rebuilds = [ms for ms, k in zip(self.rebuilds_ms, self.kinds)
                    if k == kind and ms is not None]
        if not reloads:
            return None
        return statistics.median(reloads), (int(statistics.median(rebuilds)) if rebuilds
                                            else None)


def edited(text: str, n: int) -> tuple[str, str]:
    """Edit *n* (from 1) of a task file's *text* (as edit n - 1 left it): its kind and
    the new text."""
    kind = EDIT_KINDS[(n - 1) % len(EDIT_KINDS)]
    if kind == "status" and _STATUS.search(text):
        status = STATUSES[(n // len(EDIT_KINDS)) % len(STATUSES)]
        return kind, _STATUS.sub(lambda m: f"{m.group(1)}: {status}", text, count=1)
    return "body", text + f"\n\nPreview benchmark edit {n}.\n"


class ServerLog(threading.Thread):
    """Reads the server's output lines; tells who waits for a pattern."""

    def __init__(self, stream, log: Path) -> None:
        super().__init__(daemon=True)
        self.stream, self.log = stream, log
        self.lines: list[str] = []
        #: The server closed its output (it exited): no line will come.
        self.ended = False
        self._cond = threading.Condition()

    def run(self) -> None:
        with open(self.log, "w", encoding="utf-8") as sink:
            for line in self.stream:
                sink.write(line)
                sink.flush()
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        with self._cond:
            self.ended = True
            self._cond.notify_all()

    def wait_for(self, pattern: re.Pattern, start: int, timeout: float) -> re.Match | None:
        """The first line at or after index *start* matching *pattern*; None when none
        came within *timeout* or the server exited without it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    if (match := pattern.search(line)) is not None:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.ended:
                    return None
                self._cond.wait(remaining)


def measure_preview(taskmon: list[str], src: Path, edits: int, log: Path,
                    env: dict[str, str] | None = None, timeout: float = 1800.0,
                    search: bool = True) -> PreviewResult:
    """Serve *src*, then edit one task *edits* times; see :class:`PreviewResult`."""
    result = PreviewResult()
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*taskmon, "serve", str(src), "--port", "0"] + ([] if search else ["--no-search"])
    started = time.perf_counter()
    become_subreaper()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    reader = ServerLog(proc.stdout, log)
    reader.start()
    try:
        found = reader.wait_for(_URL, 0, timeout)
        if found is None:
            why = "exited" if reader.ended else f"printed no URL within {timeout:.0f} s"
            result.error = f"the server {why}; see {log}"
            return result
        result.startup = time.perf_counter() - started
        tasks = sorted((src / "ai" / "tasks").glob("*.md"))
        task = tasks[len(tasks) // 3]
        asyncio.run(_edit_and_wait(found.group(1), task, edits, reader, result, search))
    except Exception as exc:  # a benchmark reports what failed instead of dying
        result.error = f"{type(exc).__name__}: {exc}; see {log}"
    finally:
        end_group(proc)
    return result


async def _edit_and_wait(url: str, task: Path, edits: int, reader: ServerLog,
                         result: PreviewResult, search: bool) -> None:
    socket = await websocket_connect(url.replace("http://", "ws://") + "livereload")
    await socket.write_message(json.dumps({
        "command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}))
    await _next_command(socket, "hello", 30)
    await socket.write_message(json.dumps({"command": "info", "plugins": {}, "url": url}))
    original = text = task.read_text(encoding="utf-8")
    try:
        for n in range(1, edits + 1):
            mark = len(reader.lines)
            kind, text = edited(text, n)
            before = time.perf_counter()
            task.write_text(text, encoding="utf-8")
            await _next_command(socket, "reload", 120)
            result.reloads.append(time.perf_counter() - before)
            result.kinds.append(kind)
            rebuilt = reader.wait_for(_REBUILT, mark, 30)
            result.rebuilds_ms.append(int(rebuilt.group(2)) if rebuilt else None)
            if search:  # let the search bundle update finish before the next edit
                reader.wait_for(_INDEXED, mark, 120)
            await asyncio.sleep(0.5)
    finally:
        task.write_text(original, encoding="utf-8")
        socket.close()


async def _next_command(socket, command: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {command!r} message within {timeout:.0f} s")
        message = await asyncio.wait_for(socket.read_message(), remaining)
        if message is None:
            raise ConnectionError("the server closed the LiveReload socket")
        data = json.loads(message)
        if data.get("command") == command:
            return data


def main(argv: list[str] | None = None) -> None:
    import generate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=6)
    parser.add_argument("--no-search", action="store_true")
    args = parser.parse_args(argv)
    taskmon = [shutil.which("taskmon-site") or "taskmon-site"]
    src = generate.generate(args.tasks, WORK / f"src-{args.tasks}")
    env = dict(os.environ, XDG_CACHE_HOME=str(WORK / f"xdg-cache-{args.tasks}"))
    result = measure_preview(taskmon, src, args.edits, WORK / "logs" / "preview.log", env,
                             search=not args.no_search)
    if result.error:
        sys.exit(result.error)
    print(f"startup {result.startup:.2f} s; save → reload: "
          + ", ".join(f"{k} {s * 1000:.0f} ms" for k, s in zip(result.kinds, result.reloads))
          + f"; server rebuilds: {', '.join(f'{ms} ms' for ms in result.rebuilds_ms)}")


if __name__ == "__main__":
    main()
