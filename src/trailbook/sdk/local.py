"""``LocalClient``: the ``log`` API writing straight into a local Trailbook store.

Public API::

    client = trailbook.Client.local("./audit-data")   # a data folder (or a .db file)
    client = LocalClient(path, *, tenant="default", batch_size=500)
    client.log(action, *, actor=None, ...) -> str     # same as Client.log
    client.flush(timeout=None) -> bool; client.close(); client.stats
    client.trailbook -> trailbook.service.app.Trailbook (opened on first use)

For scripts, tests and single-machine tools without a server. Events are checked in the
caller's thread like ``Client``'s, buffered, and stored through the service layer (the
same validation, chain and checkpoints as the server) every ``batch_size`` events, on
``flush()``/``close()`` and at exit. The folder gets the usual ``trailbook.db`` and
signing key, so ``TRAILBOOK_DATA_DIR=<path> trailbook verify --tenant default`` checks
it. The tenant is created if missing. The service layer is imported lazily.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from trailbook.sdk._event import EventLogger
from trailbook.sdk.client import ClientStats
from trailbook.sdk.errors import ClientClosed

if TYPE_CHECKING:
    from trailbook.service.app import Trailbook
    from trailbook.store.records import Tenant

log = logging.getLogger("trailbook.sdk")
_EVENT_INDEX = re.compile(r"^events\[(\d+)\]")


class LocalClient(EventLogger):
    """See the module docstring."""

    def __init__(self, path: str | Path, *, tenant: str = "default",
                 batch_size: int = 500) -> None:
        self.path = Path(path)
        self.tenant_name = tenant
        self.batch_size = min(max(batch_size, 1), 1000)
        self._buffer: list[bytes] = []
        self._lock = threading.RLock()
        self._tb: Trailbook | None = None
        self._tenant: Tenant | None = None
        self._closed = False
        self._queued = self._sent = self._failed = 0
        atexit.register(self.close)

    @property
    def trailbook(self) -> Trailbook:
        """The opened service (SQLite store in ``path``)."""
        with self._lock:
            if self._tb is None:
                from trailbook.service.app import Trailbook
                from trailbook.settings import load_settings

                if self.path.suffix == ".db":
                    settings = load_settings(data_dir=self.path.parent,
                                             database_url=f"sqlite:///{self.path}")
                else:
                    settings = load_settings(data_dir=self.path)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._tb = Trailbook.open(settings)
                self._tenant, _ = self._tb.tenants.get_or_create(self.tenant_name)
            return self._tb

    def _emit(self, key: str, body: bytes) -> None:
        with self._lock:
            if self._closed:
                raise ClientClosed("this client is closed")
            self._buffer.append(body)
            self._queued += 1
            if len(self._buffer) >= self.batch_size:
                self._write()

    def flush(self, timeout: float | None = None) -> bool:
        """Store what is buffered now (``timeout`` is accepted for ``Client``'s API)."""
        with self._lock:
            self._write()
        return True

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._write()
            self._closed = True
            atexit.unregister(self.close)
            if self._tb is not None:
                self._tb.close()

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> ClientStats:
        with self._lock:
            return ClientStats(self._queued, self._sent, 0, self._failed, 0,
                               len(self._buffer))

    def _write(self) -> None:
        """Store the buffer (hold ``_lock``); an event the service refuses is logged,
        counted as failed and left out, as ``Client`` does with a 422."""
        from trailbook.errors import TrailbookError
        from trailbook.model.event import EventIn

        bodies, self._buffer = self._buffer, []
        tb = self.trailbook
        assert self._tenant is not None
        while bodies:
            events = msgspec.json.decode(b"[" + b",".join(bodies) + b"]", type=list[EventIn])
            try:
                tb.events.ingest(self._tenant, events, batch=True)
            except TrailbookError as exc:
                bad = _refused_index(exc.as_dict(), len(bodies))
                log.error("trailbook: the local store refused %s: %s",
                          "an event" if bad is not None else f"{len(bodies)} events",
                          exc.one_line())
                if bad is None:
                    self._failed += len(bodies)
                    return
                self._failed += 1
                bodies = bodies[:bad] + bodies[bad + 1:]
                continue
            self._sent += len(bodies)
            return


def _refused_index(error: dict[str, Any], count: int) -> int | None:
    for detail in error["error"]["details"]:
        found = _EVENT_INDEX.match(detail["field"])
        if found and int(found.group(1)) < count:
            return int(found.group(1))
    return None
