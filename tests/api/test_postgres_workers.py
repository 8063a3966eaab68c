"""Several OS processes posting to `trailbook serve --workers 4` on PostgreSQL: four
server processes seal into one tenant's chain, which must come out as seq 1..40,000
with no gap and no repeat, and verify from the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

CLIENTS = 4
PER_CLIENT = 10_000
PER_BATCH = 500
TOTAL = CLIENTS * PER_CLIENT

# Runs in each client process: post PER_CLIENT events in batches, print the seqs.
CLIENT = """
import json, sys, httpx
base, key, client, total, per_batch = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
seqs = []
with httpx.Client(base_url=base, headers={"Authorization": "Bearer " + key},
                  timeout=300) as http:
    for start in range(0, total, per_batch):
        events = [{"action": "cluster.scale", "category": "task",
                   "actor": {"id": f"client-{client}", "type": "automation"},
                   "targets": [{"id": f"cluster-{client}-{start + n}", "type": "cluster"}],
                   "metadata": {"client": client, "n": start + n}}
                  for n in range(per_batch)]
        answer = http.post("/api/v1/events", json=events)
        if answer.status_code != 201:
            sys.exit(f"client {client}: {answer.status_code} {answer.text}")
        seqs.extend(e["seq"] for e in answer.json()["events"])
print(json.dumps(seqs))
"""


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.mark.slow
@pytest.mark.parametrize("serve_args", [["--workers", "4"]], ids=["four-workers"])
def test_four_processes_through_four_workers_make_one_chain(
    server: Any, serve_args: list[str]
) -> None:
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, server.base_url, server.api_key, str(c),
             str(PER_CLIENT), str(PER_BATCH)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for c in range(CLIENTS)
    ]
    seqs: list[int] = []
    for client in clients:
        out, err = client.communicate(timeout=600)
        assert client.returncode == 0, err
        mine = json.loads(out)
        assert len(mine) == PER_CLIENT
        # A batch is sealed in one transaction: its seqs are consecutive.
        for at in range(0, PER_CLIENT, PER_BATCH):
            chunk = mine[at:at + PER_BATCH]
            assert chunk == list(range(chunk[0], chunk[0] + PER_BATCH))
        seqs.extend(mine)
    assert len(set(seqs)) == TOTAL, "a seq was handed out twice"
    base = server.setup_seq
    assert sorted(seqs) == list(range(base + 1, base + TOTAL + 1))

    verified = server.cli("verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    (report,) = json.loads(verified.stdout)
    assert report["ok"] is True
    assert report["last_seq"] == base + TOTAL
    assert report["events_checked"] == base + TOTAL
