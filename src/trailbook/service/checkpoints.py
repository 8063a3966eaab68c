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

    Before signing, the stored events between the newest point known to link and the
    new one are re-linked. Known to link: the newest checkpoint whose signature checks
    (whoever signed it), carried forward by this process's own appends as long as each
    starts where the last one ended. So one writer alone (bulk ingest) re-reads
    nothing, and with several worker processes each re-reads only what the others
    sealed since the newest checkpoint."""

    def __init__(self, store: Store, signer: Signer, settings: Settings) -> None:
        self.store = store
        self.signer = signer
        self.every = settings.checkpoint_every_events
        self._sealed: dict[int, tuple[str, ChainHead]] = {}
        # Per tenant: (seq, hash) of the newest point known to link.
        self._linked: dict[int, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def _signed_point(self, tenant_name: str, newest: Checkpoint | None) -> tuple[int, bytes]:
        """(seq, hash) of ``newest`` if its signature checks, else the genesis."""
        if newest is None:
            return 0, GENESIS
        if self.signer.checkpoint_signed(tenant_name, newest):  # this key, or one it replaced
            return newest.seq, bytes(newest.hash)
        # Not ours, or forged: trust nothing after the genesis; verify will say more.
        return 0, GENESIS

    def _linked_point(
        self, tenant_name: str, tenant_id: int, newest: Checkpoint | None
    ) -> tuple[int, bytes]:
        """The newest point known to link, moved up to ``newest`` (the tenant's newest
        checkpoint) when that lies further on and its signature checks."""
        with self._lock:
            known = self._linked.get(tenant_id)
        if known is not None and (newest is None or newest.seq <= known[0]):
            return known
        signed = self._signed_point(tenant_name, newest)
        with self._lock:
            known = self._linked.get(tenant_id)
            if known is None or known[0] < signed[0]:
                known = self._linked[tenant_id] = signed
            return known

    def _advance(self, tenant_id: int, seq: int, hash_: bytes) -> None:
        with self._lock:
            known = self._linked.get(tenant_id)
            if known is None or known[0] < seq:
                self._linked[tenant_id] = (seq, hash_)

    def _segment_links(self, tenant_name: str, head: ChainHead) -> bool | None:
        """Do the stored events from the newest point known to link lead up to
        ``head``? None if ``head`` lies behind that point (a newer point is signed or
        to be signed instead)."""
        newest = self.store.latest_checkpoint(head.tenant_id)
        seq, previous = self._linked_point(tenant_name, head.tenant_id, newest)
        if seq > head.seq:
            return None
        if seq < head.seq:
            for row_seq, doc, stored_hash in self.store.chain_links(
                head.tenant_id, seq, head.seq
            ):
                if row_seq != seq + 1:
                    return False
                # A purged event (doc None) keeps its hash under a signed purge record.
                if doc is not None and link(previous, doc) != stored_hash:
                    return False
                seq, previous = row_seq, stored_hash
        if seq == head.seq and previous == bytes(head.hash):
            self._advance(head.tenant_id, seq, previous)
            return True
        return False

    def sign(self, tenant_name: str, head: ChainHead) -> Checkpoint | None:
        """Sign a checkpoint at ``head`` (a point this process sealed), or refuse (None,
        logged critical) if the stored events do not link up to it."""
        return self._sign(tenant_name, head)[0]

    def _sign(self, tenant_name: str, head: ChainHead) -> tuple[Checkpoint | None, str | None]:
        """The checkpoint signed at ``head``, or None with why it was refused (None
        too when a newer point is signed or to be signed instead)."""
        links = self._segment_links(tenant_name, head)
        if links is None:
            return None, None
        if not links:
            log.critical(
                "not signing a checkpoint for tenant %s at seq %d: the stored events do "
                "not link up to the hash this process sealed; run 'trailbook verify'",
                tenant_name, head.seq,
            )
            return None, f"seq {head.seq}: the stored events do not link up to it"
        # The tree's root over the same events: their stored canonical bytes, which
        # the re-link above has just shown to lead up to ``head``.
        try:
            tree_root = self.store.merkle.root(head.tenant_id, head.seq)
        except LookupError as missing:
            log.critical("not signing a checkpoint for tenant %s at seq %d: the Merkle tree "
                         "cannot be built (%s); run 'trailbook verify'", tenant_name,
                         head.seq, missing)
            return None, f"seq {head.seq}: the Merkle tree cannot be built ({missing})"
        created = format_us(now_us())
        payload = checkpoint_payload(tenant_name, head.seq, head.hash, created,
                                     self.signer.key_id, tree_root)
        checkpoint = Checkpoint(head.tenant_id, head.seq, head.hash, created,
                                self.signer.key_id, self.signer.sign(payload), tree_root)
        self.store.add_checkpoint(checkpoint)
        return checkpoint, None

    def after_append(self, tenant: Tenant, appended: list[Appended]) -> None:
        fresh = [a for a in appended if not a.duplicate]
        if not fresh:
            return
        first = min(fresh, key=lambda a: a.seq)
        last = max(fresh, key=lambda a: a.seq)
        head = ChainHead(tenant.id, last.seq, last.hash)
        newest = self.store.latest_checkpoint(tenant.id)
        linked_seq, linked_hash = self._linked_point(tenant.name, tenant.id, newest)
        if first.seq == linked_seq + 1 and first.previous == linked_hash:
            # One append seals one unbroken stretch, so it carries the point forward.
            self._advance(tenant.id, last.seq, last.hash)
        with self._lock:
            known = self._sealed.get(tenant.id)
            if known is None or known[1].seq < head.seq:
                self._sealed[tenant.id] = (tenant.name, head)
        if last.seq - (newest.seq if newest else 0) >= self.every:
            self.sign(tenant.name, head)

    def cover(self, tenant: Tenant, seq: int) -> Checkpoint | None:
        """The first signed checkpoint at or after ``seq``: a stored one, or one signed
        now at the newest point this process sealed in the chain (an export's own audit
        event puts one after what it exports). None when neither exists, or the stored
        events do not link up to that point."""
        newest = self.store.latest_checkpoint(tenant.id)
        if newest is not None and newest.seq >= seq:
            return next((c for c in self.store.list_checkpoints(tenant.id) if c.seq >= seq),
                        newest)
        with self._lock:
            known = self._sealed.get(tenant.id)
        if known is None or known[1].seq < seq:
            return None
        return self.sign(tenant.name, known[1])

    def checkpoint_pending(self) -> list[Checkpoint]:
        """Sign a checkpoint at the newest point this process sealed in each chain,
        where no checkpoint covers it yet."""
        return self.checkpoint_pending_report()[0]

    def checkpoint_pending_report(self) -> tuple[list[Checkpoint], dict[str, str]]:
        """``checkpoint_pending``, with the refusals: why, by tenant name."""
        with self._lock:
            sealed = list(self._sealed.values())
        made = []
        refused: dict[str, str] = {}
        for tenant_name, head in sealed:
            newest = self.store.latest_checkpoint(head.tenant_id)
            if newest is not None and newest.seq >= head.seq:
                continue
            checkpoint, why = self._sign(tenant_name, head)
            if checkpoint is not None:
                made.append(checkpoint)
            elif why is not None:
                refused[tenant_name] = why
        return made, refused
