"""Failed-login counters on a sliding window, in PostgreSQL so every API process sees the same counts.

An attempt is counted *before* its password is checked: the reservation and the count happen in one
transaction under an advisory lock per key, so N parallel guesses cannot all pass a check that reads
the counter before any of them writes it. A correct password takes its reservation back.

Three kinds of key, each with its own limit (OWASP "device cookies" against online guessing):
- ``account``: the e-mail typed, known or not, so a lock says nothing about which accounts exist;
- ``address``: the client address, whatever e-mails it tries;
- ``device``: a browser that signed in to this account before. Its attempts count only against the
  device, so strangers who lock the account (or an address) cannot lock its owner out; a device that
  fails too often loses that privilege and is judged like any other client.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select

from luna_core.db.schema import login_failures

# Expired rows of other keys removed per attempt: bounded work, and SKIP LOCKED never waits.
_HOUSEKEEPING_BATCH = 200


@dataclass(frozen=True)
class LockoutPolicy:
    window: timedelta = timedelta(minutes=15)
    max_per_account: int = 5
    max_per_address: int = 20
    max_per_device: int = 10


class Throttled(Exception):
    """Too many failures under one of the keys; ``retry_after`` seconds until the window lets one through."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed attempts; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Reservation:
    row_ids: tuple[int, ...]


def key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def reserve(engine: Engine, limits: dict[str, int], window: timedelta, now: datetime) -> Reservation:
    """Counts one failure under each key (``{key: limit}``) unless one of them is at its limit."""
    keys = sorted(limits)  # a fixed lock order: two attempts sharing keys never deadlock
    since = now - window
    with engine.begin() as connection:
        for name in keys:
            connection.execute(select(func.pg_advisory_xact_lock(func.hashtextextended("login:" + name, 0))))
        waits = []
        for name in keys:
            times = (
                connection.execute(
                    select(login_failures.c.at)
                    .where(login_failures.c.key == name, login_failures.c.at > since)
                    .order_by(login_failures.c.at)
                )
                .scalars()
                .all()
            )
            if len(times) >= limits[name]:
                # Free again once enough of the oldest failures have left the window.
                freed_at = times[len(times) - limits[name]] + window
                waits.append(max(1, math.ceil((freed_at - now).total_seconds())))
        _forget_expired(connection, since)
        if waits:
            raise Throttled(max(waits))
        ids = connection.execute(
            insert(login_failures).returning(login_failures.c.id), [{"key": name, "at": now} for name in keys]
        )
        return Reservation(tuple(ids.scalars().all()))


def release(engine: Engine, reservation: Reservation) -> None:
    """The attempt succeeded: it no longer counts as a failure."""
    if reservation.row_ids:
        with engine.begin() as connection:
            connection.execute(delete(login_failures).where(login_failures.c.id.in_(reservation.row_ids)))


def _forget_expired(connection, since: datetime) -> None:
    stale = (
        select(login_failures.c.id)
        .where(login_failures.c.at <= since)
        .limit(_HOUSEKEEPING_BATCH)
        .with_for_update(skip_locked=True)
    )
    connection.execute(delete(login_failures).where(login_failures.c.id.in_(stale.scalar_subquery())))
