"""The chain hashes an export's manifest holds, re-linked while the export runs.

A manifest holds the stored chain hashes from the first exported seq - 1 up to a
signed checkpoint, each re-linked from the one before (the service signs no manifest
for a chain that does not hold together: ``service/relink.py``). Re-linking them after
the last row was written took about a fifth of a large export. ``ChainFollower``
instead grows a stretch of re-linked hashes as the pages come: after each page it
reaches down to that page's least seq - 1 and up to its greatest, so at the end only
the last few pages' worth and the way up to the covering checkpoint are left to do.
The rows come newest first by time, which is nearly but not exactly seq order, so the
stretch grows both ways.

The hashes go to a temporary file (32 bytes each, in pieces of ascending seqs), so
memory stays flat however long the stretch; ``hashes`` reads them back in seq order.
A stretch longer than the manifest would hold is given up at once."""

from __future__ import annotations

import bisect
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from trailbook.integrity.chain import GENESIS, link
from trailbook.service.relink import CHANGED, ChainBreak, first_link, relink_links
from trailbook.store.base import Store
from trailbook.store.purges import Link

HASH = 32
_READ = 1 << 20
Known = dict[int, tuple[bytes, bytes]]  # seq -> (stored document, chain hash)
_PIECE = 4096  # hashes written to the spool at a time


@dataclass(frozen=True, slots=True)
class _Piece:
    low: int  # seq of the first hash in the piece
    high: int  # seq of the last
    offset: int  # in the spool


class ChainFollower:
    """Holds the re-linked stored hashes of seqs ``low`` … ``high`` (nothing before the
    first ``reach``). Every link inside the stretch is checked, except the one from
    ``low - 1`` to ``low``: ``low`` is where the stretch starts, as in ``relinked``.
    Raises nothing while following: a break is kept in ``broken`` and raised by
    ``finish``; a stretch longer than ``limit`` sets ``too_long`` and stops."""

    def __init__(self, store: Store, tenant_id: int, limit: int) -> None:
        self._store = store
        self._tenant = tenant_id
        self._limit = limit
        self.low = 0
        self.high = -1
        self._low_hash = b""
        self._low_doc: bytes | None = None  # the document at ``low``, not yet linked
        self._high_hash = b""
        self._spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close)
        self._end = 0
        self._pieces: list[_Piece] = []  # in seq order
        self.broken: ChainBreak | None = None
        self.too_long = False
        self._known: Known = {}

    @property
    def started(self) -> bool:
        return self.high >= self.low

    def reach(self, low: int, high: int, known: Known | None = None) -> None:
        """Grow the stretch to hold ``low`` … ``high`` (0 stands for the genesis).
        ``known``: (doc, hash) of seqs the caller has just read (an export's page), so
        that they need not be read again."""
        if self.broken is not None or self.too_long:
            return
        span_low = min(low, self.low) if self.started else low
        if max(high, self.high) - span_low + 1 > self._limit:
            self.too_long = True
            return
        self._known = known or {}
        try:
            if not self.started:
                self._start(low)
            if high > self.high:
                self._up(high)
            if low < self.low:
                self._down(low)
        except ChainBreak as exc:
            self.broken = exc
        finally:
            self._known = {}

    def finish(self, from_seq: int, to_seq: int) -> None:
        """Reach ``from_seq`` … ``to_seq``; raises ``ChainBreak`` at the first seq where
        the stored chain does not hold together there."""
        self.reach(from_seq, to_seq)
        if self.broken is not None:
            raise self.broken

    def hash_at(self, seq: int) -> bytes:
        """The stored hash of ``seq`` (within the stretch)."""
        at = bisect.bisect_right([p.low for p in self._pieces], seq) - 1
        piece = self._pieces[at] if at >= 0 else None
        if piece is None or seq > piece.high:
            raise KeyError(seq)
        self._spool.seek(piece.offset + (seq - piece.low) * HASH)
        return self._spool.read(HASH)

    def hashes(self, from_seq: int, to_seq: int) -> Iterator[bytes]:
        """The hashes of ``from_seq`` … ``to_seq`` in seq order (within the stretch)."""
        self._spool.flush()
        for piece in list(self._pieces):
            first, last = max(piece.low, from_seq), min(piece.high, to_seq)
            if first > last:
                continue
            at = piece.offset + (first - piece.low) * HASH
            left = (last - first + 1) * HASH
            while left:
                self._spool.seek(at)
                data = self._spool.read(min(left, _READ))
                at += len(data)
                left -= len(data)
                for i in range(0, len(data), HASH):
                    yield data[i:i + HASH]

    def close(self) -> None:
        self._spool.close()

    # -- growing ------------------------------------------------------------------

    def _start(self, low: int) -> None:
        start_doc, start_hash = ((None, GENESIS) if low == 0 else
                                 first_link(self._links(low - 1, low), low))
        self._pieces = [self._spooled(low, [start_hash])]
        self.low = self.high = low
        self._low_hash = self._high_hash = start_hash
        self._low_doc = start_doc

    def _up(self, high: int) -> None:
        linked = relink_links(self._links(self.high, high), self.high, self._high_hash, high)
        pieces, last = self._spool_all(self.high + 1, (h for _, h in linked))
        self._pieces.extend(pieces)
        self.high, self._high_hash = high, last

    def _down(self, low: int) -> None:
        rows = self._links(max(low - 1, 0), self.low - 1)
        start_doc, start_hash = (None, GENESIS) if low == 0 else first_link(rows, low)
        linked = relink_links(rows, low, start_hash, self.low - 1)
        pieces, last = self._spool_all(low, itertools.chain([start_hash],
                                                            (h for _, h in linked)))
        # the link from the new part into the old start
        if self._low_doc is not None and link(last, self._low_doc) != self._low_hash:
            raise ChainBreak(self.low, CHANGED)
        self._pieces[:0] = pieces
        self.low, self._low_hash, self._low_doc = low, start_hash, start_doc

    def _spool_all(self, first: int, hashes: Iterable[bytes]) -> tuple[list[_Piece], bytes]:
        """``hashes`` (of seqs from ``first`` on) written to the spool in pieces; the
        pieces and the last hash."""
        pieces: list[_Piece] = []
        last = b""
        rest = iter(hashes)
        while batch := list(itertools.islice(rest, _PIECE)):
            pieces.append(self._spooled(first, batch))
            first += len(batch)
            last = batch[-1]
        return pieces, last

    def _links(self, after: int, until: int) -> Iterator[Link]:
        """The links of seqs after ``after`` up to ``until``: the last of them from
        what the caller has just read, as far down as it holds them all, the rest from
        the store."""
        known = self._known
        first = until + 1
        while first - 1 > after and first - 1 in known:
            first -= 1
        if first > until:
            return iter(self._store.chain_links(self._tenant, after, until))
        held = ((s, *known[s]) for s in range(first, until + 1))
        if first - 1 == after:
            return held
        return itertools.chain(self._store.chain_links(self._tenant, after, first - 1), held)

    def _spooled(self, low: int, hashes: list[bytes]) -> _Piece:
        """``hashes`` (of seqs from ``low`` on) written to the end of the spool."""
        self._spool.seek(self._end)
        self._spool.write(b"".join(hashes))
        piece = _Piece(low, low + len(hashes) - 1, self._end)
        self._end += len(hashes) * HASH
        return piece
