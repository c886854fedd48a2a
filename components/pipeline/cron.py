"""Cron schedules as Argo's CronWorkflow reads them, checked and said in words.

Argo Workflows parses a CronWorkflow's schedule with ``cron.ParseStandard`` of
robfig/cron v3.0.1 (argoproj/argo-workflows v3.3.10 and v3.7.3, go.mod and
workflow/validate/validate.go ``ValidateCronWorkflow``): five fields (minute, hour, day
of month, month, day of week), each ``*`` or ``?``, a value, a range ``a-b``, a step
``/n`` of either, or a list of these; months and days may be named (``jan``, ``mon``);
or one of the descriptors ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``,
``@daily``, ``@midnight``, ``@hourly``, ``@every <duration>`` (robfig/cron v3 parser.go).
The time zone is an IANA name, which the controller loads with Go's
``time.LoadLocation`` (workflow/cron/operator.go). This module checks both before a plan
exists, so a schedule Argo would refuse stops the render instead of a CronWorkflow that
never runs.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

#: (name, lowest, highest, names) of the five fields, robfig/cron v3 parser.go's bounds.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
           ("month", 1, 12, _MONTHS), ("day of week", 0, 6, _DAYS))
_DESCRIPTORS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
#: Go's time.ParseDuration units, for ``@every``.
_DURATION = re.compile(r"^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$")

ALLOWED = ("five fields: minute hour day-of-month month day-of-week (each *, a value, a range a-b, a step /n, "
           "or a list; months and days may be named), or @yearly, @monthly, @weekly, @daily, @hourly, "
           "@every <duration>")


class CronError(ValueError):
    """A schedule Argo's parser would refuse (the message says which part and why)."""


@dataclass(frozen=True)
class CronField:
    """One parsed field: the values it allows, and whether it was ``*``/``?`` (any)."""

    values: tuple[int, ...]
    any: bool


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number{' or a name' if names else ''}")
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"{name}: {number} is outside {low}-{high}")
    return number


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> CronField:
    values: set[int] = set()
    any_value = False
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text or part.endswith("/"):
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: the step in {part!r} must be a positive number")
            step = int(step_text)
        if span in ("*", "?"):
            start, end = low, high
            any_value = any_value or step == 1
        elif "-" in span:
            first, _, last = span.partition("-")
            start, end = _value(first, name, low, high, names), _value(last, name, low, high, names)
            if start > end:
                raise CronError(f"{name}: the range {span!r} runs backwards")
        else:
            start = _value(span, name, low, high, names)
            end = high if step_text else start  # robfig: "a/n" runs from a to the field's end
        values.update(range(start, end + 1, step))
    return CronField(tuple(sorted(values)), any_value)


def parse(schedule: str) -> tuple[CronField, ...] | None:
    """The five fields of ``schedule`` (None for ``@every <duration>``).

    Raises:
        CronError: Argo's parser would refuse it.
    """
    text = schedule.strip()
    if text.startswith("@every"):
        duration = text[len("@every"):].strip()
        if not _DURATION.match(duration):
            raise CronError(f"@every needs a Go duration such as 90m or 1h30m, got {duration!r}")
        return None
    text = _DESCRIPTORS.get(text.lower(), text)
    if text.startswith("@"):
        raise CronError(f"unknown descriptor {text!r}")
    parts = text.split()
    if len(parts) != 5:
        raise CronError(f"has {len(parts)} field{'s' if len(parts) != 1 else ''}, not 5")
    return tuple(_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True))


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (as Go's ``time.LoadLocation`` loads them).

    Raises:
        CronError: No such zone.
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CronError(f"{name!r} is not an IANA time zone (such as UTC, Europe/Berlin, America/New_York)") \
            from None
    return name


def _clock(hours: tuple[int, ...], minutes: tuple[int, ...]) -> str:
    return ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)


def _days(values: tuple[int, ...]) -> str:
    names = [("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")[v] for v in values]
    if values == (1, 2, 3, 4, 5):
        return "Monday to Friday"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _step_of(values: tuple[int, ...], low: int, high: int) -> int | None:
    """n where ``values`` is every n-th value of the field from its start (``*/n``)."""
    if len(values) < 2 or values[0] != low:
        return None
    step = values[1] - values[0]
    return step if values == tuple(range(low, high + 1, step)) else None


def describe(schedule: str, timezone: str) -> str:
    """``schedule`` in words, for reviews: ``every day at 03:00 UTC``.

    Common shapes are said in words (every n minutes or hours, every day, given days of
    the week, a day of the month); anything else is quoted as it is, with its zone.

    Raises:
        CronError: The schedule does not parse.
    """
    fields = parse(schedule)
    if fields is None:
        return f"every {schedule.strip()[len('@every'):].strip()}"
    minute, hour, dom, month, dow = fields
    every_day = dom.any and month.any and dow.any
    if every_day and hour.any and minute.any:
        return "every minute"
    if every_day and hour.any:
        step = _step_of(minute.values, 0, 59)
        if step:
            return f"every {step} minutes"
        return f"every hour at minute {', '.join(str(m) for m in minute.values)}"
    if every_day and len(minute.values) == 1 and (step := _step_of(hour.values, 0, 23)):
        return f"every {step} hours at minute {minute.values[0]} ({timezone})"
    if len(hour.values) * len(minute.values) <= 4 and not hour.any and not minute.any:
        at = f"at {_clock(hour.values, minute.values)} {timezone}"
        if every_day:
            return f"every day {at}"
        if dom.any and month.any:
            return f"every {_days(dow.values)} {at}"
        if dow.any and month.any and len(dom.values) == 1:
            return f"on day {dom.values[0]} of every month {at}"
    return f"on the cron schedule {schedule.strip()!r} ({timezone})"
