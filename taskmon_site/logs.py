"""Logging for a build tool: one root logger, counted warnings, JSON for CI.

Every module logs through ``logging.getLogger(__name__)`` below the
``taskmon_site`` logger. :func:`setup_logging` installs one handler there that
prints plain lines (or JSON lines), counts warnings for ``--strict`` and
collapses a warning repeated many times with different arguments.
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter

ROOT = "taskmon_site"
#: After this many warnings with the same message template, the rest are counted only.
REPEAT_LIMIT = 5


class WarningCounter(logging.Filter):
    """Counts warnings and mutes the ones repeated beyond :data:`REPEAT_LIMIT`."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.by_template: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        self.count += 1
        if record.msg == "%s":  # pre-formatted messages each count as their own kind
            return True
        self.by_template[str(record.msg)] += 1
        return self.by_template[str(record.msg)] <= REPEAT_LIMIT

    def muted(self) -> dict[str, int]:
        """Message templates whose later repeats were not printed, with how many."""
        return {m: n - REPEAT_LIMIT for m, n in self.by_template.items() if n > REPEAT_LIMIT}

    def reset(self) -> None:
        self.count = 0
        self.by_template.clear()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("file", "line"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False)


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


def report_muted(counter: WarningCounter) -> None:
    """Say how many repeated warnings were not printed."""
    log = logging.getLogger(ROOT)
    for template, n in counter.muted().items():
        log.info("%d more warnings like %r were not printed", n, template)
