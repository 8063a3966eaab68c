"""Client against a loopback stand-in of the API: batching, retries, spool, counters."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdk.receiver import Receiver, Reply, free_port, wait_for
from trailbook.sdk import Client, ClientClosed
from trailbook.sdk.spool import Spool


def make(url: str, tmp_path: Path, **options: object) -> Client:
    settings: dict[str, object] = {"spool_path": tmp_path / "spool.db",
                                   "retry_backoff": 0.05, "retry_backoff_max": 0.2}
    settings.update(options)
    return Client(url, "tb_test", **settings)  # type: ignore[arg-type]


def test_batches_by_size(tmp_path: Path) -> None:
    with Receiver() as rx:
        client = make(rx.url, tmp_path, batch_size=10, flush_interval=60)
        keys = [client.log("doc.update", actor="u-1", metadata={"i": i}) for i in range(25)]
        # Two full batches go without flush(): the time limit (60 s) is not reached.
        wait_for(lambda: len(rx.batches) >= 2)
        assert [len(b) for b in rx.batches[:2]] == [10, 10]
        assert client.flush(timeout=20)
        assert [len(b) for b in rx.batches] == [10, 10, 5]
        assert rx.stored_keys == keys
        assert rx.authorizations[0] == "Bearer tb_test"
        client.close()


def test_batches_by_time(tmp_path: Path) -> None:
    with Receiver() as rx:
        client = make(rx.url, tmp_path, batch_size=1000, flush_interval=0.1)
        client.log("doc.update", actor="u-1")
        client.log("doc.read", actor="u-1")
        # No flush() and far fewer than batch_size: the interval sends them.
        wait_for(lambda: len(rx.stored) == 2)
        assert [e["action"] for e in rx.stored] == ["doc.update", "doc.read"]
        client.close()


def test_retries_honour_retry_after(tmp_path: Path) -> None:
    replies = [Reply(429, {"Retry-After": "1"}), Reply(503), Reply(500)]
    with Receiver(replies) as rx:
        client = make(rx.url, tmp_path, batch_size=5, flush_interval=60)
        keys = [client.log("doc.update", actor="u-1") for _ in range(5)]
        assert client.flush(timeout=30)
        assert rx.statuses == [429, 503, 500, 201]
        assert all(batch == rx.batches[0] for batch in rx.batches)  # the same events
        assert rx.stored_keys == keys
        # The 429 said "Retry-After: 1": the next attempt came no sooner.
        assert rx.times[1] - rx.times[0] >= 0.95
        stats = client.stats
        assert (stats.sent, stats.spooled, stats.failed, stats.pending) == (5, 5, 0, 0)
        client.close()


def test_retries_without_spool_keep_the_batch(tmp_path: Path) -> None:
    with Receiver([Reply(503), Reply(502)]) as rx:
        client = make(rx.url, tmp_path, spool=False, batch_size=3, flush_interval=60)
        keys = [client.log("doc.update", actor="u-1") for _ in range(3)]
        assert client.flush(timeout=30)
        assert rx.statuses == [503, 502, 201]
        assert rx.stored_keys == keys
        assert client.stats.spooled == 0
        client.close()


def test_422_drops_the_named_event_and_resends_the_rest(tmp_path: Path) -> None:
    refusal = {"error": {"code": "validation_failed", "message": "the event is not valid",
                         "details": [{"field": "events[1].category",
                                      "reason": "unknown category"}]}}
    with Receiver([Reply(422, body=refusal)]) as rx:
        client = make(rx.url, tmp_path, batch_size=3, flush_interval=60)
        keys = [client.log("doc.update", actor="u-1", category=c)
                for c in ("general", "nosuch", "admin")]
        assert client.flush(timeout=20)
        assert rx.stored_keys == [keys[0], keys[2]]
        assert (client.stats.sent, client.stats.failed) == (2, 1)
        client.close()


def test_other_4xx_fails_the_batch(tmp_path: Path) -> None:
    refusal = {"error": {"code": "unauthenticated", "message": "bad key", "details": []}}
    with Receiver([Reply(401, body=refusal)]) as rx:
        client = make(rx.url, tmp_path, batch_size=2, flush_interval=60)
        client.log("doc.update", actor="u-1")
        client.log("doc.update", actor="u-1")
        assert client.flush(timeout=20)
        assert len(rx.batches) == 1  # not retried
        assert (client.stats.failed, client.stats.sent) == (2, 0)
        client.close()


def test_spool_while_down_then_replay_in_order(tmp_path: Path) -> None:
    port = free_port()  # nothing listens yet
    client = make(f"http://127.0.0.1:{port}", tmp_path, batch_size=4, flush_interval=0.05)
    first = [client.log("doc.update", actor="u-1", metadata={"i": i}) for i in range(10)]
    wait_for(lambda: client.stats.spooled >= 10)
    assert not client.flush(timeout=0.2)
    with Receiver(port=port) as rx:
        later = [client.log("doc.update", actor="u-1", metadata={"i": i}) for i in range(10, 15)]
        assert client.flush(timeout=30)
        assert rx.stored_keys == first + later  # spooled ones first, in logging order
        assert [e["metadata"]["i"] for e in rx.stored] == list(range(15))
    stats = client.stats
    assert (stats.queued, stats.sent, stats.pending, stats.dropped) == (15, 15, 0, 0)
    client.close()


def test_spool_is_replayed_by_the_next_client(tmp_path: Path) -> None:
    port = free_port()
    client = make(f"http://127.0.0.1:{port}", tmp_path, batch_size=4, flush_interval=0.05)
    keys = [client.log("doc.update", actor="u-1") for _ in range(9)]
    client.close(timeout=0.5)  # the service is down: everything stays in the spool
    assert len(Spool(tmp_path / "spool.db")) == 9
    with Receiver(port=port) as rx:
        again = make(rx.url, tmp_path, batch_size=4, flush_interval=0.05)
        newer = again.log("doc.read", actor="u-1")
        assert again.flush(timeout=30)
        assert rx.stored_keys == [*keys, newer]
        again.close()
    assert len(Spool(tmp_path / "spool.db")) == 0


def test_full_queue_goes_to_the_spool_in_order(tmp_path: Path) -> None:
    with Receiver() as rx:
        rx.gate.clear()  # the first request hangs until released
        client = make(rx.url, tmp_path, batch_size=2, flush_interval=0.01, queue_size=5)
        keys = [client.log("doc.update", actor="u-1", metadata={"i": 0}),
                client.log("doc.update", actor="u-1", metadata={"i": 1})]
        wait_for(lambda: client.stats.pending == 2 and not client._queue)  # in flight
        keys += [client.log("doc.update", actor="u-1", metadata={"i": i}) for i in range(2, 30)]
        assert client.stats.spooled > 0
        rx.gate.set()
        assert client.flush(timeout=30)
        assert rx.stored_keys == keys
        assert client.stats.dropped == 0
        client.close()


def test_full_queue_without_spool_drops(tmp_path: Path) -> None:
    with Receiver() as rx:
        rx.gate.clear()
        client = make(rx.url, tmp_path, spool=False, batch_size=2, flush_interval=0.01,
                      queue_size=3)
        client.log("doc.update", actor="u-1")
        client.log("doc.update", actor="u-1")
        wait_for(lambda: not client._queue)
        for _ in range(5):
            client.log("doc.update", actor="u-1")
        assert client.stats.dropped == 2
        rx.gate.set()
        assert client.flush(timeout=30)
        assert client.stats.sent == 5
        client.close()


def test_max_retries_gives_up(tmp_path: Path) -> None:
    with Receiver([Reply(503)] * 10) as rx:
        client = make(rx.url, tmp_path, batch_size=2, flush_interval=60, max_retries=2)
        client.log("doc.update", actor="u-1")
        client.log("doc.update", actor="u-1")
        assert client.flush(timeout=30)
        assert len(rx.batches) == 3  # the first attempt and two retries
        assert client.stats.failed == 2
        client.close()


def test_log_after_close_raises(tmp_path: Path) -> None:
    with Receiver() as rx:
        client = make(rx.url, tmp_path)
        client.close()
        with pytest.raises(ClientClosed):
            client.log("doc.update", actor="u-1")
