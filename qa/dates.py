"""Question text -> the window of publication dates it asks about, by rules, resolved against `as_of`.

Rules, in words: explicit dates and ranges become hard bounds ("before May 2" ends on May 1; "in April 2023"
is that month; "on May 1" is that day and the week after, since news reports an event in the days after it);
relative words resolve against as_of ("this week" = the 7 days up to as_of, "two weeks ago" = the week around
as_of - 14 days); fuzzy recency words ("recently", "latest", "this week") also turn on recency ranking.
Nothing published after as_of is ever in the window. A year-less date means its latest occurrence up to as_of.
Windows reaching past the dates Python can represent (0001-01-01 to 9999-12-31) stop at the edge; one lying wholly
beyond it is empty, so extreme dates narrow the search instead of crashing it.

Words that may date the event rather than its reporting ("on January 6, 2021", "in June", "in 2020") also set
`reports_until`: news revisits events (hearings, anniversaries, a record "set in the middle of June" quoted in
August), so the assistant searches the reports after that window too, up to as_of or a hard bound. Ranges
("before", "since", "until") and relative words ("this week", "last month") are about reporting: hard.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from index.dates import MONTH_PATTERN, MONTHS

_MONTH = rf"({MONTH_PATTERN})\.?"
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "several": 3}
_COUNT = r"(\d+|a couple of|a few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten)"
REPORT_LAG_DAYS = 7      # an event "on May 1" is reported that day or within the week after
RECENT_WORDS = re.compile(r"\b(recent|recently|latest|lately|newest|most recent|this week|past week|"
                          r"last few days|past few days|these days|right now|currently|so far)\b")


@dataclass(frozen=True)
class DateWindow:
    """Publication dates a question is about; open ends are None. `recency` asks ranking to favour as_of."""

    start: dt.date | None
    end: dt.date | None
    as_of: dt.date
    recency: bool = False
    phrases: tuple[str, ...] = ()
    anchored: bool = False   # as_of was given by the user, not defaulted to today
    reports_until: dt.date | None = None   # later reports of the event the dates may name: search up to here too

    @property
    def empty(self) -> bool:
        return self.start is not None and self.end is not None and self.start > self.end

    def describe(self) -> str:
        span = f"{self.start or 'any date'} to {self.end or 'any date'}"
        how = f" (from {', '.join(repr(p) for p in self.phrases)})" if self.phrases else ""
        later = f", and later reports up to {self.reports_until}" if self.reports_until else ""
        return span + how + later + (", most recent first" if self.recency else "")

    def __str__(self) -> str:
        return self.describe()


_FIRST, _LAST = dt.date.min.toordinal(), dt.date.max.toordinal()   # day numbers of 0001-01-01 and 9999-12-31


def _window(lo: int | None, hi: int | None) -> tuple[dt.date | None, dt.date | None]:
    """Day numbers (date.toordinal) -> dates, so date arithmetic never overflows: a window reaching past the first
    or last date dt.date can represent stops there, and one lying wholly beyond it stays empty (start after end)
    rather than becoming the edge day."""
    if hi is not None and hi < _FIRST:
        lo, hi = _FIRST + 1, _FIRST
    elif lo is not None and lo > _LAST:
        lo, hi = _LAST, _LAST - 1
    return (None if lo is None else dt.date.fromordinal(max(lo, _FIRST)),
            None if hi is None else dt.date.fromordinal(min(hi, _LAST)))


def _month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _latest(month: int, day: int | None, as_of: dt.date) -> dt.date | None:
    """The latest month/day on or before as_of (the year a person means when they leave it out); None when there
    is none from year 1 on ("December" asked as of January 0001)."""
    probe_day = day or 1
    for year in range(as_of.year, dt.MINYEAR - 1, -1):
        try:
            candidate = dt.date(year, month, min(probe_day, calendar.monthrange(year, month)[1]))
        except ValueError:
            candidate = dt.date(year, month, 1)
        if candidate <= as_of:
            return candidate
    return None


def _explicit_date(month_word: str, day: str | None, year: str | None, as_of: dt.date,
                   year_hint: str | None) -> dt.date | None:
    """The date named; a month without a year takes the one year the question names (year_hint), else the latest
    such month on or before as_of."""
    year = year or year_hint
    month = MONTHS.get(month_word.lower().rstrip("."))
    if not month:
        return None
    if year:
        try:
            return dt.date(int(year), month, int(day) if day else 1)
        except ValueError:
            return None
    return _latest(month, int(day) if day else None, as_of)


_DATE = rf"(?:{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{{4}}))?|(\d{{1,2}})\s+{_MONTH}(?:,?\s+(\d{{4}}))?)"
_ISO = r"(\d{4})-(\d{2})-(\d{2})"


def _find_day(text: str, as_of: dt.date, year_hint: str | None) -> dt.date | None:
    m = re.fullmatch(_DATE, text.strip())
    if m:
        if m[1]:
            return _explicit_date(m[1], m[2], m[3], as_of, year_hint)
        return _explicit_date(m[5], m[4], m[6], as_of, year_hint)
    m = re.fullmatch(_ISO, text.strip())
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    return None


def parse_window(question: str, as_of: dt.date, *, capped: bool = True) -> DateWindow:
    """The publication window a question asks about (see the module docstring for the rules)."""
    q = " ".join(question.lower().split())
    years = set(re.findall(r"\b(19\d\d|20\d\d)\b", q))
    return _parse_window(q, as_of, capped, years.pop() if len(years) == 1 else None)


def _parse_window(q: str, as_of: dt.date, capped: bool, year_hint: str | None) -> DateWindow:
    start: dt.date | None = None
    end: dt.date | None = None
    hard_end: dt.date | None = None   # the end set by words about reporting only
    event_end = False                 # words that may date the event set an end
    phrases: list[str] = []

    def bound(lo: dt.date | None, hi: dt.date | None, phrase: str, event: bool = False) -> None:
        nonlocal start, end, hard_end, event_end
        if lo is not None:
            start = lo if start is None else max(start, lo)
        if hi is not None:
            end = hi if end is None else min(end, hi)
            if event:
                event_end = True
            else:
                hard_end = hi if hard_end is None else min(hard_end, hi)
        phrases.append(phrase)

    consumed: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        if any(a < m.end() and m.start() < b for a, b in consumed):
            return False
        consumed.append((m.start(), m.end()))
        return True

    day_expr = rf"({_DATE}|{_ISO})"
    for m in re.finditer(rf"\b(before|until|prior to|by|after|since|from)\s+(?:the\s+)?{day_expr}", q):
        day = _find_day(m[2], as_of, year_hint)
        if day and free(m):
            word = m[1]
            if word in ("before", "prior to"):
                bound(*_window(None, day.toordinal() - 1), m[0])
            elif word in ("until", "by"):
                bound(None, day, m[0])
            elif word == "after":
                bound(*_window(day.toordinal() + 1, None), m[0])
            else:
                bound(day, None, m[0])
    for m in re.finditer(rf"\b(before|after|since|until|by)\s+{_MONTH}(?:\s+(\d{{4}}))?\b(?!\s+\d)", q):
        if not free(m):
            continue
        first = _explicit_date(m[2], None, m[3], as_of, year_hint)
        if first is None:
            continue
        lo, hi = _month_bounds(first.year, first.month)
        if m[1] == "before":
            bound(*_window(None, lo.toordinal() - 1), m[0])
        elif m[1] == "after":
            bound(*_window(hi.toordinal() + 1, None), m[0])
        elif m[1] == "since":
            bound(lo, None, m[0])
        else:
            bound(None, hi, m[0])
    for m in re.finditer(r"\b(?:before|after|since|in)\s+(\d{4})\b", q):
        if not free(m):
            continue
        year = int(m[1])
        if not 1900 <= year <= 2100:
            continue
        word = m[0].split()[0]
        if word == "before":
            bound(None, dt.date(year - 1, 12, 31), m[0])
        elif word == "after":
            bound(dt.date(year + 1, 1, 1), None, m[0])
        elif word == "since":
            bound(dt.date(year, 1, 1), None, m[0])
        else:
            bound(dt.date(year, 1, 1), dt.date(year, 12, 31), m[0], event=True)
    for m in re.finditer(rf"\b(?:on\s+|of\s+|the\s+)?{day_expr}", q):
        day = _find_day(m[1], as_of, year_hint)
        if day and free(m):
            bound(*_window(day.toordinal(), day.toordinal() + REPORT_LAG_DAYS), m[0].strip(), event=True)
    for m in re.finditer(rf"\b(?:in|during|of|throughout)\s+(?:early\s+|late\s+|mid-?)?{_MONTH}(?:\s+(\d{{4}}))?\b", q):
        if not free(m):
            continue
        first = _explicit_date(m[1], None, m[2], as_of, year_hint)
        if first:
            bound(*_month_bounds(first.year, first.month), m[0], event=True)

    relative = _relative(q, as_of)
    for lo, hi, phrase in relative:
        bound(lo, hi, phrase)
    recency = bool(RECENT_WORDS.search(q))
    if recency:
        phrases.extend(p for p in RECENT_WORDS.findall(q) if p not in " ".join(phrases))
    if capped:
        end = as_of if end is None else min(end, as_of)
        hard_end = as_of if hard_end is None else min(hard_end, as_of)
    reports_until = hard_end if event_end and hard_end and end and hard_end > end else None
    return DateWindow(start=start, end=end, as_of=as_of, recency=recency, phrases=tuple(dict.fromkeys(phrases)),
                      reports_until=reports_until)


def _relative(q: str, as_of: dt.date) -> list[tuple[dt.date | None, dt.date | None, str]]:
    """Windows for words like 'yesterday', 'this week', 'last month', 'two weeks ago', 'this year'."""
    today = as_of.toordinal()
    out: list[tuple[dt.date | None, dt.date | None, str]] = []
    table = [
        (r"\btoday\b", lambda: (as_of, as_of)),
        (r"\byesterday\b", lambda: _window(today - 1, today - 1)),
        (r"\b(this|past) week\b", lambda: _window(today - 7, today)),
        (r"\blast week\b", lambda: _window(today - 14, today - 3)),
        (r"\b(this|past) weekend\b", lambda: _window(today - 7, today)),
        (r"\b(this|past) month\b", lambda: _window(today - 31, today)),
        (r"\blast month\b", lambda: _last_month(as_of)),
        (r"\bthis year\b", lambda: (dt.date(as_of.year, 1, 1), as_of)),
        (r"\blast year\b", lambda: _last_year(as_of)),
        (r"\b(past|last) (few|couple of) days\b", lambda: _window(today - 4, today)),
    ]
    for pattern, window in table:
        m = re.search(pattern, q)
        if m:
            lo, hi = window()
            out.append((lo, hi, m[0]))
    for m in re.finditer(rf"\b{_COUNT}\s+(day|week|month|year)s?\s+ago\b", q):
        unit = {"day": 1, "week": 7, "month": 30, "year": 365}[m[2]]
        center = today - _count(m[1]) * unit
        half = max(1, unit // 2 + (2 if unit == 7 else 0))
        out.append((*_window(center - half, min(today, center + half)), m[0]))
    for m in re.finditer(rf"\b(?:in the )?(?:past|last)\s+{_COUNT}\s+(day|week|month|year)s?\b", q):
        unit = {"day": 1, "week": 7, "month": 30, "year": 365}[m[2]]
        out.append((*_window(today - _count(m[1]) * unit, today), m[0]))
    return out


def _count(word: str) -> int:
    """'two' -> 2, '14' -> 14; a number of more than 9 digits counts as 10**9 (days of it already reach before
    year 1), so a pasted run of digits can neither hit int()'s digit limit nor build a huge int."""
    if not word.isdigit():
        return _NUMBERS[word]
    digits = word.lstrip("0")
    return int(digits or "0") if len(digits) <= 9 else 10 ** 9


def _last_month(as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The calendar month before as_of's; before January 0001 there is none: an empty window."""
    if as_of.month > 1:
        return _month_bounds(as_of.year, as_of.month - 1)
    return _month_bounds(as_of.year - 1, 12) if as_of.year > dt.MINYEAR else _window(None, _FIRST - 1)


def _last_year(as_of: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The calendar year before as_of's; before year 1 there is none: an empty window."""
    if as_of.year == dt.MINYEAR:
        return _window(None, _FIRST - 1)
    return dt.date(as_of.year - 1, 1, 1), dt.date(as_of.year - 1, 12, 31)


def parse_iso(value: str | dt.date | None, name: str) -> dt.date | None:
    """An ISO date argument (as_of, date_from, date_to); a clear error names the bad one."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an ISO date (YYYY-MM-DD)") from None
