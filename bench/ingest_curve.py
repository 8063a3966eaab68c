"""Store-append throughput as the database grows: events/s and CPU per stage for each
100,000 demo events, validation and storage timed apart.

    .venv/bin/python bench/ingest_curve.py --events 600000
    .venv/bin/python bench/ingest_curve.py --events 600000 --default-gc   # before tuning
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import msgspec

from trailbook.model.event import EventIn
from trailbook.model.normalize import normalize_batch
from trailbook.model.timefmt import now_us
from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.service.tenants import tenant_info
from trailbook.settings import load_settings

CHUNK = 100_000
BATCH = 5000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--default-gc", action="store_true",
                        help="keep Python's default collector thresholds")
    args = parser.parse_args()
    if not args.default_gc:
        tune_for_throughput()
    encoder, decoder = msgspec.json.Encoder(), msgspec.json.Decoder(EventIn)
    source = [encoder.encode(e) for e in demo_events(args.events, seed=11)]
    print(f"`python bench/ingest_curve.py {' '.join(sys.argv[1:])}`\n")
    print("| events stored | events/s | validate µs/event | store µs/event |")
    print("|---:|---:|---:|---:|")
    with Trailbook.open(load_settings(data_dir=tempfile.mkdtemp())) as tb:
        tenant = tb.tenants.create("bench")
        info = tenant_info(tenant)
        validate = store = 0.0
        started = time.perf_counter()
        for start in range(0, args.events, BATCH):
            a = time.perf_counter()
            batch = [decoder.decode(raw) for raw in source[start:start + BATCH]]
            prepared = normalize_batch(batch, info, now_us(), batch=True)
            b = time.perf_counter()
            tb.store.append(info, prepared)
            store += time.perf_counter() - b
            validate += b - a
            done = start + BATCH
            if done % CHUNK == 0:
                rate = CHUNK / (time.perf_counter() - started)
                print(f"| {done:,} | {rate:,.0f} | {validate / CHUNK * 1e6:.0f} | "
                      f"{store / CHUNK * 1e6:.0f} |", flush=True)
                validate = store = 0.0
                started = time.perf_counter()


if __name__ == "__main__":
    main()
