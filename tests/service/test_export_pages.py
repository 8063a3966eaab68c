"""Large exports with their pages made in a worker process and the manifest's chain
re-linked as the rows go: the file is byte for byte what the exporting thread makes
alone, the manifest verifies offline, a worker that dies or fails costs nothing but
speed, and the followed chain is the chain ``relinked`` reads, its breaks named."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from service.retention_trail import event_at, ingest
from trailbook.errors import ValidationFailed
from trailbook.integrity.chain import GENESIS, link
from trailbook.integrity.export_check import check_export, read_manifest
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.service.export.chain_follow import ChainFollower
from trailbook.service.export.csv import csv_made
from trailbook.service.export.page_pool import AHEAD, MAX_PENDING, MadePages, PagePool
from trailbook.service.export.service import PAGE, POOL_AFTER_PAGES
from trailbook.service.export.xlsx import MAX_EVENTS, xlsx_page
from trailbook.service.relink import CHANGED, MISSING, ChainBreak, relinked
from trailbook.store.purges import Link
from trailbook.store.records import Tenant

ROWS = PAGE * (POOL_AFTER_PAGES + 3) + 37  # past the point where a worker helps


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def pool() -> Iterator[PagePool]:
    made = PagePool(1)
    yield made
    made.close()


def _documents(count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    awkward = ["=1+1", 'say "hi"', "a,b", "line\nbreak", "ünïcödé ✓", "-2", ""]
    return [orjson.dumps({
        "action": "doc.read", "actor": {"id": f"u-{n}", "name": rng.choice(awkward)},
        "category": "access", "description": rng.choice(awkward), "id": f"e-{n}",
        "occurred_at": "2026-11-24T10:00:00.000000Z",
        "received_at": "2026-11-24T10:00:00.000001Z", "seq": n, "hash": f"{n:064x}"})
        for n in range(count)]


def _pages(docs: list[bytes], size: int) -> list[list[bytes]]:
    return [docs[at:at + size] for at in range(0, len(docs), size)]


def _run(made: MadePages, pages: list[list[bytes]]) -> list[tuple[list[int], bytes, bytes]]:
    out = []
    first = 0
    for page in pages:
        seqs = list(range(first, first + len(page)))
        first += len(page)
        out += [(p.seqs, p.made, p.digests) for p in made.add(seqs, page, None)]
    out += [(p.seqs, p.made, p.digests) for p in made.finish()]
    made.close()
    return out


def test_pages_made_by_a_worker_come_back_in_order_and_equal_the_ones_made_here(
        pool: PagePool) -> None:
    pages = _pages(_documents(3_000), 100)
    alone = _run(MadePages(csv_made, "Europe/Berlin", True), pages)
    helped = MadePages(csv_made, "Europe/Berlin", True)
    helped.use(pool)
    assert helped._worker is not None
    with_worker = _run(helped, pages)
    assert with_worker == alone
    assert [s for seqs, _, _ in with_worker for s in seqs] == list(range(3_000))
    assert pool._lent == 0 and len(pool._idle) == 1  # the worker went back to the pool


def test_one_worker_is_lent_to_one_export_at_a_time(pool: PagePool) -> None:
    first = pool.lease()
    assert first is not None
    assert pool.lease() is None  # the second export makes its pages itself
    pool.give_back(first)
    assert pool.lease() is first
    pool.give_back(first)
    pool.close()
    assert pool.lease() is None


def test_a_worker_killed_mid_export_costs_nothing_but_speed(pool: PagePool) -> None:
    pages = _pages(_documents(2_000), 100)
    alone = _run(MadePages(csv_made, None, True), pages)
    made = MadePages(csv_made, None, True)
    made.use(pool)
    assert made._worker is not None
    out = []
    for index, page in enumerate(pages):
        seqs = list(range(index * 100, index * 100 + len(page)))
        if index == 5:
            os.kill(made._worker.process.pid, signal.SIGKILL)
            made._worker.process.join(5)
        out += [(p.seqs, p.made, p.digests) for p in made.add(seqs, page, None)]
    out += [(p.seqs, p.made, p.digests) for p in made.finish()]
    made.close()
    assert out == alone
    assert pool._idle == [] and pool._lent == 0  # the dead worker was not kept
    replacement = pool.lease()  # a fresh one starts for the next export
    assert replacement is not None and replacement.process.is_alive()
    pool.give_back(replacement)


def test_a_page_the_worker_cannot_make_fails_the_export_with_the_real_error(
        pool: PagePool) -> None:
    made = MadePages(xlsx_page, None, True)
    made.use(pool)
    made._written = MAX_EVENTS - 5  # the sheet is all but full
    with pytest.raises(ValidationFailed, match="too many events"):
        list(made.add(list(range(10)), _documents(10), None))
        list(made.finish())
    made.close()
    assert pool._lent == 0


def test_the_exporting_thread_makes_pages_itself_when_the_worker_is_behind(
        pool: PagePool) -> None:
    pages = _pages(_documents(MAX_PENDING * 40), 40)
    alone = _run(MadePages(csv_made, None, True), pages)
    made = MadePages(csv_made, None, True)
    made.use(pool)
    assert made._worker is not None
    worker = made._worker
    out = []
    os.kill(worker.process.pid, signal.SIGSTOP)  # the worker falls behind
    try:
        for index, page in enumerate(pages):
            seqs = list(range(index * 40, (index + 1) * 40))
            out += [(p.seqs, p.made, p.digests) for p in made.add(seqs, page, None)]
        assert worker.outstanding == AHEAD  # no more were given to it
        here = [p for p in made._pending if p.made is not None]
        assert len(here) == MAX_PENDING - AHEAD  # the rest were made here meanwhile
        assert out == []  # nothing leaves before the worker's pages, which come first
    finally:
        os.kill(worker.process.pid, signal.SIGCONT)
    out += [(p.seqs, p.made, p.digests) for p in made.finish()]
    made.close()
    assert out == alone


# -- whole exports -------------------------------------------------------------------


def _trail(tb: Trailbook, tenant: Tenant, count: int) -> None:
    """Events whose times do not follow their arrival, so the export's newest-first
    order is not seq order and the chain is followed both ways."""
    rng = random.Random(3)
    ingest(tb, tenant, [event_at("device", rng.uniform(0, 30), n,
                                 description=rng.choice(["=cmd", "plain", 'q "x"']))
                        for n in range(count)])
    tb.checkpoints.checkpoint_pending()


def _export(tb: Trailbook, tenant: Tenant, fmt: str, path: Path) -> dict[str, object]:
    only_device = EventFilter(categories=("device",))  # not the exports' own records (access)
    export = tb.exports.start_local(tenant, only_device, fmt, output=path, tz="Asia/Tokyo")
    with path.open("wb") as out:
        for chunk in export.chunks:
            out.write(chunk)
    assert export.progress.manifest is not None, export.progress.manifest_error
    manifest: dict[str, object] = read_manifest(export.progress.manifest.read_bytes())
    return manifest


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_large_export_is_the_same_file_with_or_without_a_worker_and_verifies(
        tb: Trailbook, tenant: Tenant, tmp_path: Path, fmt: str) -> None:
    _trail(tb, tenant, ROWS)
    with_worker = _export(tb, tenant, fmt, tmp_path / f"a.{fmt}")
    assert tb.exports.pages._idle, "a worker took part"
    tb.exports.pages.close()
    tb.exports.pages = PagePool(0)
    alone = _export(tb, tenant, fmt, tmp_path / f"b.{fmt}")
    if fmt == "csv":  # (an xlsx file holds its creation time)
        assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    for key in ("rows", "first_seq", "last_seq", "row_seqs", "row_digests", "chain"):
        assert with_worker["manifest"][key] == alone["manifest"][key]  # type: ignore[index]
    assert with_worker["manifest"]["rows"] == ROWS  # type: ignore[index]
    result = check_export(tmp_path / f"a.{fmt}", with_worker, tb.signer.verification_keys())
    assert result.ok, result.problems


def test_the_followed_chain_is_the_chain_relinked_reads(tb: Trailbook, tenant: Tenant) -> None:
    _trail(tb, tenant, 1_200)
    head = tb.store.chain_head(tenant.id)
    assert head is not None
    rng = random.Random(11)
    for _ in range(5):
        follower = ChainFollower(tb.store, tenant.id, 10_000)
        lows = []
        for _ in range(rng.randint(1, 12)):  # windows in any order, up and down
            low = rng.randint(0, head.seq - 1)
            high = rng.randint(low + 1, head.seq)
            lows.append(low)
            follower.reach(low, high)
        from_seq, to_seq = min(lows), head.seq
        follower.finish(from_seq, to_seq)
        expected = [h for _, h in relinked(tb.store, tenant.id, from_seq, to_seq)]
        assert list(follower.hashes(from_seq, to_seq)) == expected
        if from_seq == 0:
            assert expected[0] == GENESIS
        follower.close()


class _Links:
    """A store of ``chain_links`` alone, over a made-up chain that tests may damage."""

    def __init__(self, count: int) -> None:
        self.rows: dict[int, tuple[bytes | None, bytes]] = {}
        previous = GENESIS
        for seq in range(1, count + 1):
            doc = b'{"n":%d}' % seq
            previous = link(previous, doc)
            self.rows[seq] = (doc, previous)

    def chain_links(self, tenant_id: int, after: int, until: int) -> Iterator[Link]:
        for seq in range(after + 1, until + 1):
            if seq in self.rows:
                doc, chain_hash = self.rows[seq]
                yield seq, doc, chain_hash


def _follow(links: _Links, windows: list[tuple[int, int]], limit: int = 10_000
            ) -> ChainFollower:
    follower = ChainFollower(links, 1, limit)  # type: ignore[arg-type]
    for low, high in windows:
        follower.reach(low, high)
    return follower


@pytest.mark.parametrize("windows", [[(0, 500)], [(400, 500), (300, 399), (0, 120)],
                                     [(100, 150), (160, 500), (0, 99)]])
def test_a_changed_document_is_named_wherever_the_windows_fall(
        windows: list[tuple[int, int]]) -> None:
    links = _Links(500)
    chain_hash = links.rows[250][1]
    links.rows[250] = (b'{"n":"changed"}', chain_hash)
    follower = _follow(links, windows)
    with pytest.raises(ChainBreak) as caught:
        follower.finish(0, 500)
    assert (caught.value.seq, caught.value.why) == (250, CHANGED)


def test_a_missing_event_is_named_and_a_purged_one_is_stood_in_by_its_hash() -> None:
    links = _Links(300)
    links.rows[120] = (None, links.rows[120][1])  # purged: its hash kept
    follower = _follow(links, [(200, 300), (0, 199)])
    follower.finish(0, 300)
    assert len(list(follower.hashes(0, 300))) == 301
    del links.rows[77]
    with pytest.raises(ChainBreak) as caught:
        _follow(links, [(200, 300), (50, 199)]).finish(50, 300)
    assert (caught.value.seq, caught.value.why) == (77, MISSING)


def test_a_link_from_the_earlier_stretch_into_the_later_one_is_checked() -> None:
    links = _Links(300)
    links.rows[200] = (b'{"n":"changed"}', links.rows[200][1])
    # 200 is the first seq of the first window: its own link is checked only once
    # the stretch reaches below it
    follower = _follow(links, [(200, 300)])
    assert follower.broken is None
    follower.reach(150, 300)
    assert follower.broken is not None and follower.broken.seq == 200


def test_a_stretch_longer_than_a_manifest_holds_is_given_up() -> None:
    follower = _follow(_Links(500), [(400, 500), (0, 100)], limit=300)
    assert follower.too_long
