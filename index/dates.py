"""Parse the date an article was published; strict, so an unreadable date is rejected, never guessed."""
from __future__ import annotations

import datetime as dt
import email.utils
import re

MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december")
MONTHS = {name: number for number, name in enumerate(MONTH_NAMES, start=1)}   # the one month table, with
MONTHS.update({name[:3]: number for name, number in list(MONTHS.items())})    # its abbreviations
MONTHS["sept"] = 9
# any month name or abbreviation, longest first, for regexes (lower case: compile with re.I or lower the text)
MONTH_PATTERN = "|".join(sorted(MONTHS, key=len, reverse=True))

_YMD = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_WORDY = re.compile(r"^(?:(\d{1,2})\s+([A-Za-z]+)\.?,?\s+(\d{4})|([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4}))$")


class DateError(ValueError):
    """The text is not a date we accept; the message says why."""


def parse_article_date(text: str) -> dt.date:
    """Read 'YYYY-MM-DD', 'YYYY/MM/DD', an ISO date-time (any zone), RFC 2822 or 'May 1, 2023'.

    A date-time keeps the calendar day written in its own zone: that is the day the paper printed.
    """
    raw = str(text).strip()
    if not raw:
        raise DateError("empty date")
    m = _YMD.match(raw)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]), raw)
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", raw):
        try:
            return dt.datetime.fromisoformat(raw.replace("z", "Z")).date()
        except ValueError as exc:
            raise DateError(f"invalid date {raw!r}: {exc}") from None
    m = _WORDY.match(raw)
    if m:
        day, month, year = (m[1], m[2], m[3]) if m[1] else (m[5], m[4], m[6])
        if month.lower() in MONTHS:
            return _make(int(year), MONTHS[month.lower()], int(day), raw)
    if re.search(r"\d{1,2} [A-Za-z]{3} \d{4}", raw):
        try:
            parsed = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError) as exc:
            raise DateError(f"invalid date {raw!r}: {exc}") from None
        if parsed is not None:
            return parsed.date()
    raise DateError(f"unrecognised date {raw!r} (use YYYY-MM-DD, YYYY/MM/DD, ISO 8601 or RFC 2822)")


def _make(year: int, month: int, day: int, raw: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise DateError(f"invalid date {raw!r}: {exc}") from None


def date_number(day: dt.date) -> int:
    """YYYYMMDD as an int: orderable, so Chroma can filter ranges with $gte/$lte, and readable in a filter."""
    return day.year * 10000 + day.month * 100 + day.day


def iso_from_number(date_num: int) -> str:
    """20230504 -> '2023-05-04': a stored numeric date back as people read it."""
    return f"{date_num // 10000:04d}-{date_num // 100 % 100:02d}-{date_num % 100:02d}"
