"""The log handler: every error and request refusal printed, bad input of one kind collapsed."""

from __future__ import annotations

import logging

from taskmon_site.logs import report_muted, setup_logging

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
