"""``Client``: send audit events to a Trailbook service from a background thread.

Public API::

    client = Client(url, api_key, *, batch_size=500, flush_interval=1.0,
                    queue_size=100_000, spool_path=None, spool=True, timeout=10.0,
                    max_retries=None, transport=None, retry_backoff=0.2,
                    retry_backoff_max=15.0)
    client.log(action, *, actor=None, targets=None, ...) -> str   # idempotency key
    client.flush(timeout=None) -> bool          # True: everything logged was handled
    client.close(timeout=10.0)                  # flush, then spool what is left
    client.stats -> ClientStats                 # counters, a snapshot
    Client.local(path) -> LocalClient           # same API, straight into a local store

``log()`` only checks the event and appends it to an in-memory queue; one daemon thread
sends batches (``batch_size`` events, or what ``flush_interval`` gathered) as JSON arrays
to ``POST {url}/api/v1/events``. Every event carries an idempotency key (UUIDv7 unless
given), so a batch sent twice is stored once.

Failures: network errors, 408, 429 and 5xx are retried with exponential backoff and
jitter, honouring ``Retry-After``. With the spool on (the default), a batch that failed
once goes to the spool (a SQLite file, by default
``~/.cache/trailbook/spool-<hash of url and key>.db``) and so do events logged while
the service is unreachable or the queue is full; the spool is replayed first, in
logging order, when the service answers again — also by the next ``Client`` on the same
file after a restart. A 422 naming one event (``events[3]...``) fails that event (logged
on the ``trailbook.sdk`` logger) and the rest are resent; another 4xx fails the batch.
Without a spool, a full queue drops events and retries hold the batch in memory.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import os
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from trailbook.sdk._event import EventLogger
from trailbook.sdk.errors import ClientClosed
from trailbook.sdk.spool import Spool

if TYPE_CHECKING:
    from trailbook.sdk.local import LocalClient

log = logging.getLogger("trailbook.sdk")

_EVENT_INDEX = re.compile(r"^events\[(\d+)\]")
Pending = tuple[int, str, bytes]  # (logging order, idempotency key, JSON body)


@dataclass(frozen=True, slots=True)
class ClientStats:
    """Counters since the client started. ``queued``: events accepted by ``log()``;
    ``sent``: acknowledged by the service (duplicates included); ``spooled``: written
    to the spool; ``failed``: refused by the service or given up after ``max_retries``;
    ``dropped``: lost unsent (queue full or closed without a spool); ``pending``:
    waiting now, in memory or in the spool."""

    queued: int
    sent: int
    spooled: int
    failed: int
    dropped: int
    pending: int


def default_spool_path(url: str, api_key: str) -> Path:
    """``$XDG_CACHE_HOME/trailbook/spool-<hash>.db`` (``~/.cache`` by default)."""
    digest = hashlib.sha256(f"{url}\n{api_key}".encode()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trailbook" / f"spool-{digest}.db"


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Client(EventLogger):
    """Sends events in the background; see the module docstring."""

    def __init__(self, url: str, api_key: str, *, batch_size: int = 500,
                 flush_interval: float = 1.0, queue_size: int = 100_000,
                 spool_path: str | Path | None = None, spool: bool = True,
                 timeout: float = 10.0, max_retries: int | None = None,
                 transport: httpx.BaseTransport | None = None, retry_backoff: float = 0.2,
                 retry_backoff_max: float = 15.0) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1..1000 (the API's batch limit)")
        self.url = url.rstrip("/")
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.queue_size = queue_size
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.spool: Spool | None = None
        if spool:
            self.spool = Spool(spool_path or default_spool_path(self.url, api_key))
        self._http = httpx.Client(
            base_url=self.url, transport=transport, timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}",
                     "Content-Type": "application/json",
                     "User-Agent": "trailbook-python"})
        self._queue: deque[Pending] = deque()
        start = self.spool.max_order() + 1 if self.spool is not None else 1
        self._orders = itertools.count(start)
        self._first_order = start
        self._lock = threading.Lock()  # taking from / spilling the queue; counters
        self._cv = threading.Condition(threading.Lock())  # progress, for flush()
        self._wake = threading.Event()
        self._flushing = 0
        self._closing = False
        self._closed = False
        self._inflight = 0
        self._sent = self._spooled = self._failed = self._dropped = self._stat_reads = 0
        self._thread = threading.Thread(target=self._run, name="trailbook-sdk-sender",
                                        daemon=True)
        self._thread.start()
        atexit.register(self._at_exit)

    @classmethod
    def local(cls, path: str | Path) -> LocalClient:
        """A client writing straight into the local store at ``path`` (a data folder or
        a ``.db`` file), without a server."""
        from trailbook.sdk.local import LocalClient

        return LocalClient(path)

    # -- the caller's side --------------------------------------------------------

    def _emit(self, key: str, body: bytes) -> None:
        if self._closing:
            raise ClientClosed("this client is closed")
        queue = self._queue
        item = (next(self._orders), key, body)
        if len(queue) >= self.queue_size:
            self._overflow(item)
            return
        queue.append(item)
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _overflow(self, item: Pending) -> None:
        """The queue is full: spool it all, then this event (order kept), or drop it."""
        with self._lock:
            if len(self._queue) < self.queue_size:
                self._queue.append(item)
                return
            if self.spool is None:
                self._dropped += 1
                return
            items = [*self._drain(), item]
            self._spool_items(items)
        log.warning("trailbook: the queue is full; %d events spooled", len(items))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event logged so far is sent, failed or (if the service
        cannot be reached) still waiting; True when nothing waits any more."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            self._flushing += 1
        try:
            while not self._drained():
                self._wake.set()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if not self._thread.is_alive():
                    return False
                with self._cv:
                    self._cv.wait(0.05 if remaining is None else min(remaining, 0.05))
            return True
        finally:
            with self._cv:
                self._flushing -= 1

    def close(self, timeout: float = 10.0) -> None:
        """Flush for up to ``timeout`` seconds, then stop; what was not sent stays in
        the spool for the next client on the same file. A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._at_exit)
        self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._thread.join(max(timeout, 1.0))
        with self._lock:
            rest = self._drain()
            if rest:
                if self.spool is not None:
                    self._spool_items(rest)
                else:
                    self._dropped += len(rest)
        self._http.close()
        if self.spool is not None and not self._thread.is_alive():
            self.spool.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _at_exit(self) -> None:
        self.close(timeout=5.0)

    @property
    def stats(self) -> ClientStats:
        with self._lock:
            # Reading the counter uses up an order number: count those out.
            queued = next(self._orders) - self._first_order - self._stat_reads
            self._stat_reads += 1
            pending = len(self._queue) + self._inflight + (len(self.spool) if self.spool else 0)
            return ClientStats(queued, self._sent, self._spooled, self._failed,
                               self._dropped, pending)

    # -- the sender thread ----------------------------------------------------------

    def _drained(self) -> bool:
        return (not self._queue and not self._inflight
                and (self.spool is None or len(self.spool) == 0))

    def _drain(self) -> list[Pending]:
        """Everything in the queue (hold ``_lock``)."""
        queue, items = self._queue, []
        while queue:
            items.append(queue.popleft())
        return items

    def _spool_items(self, items: list[Pending]) -> None:
        assert self.spool is not None
        self.spool.put(items)
        self._spooled += len(items)

    def _notify(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def _run(self) -> None:
        attempt = 0
        while True:
            try:
                if self._closing:
                    return
                if self.spool is not None and len(self.spool):
                    ok = self._send_spooled(attempt)
                else:
                    ok = self._send_memory(attempt)
                attempt = 0 if ok else attempt + 1
                if not ok:
                    self._backoff(attempt, self._retry_after)
                self._notify()
            except Exception:  # never let the sender die
                log.exception("trailbook: the event sender failed; retrying")
                attempt += 1
                self._backoff(attempt, None)

    def _take(self) -> list[Pending]:
        self._wake.clear()
        if len(self._queue) < self.batch_size and not self._flushing and not self._closing:
            self._wake.wait(self.flush_interval)
        with self._lock:
            queue, batch = self._queue, list[Pending]()
            while queue and len(batch) < self.batch_size:
                batch.append(queue.popleft())
            self._inflight = len(batch)
        return batch

    def _send_memory(self, attempt: int) -> bool:
        batch = self._take()
        if not batch:
            return True
        bodies = [body for _, _, body in batch]
        while True:
            try:
                self._post(bodies)
                with self._lock:
                    self._inflight = 0
                return True
            except _Retry as retry:
                self._retry_after = retry.retry_after
                log.info("trailbook: sending %d events failed (%s)", len(bodies), retry)
                if self.spool is not None:
                    with self._lock:
                        self._spool_items(batch)
                        self._inflight = 0
                    return False
                attempt += 1
                if self._gave_up(attempt, len(bodies)) or self._closing:
                    with self._lock:
                        self._inflight = 0
                        if self._closing:
                            self._dropped += len(bodies)
                    return False
                self._backoff(attempt, retry.retry_after)

    def _send_spooled(self, attempt: int) -> bool:
        assert self.spool is not None
        rows = self.spool.peek(self.batch_size)
        if not rows:
            return True
        try:
            self._post([body for _, body in rows])
        except _Retry as retry:
            self._retry_after = retry.retry_after
            log.info("trailbook: sending %d spooled events failed (%s)", len(rows), retry)
            if self._gave_up(attempt + 1, len(rows)):
                self.spool.remove([i for i, _ in rows])
            return False
        self.spool.remove([i for i, _ in rows])
        return True

    _retry_after: float | None = None

    def _gave_up(self, attempts: int, count: int) -> bool:
        if self.max_retries is None or attempts <= self.max_retries:
            return False
        log.error("trailbook: giving up on %d events after %d attempts", count, attempts)
        with self._lock:
            self._failed += count
        return True

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        """Wait before the next attempt; meanwhile move what is logged to the spool
        (the service is unreachable). Returns early when the client closes."""
        if retry_after is not None:
            delay = retry_after
        else:
            delay = min(self.retry_backoff_max, self.retry_backoff * 2 ** (attempt - 1))
            delay *= 0.5 + random.random() / 2
        deadline = time.monotonic() + delay
        while not self._closing:
            if self.spool is not None and self._queue:
                with self._lock:
                    self._spool_items(self._drain())
                self._notify()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wake.clear()
            self._wake.wait(min(remaining, self.flush_interval))

    def _post(self, bodies: list[bytes]) -> None:
        """POST ``bodies`` as one batch. Returns when every event is stored or
        definitively refused; raises ``_Retry`` when the batch should be tried again."""
        while bodies:
            try:
                response = self._http.post("/api/v1/events",
                                           content=b"[" + b",".join(bodies) + b"]")
            except httpx.TransportError as exc:
                raise _Retry(f"{type(exc).__name__}: {exc}") from None
            status = response.status_code
            if status < 300:
                with self._lock:
                    self._sent += len(bodies)
                return
            if status in (408, 429) or status >= 500:
                raise _Retry(f"HTTP {status}", _retry_after(response))
            if status == 413 and len(bodies) > 1:
                half = len(bodies) // 2
                self._post(bodies[:half])
                bodies = bodies[half:]
                continue
            bad = _refused_index(response, len(bodies))
            if bad is None:
                log.error("trailbook: the service refused %d events: HTTP %d %s",
                          len(bodies), status, response.text[:500])
                with self._lock:
                    self._failed += len(bodies)
                return
            log.error("trailbook: the service refused an event: HTTP %d %s; event: %s",
                      status, response.text[:500], bodies[bad][:2000].decode(errors="replace"))
            with self._lock:
                self._failed += 1
            bodies = bodies[:bad] + bodies[bad + 1:]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), 3600.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(moment.timestamp() - time.time(), 0.0), 3600.0)


def _refused_index(response: httpx.Response, count: int) -> int | None:
    """The index of the event a 4xx names (``events[3].actor.email``), if any."""
    try:
        details: Any = response.json()["error"]["details"]
        for detail in details:
            found = _EVENT_INDEX.match(str(detail.get("field", "")))
            if found and int(found.group(1)) < count:
                return int(found.group(1))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return None
