"""Signed checkpoints: every N events per tenant (after the append that crosses the
mark), every T seconds for chains that moved (a timer in the server), and on shutdown."""

from __future__ import annotations

import logging
import threading

from trailbook.integrity.chain import GENESIS, link
from trailbook.integrity.signing import Signer, checkpoint_payload
from trailbook.model.timefmt import format_us, now_us
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Appended, ChainHead, Checkpoint, Tenant

log = logging.getLogger("trailbook.checkpoints")


class CheckpointService:
    """Signs checkpoints only at chain points this process sealed itself: the hash an
    append returned, never a head read back from the database, which someone with
    write access to the file could have rewritten along with the events before it.
    Before signing, the events since the last checkpoint are re-linked up to that hash.
    (With several worker processes, each signs the points it sealed.)"""

    def __init__(self, store: Store, signer: Signer, settings: Settings) -> None:
        self.store = store
        self.signer = signer
        self.every = settings.checkpoint_every_events
        self._last: dict[int, int] = {}
        self._sealed: dict[int, tuple[str, ChainHead]] = {}
        self._lock = threading.Lock()

    def _last_seq(self, tenant_id: int) -> int:
        with self._lock:
            if tenant_id not in self._last:
                checkpoints = self.store.list_checkpoints(tenant_id)
                self._last[tenant_id] = checkpoints[-1].seq if checkpoints else 0
            return self._last[tenant_id]

    def _segment_links(self, head: ChainHead) -> bool:
        """Do the stored events since the last checkpoint link up to ``head``?"""
        signed = self.store.list_checkpoints(head.tenant_id)
        seq, previous = (signed[-1].seq, bytes(signed[-1].hash)) if signed else (0, GENESIS)
        if seq >= head.seq:
            return seq == head.seq and previous == bytes(head.hash)
        for row in self.store.iter_chain(head.tenant_id, after_seq=seq):
            if row.seq > head.seq:
                break
            if row.seq != seq + 1 or link(previous, bytes(row.doc)) != bytes(row.hash):
                return False
            seq, previous = row.seq, bytes(row.hash)
        return seq == head.seq and previous == bytes(head.hash)

    def sign(self, tenant_name: str, head: ChainHead) -> Checkpoint | None:
        """Sign a checkpoint at ``head`` (a point this process sealed), or refuse (None,
        logged critical) if the stored events do not link up to it."""
        if not self._segment_links(head):
            log.critical(
                "not signing a checkpoint for tenant %s at seq %d: the stored events do "
                "not link up to the hash this process sealed; run 'trailbook verify'",
                tenant_name, head.seq,
            )
            return None
        created = format_us(now_us())
        payload = checkpoint_payload(tenant_name, head.seq, head.hash, created,
                                     self.signer.key_id)
        checkpoint = Checkpoint(head.tenant_id, head.seq, head.hash, created,
                                self.signer.key_id, self.signer.sign(payload))
        self.store.add_checkpoint(checkpoint)
        with self._lock:
            self._last[head.tenant_id] = max(self._last.get(head.tenant_id, 0), head.seq)
        return checkpoint

    def after_append(self, tenant: Tenant, appended: list[Appended]) -> None:
        fresh = [a for a in appended if not a.duplicate]
        if not fresh:
            return
        last = max(fresh, key=lambda a: a.seq)
        head = ChainHead(tenant.id, last.seq, last.hash)
        with self._lock:
            known = self._sealed.get(tenant.id)
            if known is None or known[1].seq < head.seq:
                self._sealed[tenant.id] = (tenant.name, head)
        if last.seq - self._last_seq(tenant.id) >= self.every:
            self.sign(tenant.name, head)

    def checkpoint_pending(self) -> list[Checkpoint]:
        """Sign a checkpoint at the newest point this process sealed in each chain,
        where no checkpoint covers it yet."""
        with self._lock:
            sealed = list(self._sealed.values())
        made = []
        for tenant_name, head in sealed:
            signed = self.store.list_checkpoints(head.tenant_id)
            if signed and signed[-1].seq >= head.seq:
                continue
            checkpoint = self.sign(tenant_name, head)
            if checkpoint is not None:
                made.append(checkpoint)
        return made


class CheckpointTimer:
    """Runs ``checkpoint_pending`` every T seconds in a daemon thread."""

    def __init__(self, service: CheckpointService, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.service.checkpoint_pending()
            except Exception:  # keep the timer alive; the next tick tries again
                log.exception("checkpoint failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.service.checkpoint_pending()
