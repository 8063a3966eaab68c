"""A real `trailbook serve` under concurrent writers: the chain stays whole (seq 1..N,
no gaps, no repeats), verifies over HTTP and from the CLI, and its signed checkpoints
check out with the published public key."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from trailbook.integrity.signing import checkpoint_payload

THREADS = 8
BATCHES = 25
PER_BATCH = 40
TOTAL = THREADS * BATCHES * PER_BATCH
CHECKPOINT_EVERY = 1000


@pytest.fixture
def checkpoint_often(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the server sign a checkpoint every 1,000 events (the default is 10,000)."""
    monkeypatch.setenv("TRAILBOOK_CHECKPOINT_EVERY_EVENTS", str(CHECKPOINT_EVERY))


@pytest.fixture
def server(checkpoint_often: None, server: Any) -> Iterator[Any]:
    """The shared `server` fixture, started with ``checkpoint_often`` in its environment."""
    yield server


def batch(worker: int, number: int) -> list[dict[str, Any]]:
    return [
        {
            "action": "miner.reboot",
            "category": "device",
            "actor": {"id": f"worker-{worker}", "type": "automation"},
            "targets": [{"id": f"rig-{worker}-{number}-{n}", "type": "miner"}],
            "source": {"ip": f"10.{worker}.{number}.{n + 1}"},
            "request_id": f"w{worker}-b{number}",
            "metadata": {"worker": worker, "batch": number, "n": n},
        }
        for n in range(PER_BATCH)
    ]


@pytest.mark.parametrize(
    "serve_args", [[], ["--workers", "3"]], ids=["one-process", "three-worker-processes"]
)
def test_concurrent_batches_make_one_whole_chain(server: Any, serve_args: list[str]) -> None:
    auth = {"Authorization": f"Bearer {server.api_key}"}
    seqs: list[list[int]] = [[] for _ in range(THREADS)]
    failures: list[str] = []
    start = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        try:
            with httpx.Client(base_url=server.base_url, headers=auth, timeout=120) as http:
                start.wait()
                for number in range(BATCHES):
                    answer = http.post("/api/v1/events", json=batch(worker, number))
                    if answer.status_code != 201:
                        failures.append(f"{worker}/{number}: {answer.status_code} {answer.text}")
                        return
                    body = answer.json()
                    if body["stored"] != PER_BATCH:
                        failures.append(f"{worker}/{number}: stored {body['stored']}")
                    seqs[worker].extend(e["seq"] for e in body["events"])
        except Exception as exc:  # reported below, in the test's own thread
            failures.append(f"{worker}: {exc!r}")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    every = [s for worker in seqs for s in worker]
    assert len(every) == TOTAL
    assert len(set(every)) == TOTAL, "a seq was handed out twice"
    base = server.setup_seq
    assert sorted(every) == list(range(base + 1, base + TOTAL + 1))
    # Within one batch the seqs are consecutive: a batch is sealed in one transaction.
    for worker in seqs:
        for at in range(0, len(worker), PER_BATCH):
            chunk = worker[at:at + PER_BATCH]
            assert chunk == list(range(chunk[0], chunk[0] + PER_BATCH))

    with httpx.Client(base_url=server.base_url, headers=auth, timeout=120) as http:
        report = http.get("/api/v1/verify").json()
        assert report["ok"] is True, report
        assert report["last_seq"] == base + TOTAL
        assert report["events_checked"] == base + TOTAL
        assert report["first_problem"] is None

        # Every worker's events are all there and searchable.
        for worker in (0, THREADS - 1):
            found, cursor = 0, None
            while True:
                params: dict[str, Any] = {"actor_id": f"worker-{worker}", "limit": 500}
                if cursor:
                    params["cursor"] = cursor
                page = http.get("/api/v1/events", params=params).json()
                found += len(page["events"])
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert found == BATCHES * PER_BATCH

        # Signed checkpoints, checked with the published key.
        keys = http.get("/api/v1/keys")
        assert keys.status_code == 200
        (key,) = keys.json()["keys"]
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key["public_key"]))
        checkpoints = http.get("/api/v1/checkpoints").json()["checkpoints"]
        assert len(checkpoints) >= 1
        assert max(c["seq"] for c in checkpoints) >= TOTAL - CHECKPOINT_EVERY
        for checkpoint in checkpoints:
            assert 1 <= checkpoint["seq"] <= base + TOTAL
            assert checkpoint["key_id"] == key["key_id"]
            payload = checkpoint_payload(checkpoint["tenant"], checkpoint["seq"],
                                         bytes.fromhex(checkpoint["hash"]), checkpoint["time"],
                                         checkpoint["key_id"],
                                         bytes.fromhex(checkpoint["tree_root"]))
            public.verify(bytes.fromhex(checkpoint["signature"]), payload)
        assert report["checkpoints_checked"] == len(checkpoints)

    # The CLI opens the same SQLite file while the server runs.
    verified = server.cli("verify", "--json")
    assert verified.returncode == 0, verified.stderr
    (cli_report,) = json.loads(verified.stdout)
    assert cli_report["ok"] is True
    assert cli_report["last_seq"] == base + TOTAL
    assert cli_report["events_checked"] == base + TOTAL
    plain = server.cli("verify")
    assert plain.returncode == 0, plain.stderr
