"""What retention removed: one signed record per purge (``purges``) and, per removed
event, its seq, chain hash and Merkle leaf (``purged_events``). One SQL text for both
backends, run through their ``SqlRunner`` adapters (see ``trailbook.store.accounts``);
the removal of the events themselves is each backend's own (``purge`` on the store),
and writes these rows in the same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from trailbook.store.accounts import Row, SqlRunner

_RECORD = ("id, tenant_id, created_at, events, first_seq, last_seq, start_seq, start_hash,"
           " digest, archive, archive_sha256, manifest_sha256, key_id, signature, summary,"
           " recorded_seq")
_PAGE = 5000
_CHUNK = 300


@dataclass(frozen=True, slots=True)
class PurgedRow:
    """An event retention removed: what is kept of it."""

    seq: int
    hash: bytes
    leaf: bytes
    purge_id: str


@dataclass(frozen=True)
class PurgeRecord:
    """One purge (a batch of a retention run), as signed: ``digest`` covers the
    (seq, hash, leaf) of every event it removed; ``start_seq``/``start_hash`` are the
    chain's new start (the seq just before the first event still kept, and its hash;
    0 and the genesis while seq 1 is kept)."""

    id: str
    tenant_id: int
    created_at: str
    events: int
    first_seq: int
    last_seq: int
    start_seq: int
    start_hash: bytes
    digest: bytes
    archive: str
    archive_sha256: str
    manifest_sha256: str
    key_id: str
    signature: bytes
    summary: dict[str, Any]
    recorded_seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "created_at": self.created_at, "events": self.events,
            "first_seq": self.first_seq, "last_seq": self.last_seq,
            "start_seq": self.start_seq, "start_hash": self.start_hash.hex(),
            "digest": self.digest.hex(), "archive": self.archive,
            "archive_sha256": self.archive_sha256,
            "manifest_sha256": self.manifest_sha256, "key_id": self.key_id,
            "summary": self.summary, "recorded_seq": self.recorded_seq,
        }


def _record(row: Row) -> PurgeRecord:
    return PurgeRecord(
        str(row[0]), int(row[1]), str(row[2]), int(row[3]), int(row[4]), int(row[5]),
        int(row[6]), bytes(row[7]), bytes(row[8]), str(row[9]), str(row[10]), str(row[11]),
        str(row[12]), bytes(row[13]), orjson.loads(row[14]),
        None if row[15] is None else int(row[15]))


def write_purge(runner: SqlRunner, record: PurgeRecord, removed: list[PurgedRow]) -> None:
    """Add the record and its removed rows, inside the caller's transaction (``runner``
    is its transaction runner). A seq already purged breaks the primary key, and the
    whole purge with it."""
    runner.write(
        f"INSERT INTO purges ({_RECORD}) VALUES ({', '.join('?' * 16)})",
        (record.id, record.tenant_id, record.created_at, record.events, record.first_seq,
         record.last_seq, record.start_seq, record.start_hash, record.digest,
         record.archive, record.archive_sha256, record.manifest_sha256, record.key_id,
         record.signature, orjson.dumps(record.summary).decode(), record.recorded_seq))
    for at in range(0, len(removed), _CHUNK):
        chunk = removed[at:at + _CHUNK]
        runner.write(
            "INSERT INTO purged_events (tenant_id, seq, hash, leaf, purge_id) VALUES "
            + ", ".join("(?, ?, ?, ?, ?)" for _ in chunk),
            tuple(v for r in chunk for v in (record.tenant_id, r.seq, r.hash, r.leaf,
                                              r.purge_id)))


class PurgeStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    def records(self, tenant_id: int, limit: int | None = None) -> list[PurgeRecord]:
        """The tenant's purges, newest first."""
        sql = (f"SELECT {_RECORD} FROM purges WHERE tenant_id = ?"
               " ORDER BY created_at DESC, id DESC")
        params: tuple[object, ...] = (tenant_id,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (limit,)
        return [_record(r) for r in self._run.read(sql, params)]

    def unrecorded(self, tenant_id: int) -> list[PurgeRecord]:
        """Purges whose ``system.retention.run`` event is not written yet (their
        process stopped between the purge and the event), oldest first."""
        rows = self._run.read(
            f"SELECT {_RECORD} FROM purges WHERE tenant_id = ? AND recorded_seq IS NULL"
            " ORDER BY created_at, id", (tenant_id,))
        return [_record(r) for r in rows]

    def mark_recorded(self, purge_ids: list[str], seq: int) -> None:
        for purge_id in purge_ids:
            self._run.write("UPDATE purges SET recorded_seq = ? WHERE id = ?", (seq, purge_id))

    def count(self, tenant_id: int) -> int:
        rows = self._run.read("SELECT count(*) FROM purged_events WHERE tenant_id = ?",
                              (tenant_id,))
        return int(rows[0][0])

    def any(self, tenant_id: int) -> bool:
        return bool(self._run.read("SELECT 1 FROM purges WHERE tenant_id = ? LIMIT 1",
                                   (tenant_id,)))

    def rows(self, tenant_id: int, after_seq: int = 0,
             until_seq: int | None = None) -> Iterator[PurgedRow]:
        """The removed events with seq in (after_seq, until_seq], in seq order."""
        after = after_seq
        while True:
            sql = ("SELECT seq, hash, leaf, purge_id FROM purged_events"
                   " WHERE tenant_id = ? AND seq > ?")
            params: tuple[object, ...] = (tenant_id, after)
            if until_seq is not None:
                sql += " AND seq <= ?"
                params += (until_seq,)
            rows = self._run.read(sql + " ORDER BY seq LIMIT ?", (*params, _PAGE))
            for row in rows:
                yield PurgedRow(int(row[0]), bytes(row[1]), bytes(row[2]), str(row[3]))
            if len(rows) < _PAGE:
                return
            after = int(rows[-1][0])


Link = tuple[int, bytes | None, bytes]  # (seq, doc or None if purged, chain hash)


def links_with_purged(purges: PurgeStore, tenant_id: int, rows: list[tuple[int, bytes, bytes]],
                      after: int, end: int) -> list[Link]:
    """A page of (seq, doc, hash) events with seq in (after, end], with the events
    retention removed from that stretch put in their places as (seq, None, hash).
    Reads ``purged_events`` only when the page has a gap."""
    if len(rows) == end - after:
        return list(rows)
    merged: list[Link] = list(rows)
    merged.extend((p.seq, None, p.hash) for p in purges.rows(tenant_id, after, end))
    merged.sort(key=lambda link: link[0])
    return merged
