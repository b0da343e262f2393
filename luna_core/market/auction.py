"""When day-ahead prices exist. The SDAC day-ahead auction for delivery day D closes at 12:00 CET on
D-1 and its results are out by about 13:00 Europe/Berlin; before then no real source has D's prices,
so the market simulator does not hand them out either (the demo would otherwise plan tomorrow at six
in the morning, which no customer's installation could)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MARKET_TIMEZONE = "Europe/Berlin"
"""The day-ahead market's time zone (CET/CEST): delivery days, the publication and the schedules."""
MARKET_TZ = ZoneInfo(MARKET_TIMEZONE)
PUBLICATION = time(13, 0)
"""Local time (``MARKET_TZ``) from which the next delivery day's prices count as published."""


def market_today(now: datetime | None = None) -> date:
    """The delivery day running at ``now`` (default: this moment), in the market's time zone."""
    return (now or datetime.now(MARKET_TZ)).astimezone(MARKET_TZ).date()


def last_published_day(now: datetime | None = None) -> date:
    """The last delivery day whose day-ahead prices are published at ``now``: tomorrow from
    ``PUBLICATION`` on, today before it."""
    local = (now or datetime.now(MARKET_TZ)).astimezone(MARKET_TZ)
    return local.date() + timedelta(days=1) if local.time() >= PUBLICATION else local.date()


def day_window(start_day: date, end_day: date) -> tuple[datetime, datetime]:
    """The delivery days start..end (market time zone) as a UTC interval."""
    start = datetime.combine(start_day, datetime.min.time(), MARKET_TZ)
    end = datetime.combine(end_day + timedelta(days=1), datetime.min.time(), MARKET_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)
