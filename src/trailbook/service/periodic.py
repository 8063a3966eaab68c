"""Work the server does on a clock, each in a daemon thread of its own: signing
checkpoints for chains that moved, and creating the store's partitions ahead of time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from trailbook.model.timefmt import now_us
from trailbook.service.app import Trailbook

log = logging.getLogger("trailbook.periodic")

PARTITION_INTERVAL_SECONDS = 6 * 3600.0


class Periodic:
    """Runs ``action`` every ``interval`` seconds until stopped; an error is logged and
    the next tick tries again. ``final`` runs once when it stops."""

    def __init__(self, name: str, interval: float, action: Callable[[], object],
                 final: Callable[[], object] | None = None) -> None:
        self.name = name
        self.interval = interval
        self.action = action
        self.final = final
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.action()
            except Exception:  # keep the timer alive
                log.exception("%s failed", self.name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self.final is not None:
            self.final()


DAY_US = 86_400 * 1_000_000


def server_timers(tb: Trailbook) -> list[Periodic]:
    """The timers a serving process runs."""
    checkpoints = tb.checkpoints.checkpoint_pending
    return [
        Periodic("checkpoints", tb.settings.checkpoint_every_seconds, checkpoints,
                 final=checkpoints),
        Periodic("partitions", PARTITION_INTERVAL_SECONDS,
                 lambda: tb.store.maintain(datetime.now(UTC))),
        # Failed sign-ins older than a day no longer matter to any lock.
        Periodic("sign-in failures", PARTITION_INTERVAL_SECONDS,
                 lambda: tb.store.accounts.forget_login_failures(now_us() - DAY_US)),
    ]
