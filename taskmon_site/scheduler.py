"""Turn a stream of file-change notifications into few, serialised rebuilds.

Changes are collected until the source tree has been quiet for a short while
(or a maximum wait has passed, so a file that never stops changing cannot
starve the site), then handed to one rebuild on a worker thread. While a
rebuild runs, new changes accumulate into at most one queued batch, so a
change is never dropped and never waits behind more than one build.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

#: Quiet period after the last change before a rebuild starts. Editors' save
#: sequences and a branch switch finish well within it.
QUIET_SECONDS = 0.1
#: The quiet period while only one or two files changed: a save, whose reload
#: should not wait long. A branch switch changes more files within this time
#: and so gets the full quiet period.
QUIET_FEW_SECONDS = 0.03
FEW_PATHS = 2
#: Upper bound on how long a change waits while changes keep arriving.
MAX_WAIT_SECONDS = 2.0

RebuildFunc = Callable[[set[Path]], object]
DoneFunc = Callable[[object], None]


class RebuildScheduler:
    """Debounce change notifications and run one rebuild at a time.

    *rebuild* receives the set of changed paths and runs on the worker thread;
    *on_done* then receives its return value, or the exception it raised.
    :meth:`notify` may be called from any thread.
    """

    def __init__(
        self,
        rebuild: RebuildFunc,
        on_done: DoneFunc,
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
        quiet_few: float | None = None,
    ) -> None:
        self._rebuild = rebuild
        self._on_done = on_done
        self._quiet = quiet
        self._quiet_few = min(quiet, QUIET_FEW_SECONDS) if quiet_few is None else quiet_few
        self._max_wait = max_wait
        self._cond = threading.Condition()
        self._pending: set[Path] = set()
        self._first_at = 0.0
        self._last_at = 0.0
        self._building = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="taskmon-rebuild", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the running rebuild (if any); queued changes are dropped."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def notify(self, paths: Iterable[Path]) -> None:
        """Record changed paths; a rebuild follows once changes stop arriving."""
        paths = set(paths)
        if not paths:
            return
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first_at = now
            self._pending |= paths
            self._last_at = now
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or building; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._building:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run_one(batch)

    def _next_batch(self) -> set[Path] | None:
        """Block until a batch is due; None once stopping."""
        with self._cond:
            while not self._stopping:
                if not self._pending:
                    self._cond.wait()
                    continue
                quiet = self._quiet_few if len(self._pending) <= FEW_PATHS else self._quiet
                due = min(self._last_at + quiet, self._first_at + self._max_wait)
                delay = due - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                batch, self._pending = self._pending, set()
                self._building = True
                return batch
            return None

    def _run_one(self, batch: set[Path]) -> None:
        try:
            outcome: object = self._rebuild(batch)
        except Exception as exc:  # reported to on_done; the loop must survive
            outcome = exc
        try:
            self._on_done(outcome)
        except Exception:
            logger.exception("Rebuild callback failed")
        finally:
            with self._cond:
                self._building = False
                self._cond.notify_all()
