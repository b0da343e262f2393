"""Rate limits on a moving window (the ``limits`` library): in Redis when ``redis_url`` is set, so every
API process counts against the same windows, otherwise in this process (the single-process demo).

A limit is written the ``limits`` way, several separated by ';': ``"20/minute;300/day"``; empty: none.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import cache

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limited:
    """Over a limit: the rule that was hit and the seconds until the window lets a request through."""

    rule: str
    retry_after: int


@cache
def _items(rule: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(rule)) if rule.strip() else ()


class RateLimiter:
    def __init__(self, redis_url: str | None = None, key_prefix: str = "luna") -> None:
        storage: Storage
        if redis_url:
            # wrap_exceptions: any Redis failure surfaces as limits' StorageError, handled below.
            storage = RedisStorage(
                redis_url, key_prefix=f"{key_prefix}:ratelimit", wrap_exceptions=True, socket_timeout=2
            )
        else:
            storage = MemoryStorage()
        self.shared = redis_url is not None
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, rule: str, scope: str, who: str) -> Limited | None:
        """Counts one request of ``who`` (a user, an address) under ``scope``; None while within ``rule``.
        When Redis cannot be reached the request passes (logged): the login lockout, kept in PostgreSQL,
        does not depend on it."""
        for item in _items(rule):
            try:
                if self._limiter.hit(item, scope, who):
                    continue
                reset_at = self._limiter.get_window_stats(item, scope, who).reset_time
            except Exception as error:  # limits.errors.StorageError and connection errors alike
                log.warning("rate limit store unavailable, request let through: %s", type(error).__name__)
                return None
            return Limited(str(item), max(1, math.ceil(reset_at - time.time())))
        return None

    def close(self) -> None:
        if isinstance(self._storage, RedisStorage):
            self._storage.storage.close()
