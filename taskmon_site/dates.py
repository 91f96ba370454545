"""Dates as task files write them: kept verbatim, parsed only to sort and compare.

A value is never re-formatted for display; :func:`parse_when` gives a sortable
``datetime`` and :func:`iso` an ISO 8601 string that keeps a date-only value a
date (no time zone can shift it to the day before).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# Matched against stripped text: one optional run of spaces keeps matching linear.
_DATE_TIME = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:\s*(Z|[+-]\d{2}:?\d{2}))?)?"  # an offset only after a time
)
_CJK_DATE_TIME = re.compile(
    r"(\d{4})年(\d{1,2})月(\d{1,2})日"
    r"(?:\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
#: Either form, found inside other text (a work-log heading: ``研究员 (2025-02-23 23:51)``).
WRITTEN_DATE = re.compile(f"{_DATE_TIME.pattern}|{_CJK_DATE_TIME.pattern}")


def parse_when(raw: str, tz: str = "") -> date | datetime | None:
    """A date (date-only input) or datetime; None when it is not a date.

    Besides ``2025-02-24 13:00`` (``/`` or ``.`` also separate the date, ``T``
    the time, an offset may follow; digits of a second beyond the microsecond are
    dropped), ``2025年2月24日 13:00`` is read.
    A datetime without an offset gets the site's time zone *tz* when one is set.
    """
    text = (raw or "").strip()
    match = _DATE_TIME.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, frac, offset = match.groups()
    else:
        match = _CJK_DATE_TIME.fullmatch(text)
        if not match:
            return None
        year, month, day, hour, minute, second = match.groups()
        frac = offset = None
    try:
        if hour is None:
            return date(int(year), int(month), int(day))
        micro = int((frac or "0")[:6].ljust(6, "0"))
        value = datetime(int(year), int(month), int(day), int(hour), int(minute),
                         int(second or 0), micro)
    except ValueError:
        return None
    if offset:
        zone = _offset(offset)
        return value.replace(tzinfo=zone) if zone else None
    return value.replace(tzinfo=ZoneInfo(tz)) if tz else value


def _offset(text: str) -> timezone | None:
    """The zone of ``Z``, ``+08:00`` or ``-0530``; None past 23:59 or 59 minutes."""
    if text == "Z":
        return timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None
    total = hours * 60 + minutes
    return timezone(timedelta(minutes=-total if text[0] == "-" else total))


def iso(value: date | datetime | None) -> str | None:
    """ISO 8601; a date stays ``YYYY-MM-DD``."""
    if value is None:
        return None
    return value.isoformat()


def sort_key(value: date | datetime | None) -> float:
    """Seconds since the epoch for ordering; undated values sort first."""
    if value is None:
        return float("-inf")
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def age_days(value: date | datetime | None, now: datetime) -> float | None:
    """Days of elapsed time from *value* to *now* (an aware datetime); a *value*
    without a time zone is in *now*'s.

    Elapsed, not the wall clock's difference (what subtracting two datetimes of one
    time zone gives): across a daylight saving change the two differ by an hour.
    """
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=now.tzinfo)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    return (now.timestamp() - value.timestamp()) / 86400
