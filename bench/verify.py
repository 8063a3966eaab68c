"""Verification speed, and the Merkle tree's share of it: `trailbook verify`'s work
(re-linking the chain, checking every checkpoint, recomputing the Merkle root for
checkpoints that sign one) over a trail of demo events, timed in-process, then again
with the checkpoints' tree roots hidden from the verifier (the chain alone).

    .venv/bin/python bench/verify.py --events 1000000

The trail is loaded once into bench/.cache/verify-N (ignored by git), with a
checkpoint every 100,000 events."""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any

import msgspec

from trailbook.integrity.verify import verify_chain
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.settings import load_settings

CACHE = Path(__file__).resolve().parent / ".cache"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(data_dir=CACHE / f"verify-{args.events}",
                             checkpoint_every_events=100_000)
    with Trailbook.open(settings) as tb:
        tenant = next((t for t in tb.tenants.all() if t.name == "bench"), None)
        if tenant is None:
            tenant = tb.tenants.create("bench")
            encoder = msgspec.json.Encoder()
            lines = [encoder.encode(e) for e in demo_events(args.events, seed=5,
                                                            span_days=30)]
            batches: Any = (lines[i:i + 5000] for i in range(0, len(lines), 5000))
            tb.events.ingest_lines(tenant, batches)
            tb.checkpoints.checkpoint_pending()
        store, keys = tb.store, tb.signer.verification_keys()
        checkpoints = store.list_checkpoints(tenant.id)
        chain_only = [dataclasses.replace(c, tree_root=None) for c in checkpoints]
        timings: dict[str, list[float]] = {"chain and tree": [], "chain only": []}
        for _ in range(args.runs):
            for name, given in (("chain and tree", checkpoints), ("chain only", chain_only)):
                started = time.perf_counter()
                report = verify_chain(tenant.name, store.iter_chain(tenant.id),
                                      store.chain_head(tenant.id), given, keys)
                timings[name].append(time.perf_counter() - started)
                # Stripped roots fail the signature check, as they should; only the
                # timing of the chain-only pass is of use.
                assert name != "chain and tree" or report.ok, report.first_problem
    print(f"`.venv/bin/python bench/verify.py --events {args.events} --runs {args.runs}`: "
          f"{report.events_checked:,} events, {len(checkpoints)} checkpoints")
    for name, values in timings.items():
        best = min(values)
        print(f"- {name}: median {statistics.median(values):.2f} s, best {best:.2f} s "
              f"({report.events_checked / best:,.0f} events/s)")


if __name__ == "__main__":
    main()
