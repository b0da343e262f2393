"""Verifies every active tenant's audit chain in a background thread and keeps the last result for
/metrics. Walking the chains recomputes each row's hash in the database: seconds with a long log,
which a scrape (timeout 10 s by default, every 15 s) must not wait for. The thread starts on the
first scrape, so processes nobody scrapes (tests, CLI) never spend it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine

from luna_core.audit import ChainBreak, verify_chain
from luna_core.ops.freshness import active_tenant_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainState:
    verified_at: float  # epoch seconds the last complete verification finished
    tenants: tuple[str, ...]  # the tenants it checked
    breaks: tuple[ChainBreak, ...]


class AuditChainWatch:
    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._interval = 900.0
        self._state: ChainState | None = None
        self.failing = False  # the last attempt could not run (database down): the state is older
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def bind(self, engine: Engine, interval: float) -> None:
        """A new engine forgets the old result (another database's chains) and verifies again soon."""
        with self._lock:
            changed = engine is not self._engine
            sooner = interval != self._interval
            self._engine, self._interval = engine, interval
            if changed:
                self._state, self.failing = None, False
            if changed or sooner:  # a waiting thread starts its next round on the new terms
                self._wake.set()

    def state(self) -> ChainState | None:
        """The last result; starts the thread on first use."""
        with self._lock:
            if self._thread is None and self._engine is not None and self._interval > 0:
                self._thread = threading.Thread(target=self._run, name="luna-audit-chain-watch", daemon=True)
                self._thread.start()
            return self._state

    def verify_now(self) -> ChainState:
        with self._lock:
            engine = self._engine
        if engine is None:
            raise RuntimeError("no database bound")
        with engine.connect() as connection:
            tenants = tuple(active_tenant_ids(connection))
        found = ChainState(time.time(), tenants, tuple(verify_chain(engine, list(tenants))))
        with self._lock:
            if engine is self._engine:  # not rebound meanwhile
                self._state, self.failing = found, False
        return found

    def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                self.verify_now()
            except Exception as error:  # keep the last result; /metrics reports the source down
                log.warning("audit chain verification failed: %s", type(error).__name__)
                self.failing = True
            self._wake.wait(self._interval)


WATCH = AuditChainWatch()
