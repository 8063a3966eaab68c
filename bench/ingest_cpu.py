"""Where bulk ingest's CPU goes: CPU time per stored event of each thread and process,
read off /proc while `EventService.ingest_lines` runs (as `trailbook ingest` and
bench/ingest.py's (b) do).

    .venv/bin/python bench/ingest_cpu.py --events 200000
    .venv/bin/python bench/ingest_cpu.py --database postgresql://postgres@127.0.0.1:5432/test

The window runs from the second batch handed to the pipeline to the arrival of the
last validated one, and is counted as all batches but the first and the last: start-up
(the worker processes, the first batch) and the writing of the last are left out.
Every thread on the machine that used CPU in the window is listed, so the database
server's backend (on PostgreSQL) and anything else running at the time show too.
Also prints how busy the machine's cores were (/proc/stat): a pipeline bound by its
total CPU keeps them near full; one bound by a single thread leaves them idle.
Linux only. Timings are for
this machine at this moment; run it twice."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from ingest import make_events, postgres_schema

from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.service.events import BULK_BATCH, BULK_TRANSACTION
from trailbook.service.pipeline import store_batches
from trailbook.service.validation_pool import PreparedBatch
from trailbook.settings import load_settings

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ThreadTime:
    name: str  # a validation worker, a thread of this process, or a command line
    user: int  # clock ticks
    system: int


def thread_times() -> dict[tuple[int, int], ThreadTime]:
    """CPU ticks of every thread on the machine, by (process id, thread id)."""
    found: dict[tuple[int, int], ThreadTime] = {}
    for stat in Path("/proc").glob("[0-9]*/task/[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parents[2] / "cmdline").read_bytes()
        except OSError:
            continue  # the thread ended meanwhile
        name, _, rest = text.partition("(")[2].rpartition(")")
        fields = rest.split()
        pid, tid = int(stat.parts[2]), int(stat.parts[4])
        if b"forkserver" in cmdline:  # the forkserver, or a worker forked by it
            parent = Path(f"/proc/{fields[1]}/cmdline")
            forked = parent.exists() and b"forkserver" in parent.read_bytes()
            label = "validation worker" if forked else "forkserver"
        elif pid == os.getpid():
            label = "this process: " + ("main thread" if tid == pid else "another thread")
        else:
            label = cmdline.replace(b"\0", b" ").decode(errors="replace")[:60].strip()
            label = label or f"[{name}]"
        found[(pid, tid)] = ThreadTime(label, int(fields[11]), int(fields[12]))
    return found


def busy_and_total() -> tuple[int, int]:
    """(busy, all) ticks of the machine's cores so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


@dataclass
class Window:
    threads: dict[tuple[int, int], ThreadTime]
    cores: tuple[int, int]
    at: float

    @classmethod
    def now(cls) -> Window:
        return cls(thread_times(), busy_and_total(), time.perf_counter())


def measured(batches: list[list[bytes]], marks: dict[str, Window]) -> Iterator[list[bytes]]:
    """The batches, marking the start of the window at the second."""
    for number, batch in enumerate(batches):
        if number == 1:
            marks["start"] = Window.now()
        yield batch


def until_last(prepared: Iterator[PreparedBatch], count: int,
               marks: dict[str, Window]) -> Iterator[PreparedBatch]:
    """The validated batches, marking the end of the window as the last one arrives:
    the worker processes end with the stream, and their times with them."""
    for number, batch in enumerate(prepared):
        if number == count - 1:
            marks["end"] = Window.now()
        yield batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=BULK_BATCH)
    parser.add_argument("--processes", type=int, default=None,
                        help="validation processes; default: one per core")
    parser.add_argument("--database", default=None, help="postgresql://… (default: SQLite)")
    parser.add_argument("--min-us", type=float, default=0.2,
                        help="list threads from this much CPU per event")
    args = parser.parse_args()
    if args.events < 3 * args.batch:
        parser.error("--events must be at least three batches")
    tune_for_throughput()
    events = make_events(args.events)
    batches = [events[start:start + args.batch] for start in range(0, len(events), args.batch)]
    folder = Path(tempfile.mkdtemp(prefix="trailbook-bench-"))
    marks: dict[str, Window] = {}
    schema = postgres_schema(args.database, "cpu") if args.database else nullcontext(None)
    try:
        with schema as url:
            settings = load_settings(data_dir=folder / "store", database_url=url)
            with Trailbook.open(settings) as tb:
                tenant = tb.tenants.create("bench")
                prepared = tb.events.prepare_lines(tenant, measured(batches, marks),
                                                   processes=args.processes)
                plan, apply = tb.events.bulk_store(tenant)
                result = store_batches(until_last(prepared, len(batches), marks), plan, apply,
                                       skip_invalid=False,
                                       transaction_events=BULK_TRANSACTION)
                assert result.stored == len(events), result
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # In the window: the batches after the first, but the last, being written as it ends.
    report(marks["start"], marks["end"], len(events) - 2 * args.batch, args.min_us)


def report(start: Window, end: Window, events: int, min_us: float) -> None:
    per_event = 1e6 / TICKS / events
    rows = []
    for key, after in end.threads.items():
        before = start.threads.get(key, ThreadTime(after.name, 0, 0))
        user = (after.user - before.user) * per_event
        system = (after.system - before.system) * per_event
        rows.append((user + system, user, system, key, after.name))
    total = sum(row[0] for row in rows)
    elapsed = end.at - start.at
    busy = end.cores[0] - start.cores[0]
    cores = (busy / (end.cores[1] - start.cores[1])) * (os.cpu_count() or 1)
    print(f"{events:,} events in {elapsed:.1f}s: {events / elapsed:,.0f} events/s; "
          f"cores {cores * 100:.0f}% busy ({os.cpu_count()} cores)")
    print("\n| thread | µs CPU/event | user | system |\n|---|---:|---:|---:|")
    for all_us, user, system, (pid, tid), name in sorted(rows, reverse=True):
        if all_us >= min_us:
            print(f"| {pid}/{tid} {name} | {all_us:.1f} | {user:.1f} | {system:.1f} |")
    print(f"| all threads | {total:.1f} | | |")


if __name__ == "__main__":
    main()
