"""Signed checkpoints: every N events per tenant (after the append that crosses the
mark), every T seconds for chains that moved (a timer in the server), and on shutdown."""

from __future__ import annotations

import logging
import threading

from trailbook.integrity.signing import Signer, checkpoint_payload
from trailbook.model.timefmt import format_us, now_us
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Appended, ChainHead, Checkpoint, Tenant


class CheckpointService:
    def __init__(self, store: Store, signer: Signer, settings: Settings) -> None:
        self.store = store
        self.signer = signer
        self.every = settings.checkpoint_every_events
        self._last: dict[int, int] = {}
        self._lock = threading.Lock()

    def _last_seq(self, tenant_id: int) -> int:
        with self._lock:
            if tenant_id not in self._last:
                checkpoints = self.store.list_checkpoints(tenant_id)
                self._last[tenant_id] = checkpoints[-1].seq if checkpoints else 0
            return self._last[tenant_id]

    def sign(self, tenant_name: str, head: ChainHead) -> Checkpoint:
        created = format_us(now_us())
        payload = checkpoint_payload(tenant_name, head.seq, head.hash, created, self.signer.key_id)
        checkpoint = Checkpoint(
            head.tenant_id,
            head.seq,
            head.hash,
            created,
            self.signer.key_id,
            self.signer.sign(payload),
        )
        self.store.add_checkpoint(checkpoint)
        with self._lock:
            self._last[head.tenant_id] = max(self._last.get(head.tenant_id, 0), head.seq)
        return checkpoint

    def after_append(self, tenant: Tenant, appended: list[Appended]) -> None:
        fresh = [a for a in appended if not a.duplicate]
        if not fresh:
            return
        last = max(fresh, key=lambda a: a.seq)
        if last.seq - self._last_seq(tenant.id) >= self.every:
            self.sign(tenant.name, ChainHead(tenant.id, last.seq, last.hash))

    def checkpoint_pending(self) -> list[Checkpoint]:
        """Sign a checkpoint for every chain that moved since its last one."""
        made = []
        for head in self.store.heads_without_checkpoint():
            tenant = self.store.get_tenant_by_id(head.tenant_id)
            if tenant is not None:
                made.append(self.sign(tenant.name, head))
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
                logging.getLogger("trailbook.checkpoints").exception("checkpoint failed")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.service.checkpoint_pending()
