"""The alerts' background work in a serving process: every ``alert_poll_seconds`` the
evaluator looks at new events and the delivery worker sends what is due. When several
processes serve one database, only the holder of the ``alerts`` lease (a row in the
database, renewed at every round) does this work; another takes over within
``LEASE_SECONDS`` if the holder stops."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid

from trailbook.model.timefmt import now_us
from trailbook.service.alerts.delivery import AlertDelivery
from trailbook.service.alerts.evaluator import AlertEvaluator
from trailbook.settings import Settings
from trailbook.store.base import Store

log = logging.getLogger("trailbook.notify")

LEASE = "alerts"
LEASE_SECONDS = 30.0


class AlertRunner:
    def __init__(self, store: Store, evaluator: AlertEvaluator, delivery: AlertDelivery,
                 settings: Settings) -> None:
        self.store = store
        self.evaluator = evaluator
        self.delivery = delivery
        self.poll = settings.alert_poll_seconds
        self.holder = uuid.uuid4().hex
        self._busy = threading.Lock()
        self._ever_held = False
        # Made by ``run`` in its own event loop (an Event belongs to one loop).
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Run a round now (e.g. after a retry was asked for); from any thread."""
        wake, loop = self._wake, self._loop
        if wake is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    def release(self) -> None:
        """Let go of the lease if this process holds it (a clean stop: another
        process, or this one started again, takes over at once)."""
        if self._ever_held:
            self.store.alerts.release_lease(LEASE, self.holder)

    async def round(self) -> bool:
        """One round, if this process holds the lease; whether it did. Rounds of one
        process never overlap (one waits for the other)."""
        await asyncio.to_thread(self._busy.acquire)
        try:
            return await self._round()
        finally:
            self._busy.release()

    async def _round(self) -> bool:
        ttl = int(max(LEASE_SECONDS, 3 * self.poll) * 1_000_000)
        held = await asyncio.to_thread(self.store.alerts.acquire_lease, LEASE, self.holder,
                                       now_us(), ttl)
        if not held:
            return False
        self._ever_held = True
        await asyncio.to_thread(self.evaluator.run_pass)
        await self.delivery.run_due()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop`` is set; then the lease is let go."""
        self._loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        try:
            while not stop.is_set():
                try:
                    await self.round()
                except Exception:  # keep going: the next round tries again
                    log.exception("alerts round failed")
                wake.clear()
                waits = [asyncio.ensure_future(stop.wait()),
                         asyncio.ensure_future(wake.wait())]
                await asyncio.wait(waits, timeout=self.poll,
                                   return_when=asyncio.FIRST_COMPLETED)
                for waiting in waits:
                    waiting.cancel()
        finally:
            self._wake = self._loop = None
            try:
                await asyncio.to_thread(self.release)
            except Exception:
                log.exception("letting go of the alerts lease")
