"""The client side of the fault test, run as its own process so the test can SIGKILL it.

    python fault_client.py URL KEY SPOOL RUN START COUNT RATE PROGRESS_FILE

Logs events START..COUNT-1 at about RATE a second with idempotency keys ``RUN-i`` and a
fixed occurred_at each (so an event logged again is the same event), writing how far it
got to PROGRESS_FILE after each chunk; then flushes and prints its counters as JSON.
The first line it prints is the number of events found in the spool at start."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from trailbook.sdk import Client
from trailbook.sdk.spool import Spool


def main() -> None:
    url, key, spool, run = sys.argv[1:5]
    start, count, rate = (int(a) for a in sys.argv[5:8])
    progress = Path(sys.argv[8])
    print(len(Spool(spool)), flush=True)
    client = Client(url, key, spool_path=spool, batch_size=500, flush_interval=0.2,
                    queue_size=20_000, retry_backoff=0.1, retry_backoff_max=1.0)
    chunk = 500
    began = time.monotonic()
    for first in range(start, count, chunk):
        for i in range(first, min(first + chunk, count)):
            client.log("fault.test", actor="fault-client", idempotency_key=f"{run}-{i}",
                       occurred_at=f"2026-01-01T00:00:00.{i:06d}Z",
                       targets=[("item", str(i))], metadata={"run": run, "i": i})
        progress.write_text(str(min(first + chunk, count)))
        ahead = (min(first + chunk, count) - start) / rate - (time.monotonic() - began)
        if ahead > 0:
            time.sleep(ahead)
    while not client.flush(timeout=5):
        pass
    client.close()
    print(json.dumps(asdict(client.stats)), flush=True)


if __name__ == "__main__":
    main()
