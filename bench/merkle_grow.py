"""What keeping the Merkle tree costs the append path: bulk-ingest demo events into a
fresh SQLite trail and time the tree's share (``MerkleNodeStore.grow``, which hashes
each event's canonical form as a leaf and stores one node per completed 256-event
block, inside the append's transaction).

    .venv/bin/python bench/merkle_grow.py --events 100000"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.settings import load_settings
from trailbook.store.merkle_nodes import MerkleNodeStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    spent = [0.0]
    grow = MerkleNodeStore.grow

    def timed(self: MerkleNodeStore, *a: Any, **k: Any) -> None:
        started = time.perf_counter()
        grow(self, *a, **k)
        spent[0] += time.perf_counter() - started

    MerkleNodeStore.grow = timed  # type: ignore[method-assign]
    encoder = msgspec.json.Encoder()
    lines = [encoder.encode(e) for e in demo_events(args.events, seed=3, span_days=30)]
    with Trailbook.open(load_settings(data_dir=Path(tempfile.mkdtemp()))) as tb:
        tenant = tb.tenants.create("bench")
        started = time.perf_counter()
        result = tb.events.ingest_lines(
            tenant, (lines[i:i + args.batch] for i in range(0, len(lines), args.batch)))
        total = time.perf_counter() - started
    print(f"`.venv/bin/python bench/merkle_grow.py --events {args.events}`: stored "
          f"{result.stored:,} events in {total:.2f} s ({result.stored / total:,.0f}/s); "
          f"the tree took {spent[0] * 1000:.0f} ms, {100 * spent[0] / total:.1f}% "
          f"({spent[0] / result.stored * 1e6:.2f} µs an event)")


if __name__ == "__main__":
    main()
