"""Dates as task files write them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from conftest import full_tasks

from taskmon_site.dates import parse_when


@pytest.mark.parametrize("raw, expected", [
    ("2025-02-24", date(2025, 2, 24)),
    (" 2025/2/4 09:05 ", datetime(2025, 2, 4, 9, 5)),
    ("2025-02-24T10:00:00+08:00",
     datetime(2025, 2, 24, 10, tzinfo=timezone(timedelta(hours=8)))),
    ("2025-02-24 10:00 Z", datetime(2025, 2, 24, 10, tzinfo=timezone.utc)),
    ("2025年2月24日", date(2025, 2, 24)),
    ("2025年2月24日 13:00", datetime(2025, 2, 24, 13, 0)),
    ("2025年12月1日13：05：09", datetime(2025, 12, 1, 13, 5, 9)),
    ("2025-02-24 10:00:00.123456789", datetime(2025, 2, 24, 10, 0, 0, 123456)),
    ("2025-02-24T10:00-0530", datetime(2025, 2, 24, 10, tzinfo=timezone(-timedelta(hours=5.5)))),
    ("2025-02-24T10:00:00+24:00", None), ("2025-02-24T10:00:00+99:99", None),
    ("2025-02-24T10:00:00+08:60", None), ("2025-02-24 -0800", None), ("2025-02-24Z", None),
    ("2025-13-45", None), ("2025年2月30日", None), ("2025-02-24 x", None), ("", None),
    # Two runs of optional spaces in a row once made this take minutes.
    ("2025-02-24" + " " * 200_000 + "x", None),
])
def test_parse_when(raw, expected):
    assert parse_when(raw) == expected


def test_a_chinese_date_in_the_front_matter(build_site):
    text = "---\ntask_id: c\ncreated_at: 2025年2月24日 13:00\n---\n"
    [task] = full_tasks(build_site({"ai/tasks/c.md": text}, {"timezone": "Asia/Shanghai"}))
    assert task.to_json()["created"] == "2025-02-24T13:00:00+08:00"
    assert task.problems == []
