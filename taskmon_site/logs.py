"""Logging for a build tool: one root logger, counted warnings, JSON for CI.

Every module logs through ``logging.getLogger(__name__)`` below the
``taskmon_site`` logger. :func:`setup_logging` installs one handler there that
prints plain lines (or JSON lines) and counts warnings for ``--strict``.

A warning about bad input may name its kind, as in
``log.warning("%s: unknown status %r", path, raw, extra={"kind": "unknown status"})``;
after :data:`REPEAT_LIMIT` warnings of one kind in one run, the rest are
counted but not printed, and :func:`report_muted` says how many there were.
Errors, and warnings without a kind (a refused request, say), are always printed.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from datetime import datetime

ROOT = "taskmon_site"
#: After this many warnings of one kind in one run, the rest are counted only.
REPEAT_LIMIT = 5


class WarningCounter(logging.Filter):
    """Counts warnings and mutes the ones of a kind repeated beyond :data:`REPEAT_LIMIT`."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.by_kind: Counter[str] = Counter()
        #: kind → the first message that was not printed, formatted.
        self.first_muted: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        self.count += 1
        kind = getattr(record, "kind", None)
        if record.levelno != logging.WARNING or not isinstance(kind, str) or not kind:
            return True
        self.by_kind[kind] += 1
        if self.by_kind[kind] <= REPEAT_LIMIT:
            return True
        self.first_muted.setdefault(kind, record.getMessage())
        return False

    def muted(self) -> dict[str, int]:
        """Kinds of warnings whose later repeats were not printed, with how many."""
        return {k: n - REPEAT_LIMIT for k, n in self.by_kind.items() if n > REPEAT_LIMIT}

    def end_run(self) -> None:
        """Start counting repeats afresh (the total for ``--strict`` stays)."""
        self.by_kind.clear()
        self.first_muted.clear()

    def reset(self) -> None:
        self.count = 0
        self.end_run()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message; file, line and kind when known.

    The file and line come from ``extra={"file": …, "line": …}`` or from a
    problem logged as the only argument (``log.warning("%s", problem)``).
    """

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).astimezone()
        entry = {
            "time": when.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_where(record))
        return json.dumps(entry, ensure_ascii=False)


def _where(record: logging.LogRecord) -> dict[str, object]:
    found = {key: getattr(record, key) for key in ("file", "line") if hasattr(record, key)}
    args = record.args if isinstance(record.args, tuple) else ()
    if not found and len(args) == 1 and hasattr(args[0], "src_uri"):
        found = {"file": args[0].src_uri, "line": getattr(args[0], "line", None)}
    if hasattr(record, "kind"):
        found["kind"] = record.kind
    return {k: v for k, v in found.items() if v is not None}


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            return f"{record.levelname}: {text}"
        return text


def setup_logging(verbosity: int = 0, fmt: str = "text") -> WarningCounter:
    """Configure the package logger; verbosity -1 quiet, 0 INFO, 1+ DEBUG."""
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    logger = logging.getLogger(ROOT)
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    counter = WarningCounter()
    handler.addFilter(counter)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return counter


def installed_counters() -> list[WarningCounter]:
    """The counters of the handlers :func:`setup_logging` installed."""
    return [f for h in logging.getLogger(ROOT).handlers for f in h.filters
            if isinstance(f, WarningCounter)]


def report_muted(counter: WarningCounter | None = None) -> None:
    """Say how many warnings of each kind were not printed, and end the run.

    Without *counter*, for every installed one: the preview server calls this
    after each rebuild, so each rebuild reports its own repeats.
    """
    log = logging.getLogger(ROOT)
    for each in [counter] if counter is not None else installed_counters():
        for kind, n in each.muted().items():
            noun = "warning" if n == 1 else "warnings"
            log.info("%d more %r %s were not printed; the first: %s",
                     n, kind, noun, each.first_muted[kind])
        each.end_run()
