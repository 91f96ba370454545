"""The log handler: every error printed, bad input of one kind collapsed, JSON for CI."""

from __future__ import annotations

import json
import logging
from datetime import datetime

from conftest import write_tree

from taskmon_site.cli import main
from taskmon_site.logs import JsonFormatter, report_muted, setup_logging
from taskmon_site.source import Problem

log = logging.getLogger("taskmon_site.test")


def test_errors_and_warnings_without_a_kind_are_never_collapsed(capsys):
    counter = setup_logging()
    for i in range(7):
        log.error("%s failed after %d ms: %s%s", "Changed taskmon.toml: build", i, "x: ", "bad")
        log.warning("Refused %s %s from %s: %s", "POST", f"/api/{i}", "::1", "wrong token")
    report_muted(counter)
    err = capsys.readouterr().err.splitlines()
    assert err[:2] == ["ERROR: Changed taskmon.toml: build failed after 0 ms: x: bad",
                       "WARNING: Refused POST /api/0 from ::1: wrong token"]
    assert len(err) == 14
    assert err[-2:] == ["ERROR: Changed taskmon.toml: build failed after 6 ms: x: bad",
                        "WARNING: Refused POST /api/6 from ::1: wrong token"]
    assert counter.count == 14


def test_warnings_of_one_kind_are_collapsed_per_run_with_a_formatted_summary(capsys):
    counter = setup_logging()
    for i in range(7):
        log.warning("%s: unknown status %r", f"t{i}.md", "soon", extra={"kind": "unknown status"})
    log.warning("%s: no title", "a.md", extra={"kind": "no title"})
    report_muted(counter)
    assert capsys.readouterr().err == (
        "WARNING: t0.md: unknown status 'soon'\n"
        "WARNING: t1.md: unknown status 'soon'\n"
        "WARNING: t2.md: unknown status 'soon'\n"
        "WARNING: t3.md: unknown status 'soon'\n"
        "WARNING: t4.md: unknown status 'soon'\n"
        "WARNING: a.md: no title\n"
        "2 more 'unknown status' warnings were not printed; the first: "
        "t5.md: unknown status 'soon'\n")

    log.warning("%s: unknown status %r", "t7.md", "soon", extra={"kind": "unknown status"})
    report_muted()  # the next run (a rebuild) starts counting afresh
    assert capsys.readouterr().err == "WARNING: t7.md: unknown status 'soon'\n"
    assert counter.count == 9, "--strict still counts every warning"


def test_json_log_lines_name_file_and_line(tmp_path, capsys):
    src = write_tree(tmp_path / "src", {
        "ai/tasks/a.md": "---\ntask_id: a\n\nstatus: someday\n---\n",
        "ai/tasks/b.md": "---\ntask_id: b\n---\n",
    })
    code = main(["build", str(src), "-o", str(tmp_path / "out"), "--no-search", "-q",
                 "--log-format", "json"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    [warning] = [e for e in lines if e["level"] == "WARNING"]
    assert {k: warning[k] for k in ("file", "line", "message", "logger")} == {
        "file": "ai/tasks/a.md", "line": 4, "logger": "taskmon_site.build",
        "message": "ai/tasks/a.md:4: unknown status 'someday'"}
    assert datetime.fromisoformat(warning["time"]).utcoffset() is not None


def test_json_log_fields_from_extra_and_problems_without_a_line():
    def formatted(msg, args, **extra):
        record = logging.LogRecord("taskmon_site.x", logging.WARNING, "f.py", 1, msg, args, None)
        record.__dict__.update(extra)
        entry = json.loads(JsonFormatter().format(record))
        return {k: v for k, v in entry.items() if k in ("file", "line", "message")}

    assert formatted("%s", (Problem("a.md", "bad"),)) == {"file": "a.md", "message": "a.md: bad"}
    assert formatted("x %s", ("y",), file="t.md", line=3) == {
        "file": "t.md", "line": 3, "message": "x y"}
    assert formatted("plain", None) == {"message": "plain"}
