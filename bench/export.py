"""Export benchmark: rows/s and peak memory of exporting a whole trail in each format.

    .venv/bin/python bench/export.py --events 1000000
    .venv/bin/python bench/export.py --events 1000000 --formats csv,ndjson --verify

Reuses the cached trail of bench/search.py (loaded there first if missing), copied to a
temporary folder so that the exports' own audit events (and any migration this code
brings) leave the cache as it was. Each format runs in a subprocess of its own, through
the service layer the API and the CLI use (search pages, writer, signed manifest), and
reports the process's peak resident memory (VmHWM). The floor is the same page
reads with nothing written. Prints a Markdown table for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trailbook.query.filters import EventFilter
from trailbook.runtime import tune_for_throughput
from trailbook.service.app import Trailbook
from trailbook.service.events import MAX_PAGE
from trailbook.settings import load_settings

CACHE = Path(__file__).resolve().parent / ".cache"
FORMATS = ("csv", "ndjson", "json", "xlsx")
TARGETS = {"csv": 100_000, "ndjson": 100_000, "json": None, "xlsx": 25_000}
RSS_TARGET_MB = 300


def _open(data: Path) -> Trailbook:
    return Trailbook.open(load_settings(data_dir=data, checkpoint_every_events=100_000))


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory since it started (VmHWM: getrusage's
    ru_maxrss would also count the parent's, which a forked child inherits)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(fmt: str, data: Path, verify: bool) -> None:
    """One export (or, for "floor", the page reads alone); prints a JSON line."""
    tune_for_throughput()
    tb = _open(data)
    tenant = tb.tenants.get("bench")
    out: dict[str, object] = {"format": fmt}
    started = time.perf_counter()
    if fmt == "floor":
        rows, cursor = 0, None
        while True:
            page = tb.events.search(tenant, EventFilter(), cursor, MAX_PAGE)
            rows += len(page.events)
            cursor = page.next_cursor
            if cursor is None:
                break
        out.update(rows=rows, seconds=time.perf_counter() - started)
    else:
        target = data / f"export.{fmt}"
        export = tb.exports.start_local(tenant, EventFilter(), fmt, output=target)
        with target.open("wb") as handle:
            written_at = started
            for chunk in export.chunks:
                handle.write(chunk)
                if export.progress.sha256 is None:
                    written_at = time.perf_counter()
        finished = time.perf_counter()
        progress = export.progress
        assert progress.manifest is not None, progress.manifest_error
        out.update(rows=progress.rows, seconds=finished - started,
                   file_seconds=written_at - started, manifest_seconds=finished - written_at,
                   bytes=progress.bytes, manifest_bytes=progress.manifest.stat().st_size)
    # the worker process that made pages (CSV, XLSX), if one did: its peak counts too
    worker_mb = sum(peak_rss_mb(w.process.pid) for w in tb.exports.pages._idle)
    tb.close()
    out["peak_rss_mb"] = peak_rss_mb() + worker_mb
    if verify and fmt != "floor":
        from trailbook.integrity.export_check import check_export, read_manifest

        begun = time.perf_counter()
        manifest = read_manifest(progress.manifest.read_bytes())
        report = check_export(target, manifest, {tb.signer.key_id: tb.signer.public})
        out.update(verify_seconds=time.perf_counter() - begun, verify_ok=report.ok,
                   verify_peak_rss_mb=peak_rss_mb())
        assert report.ok, report.problems[:3]
    if fmt != "floor":
        target.unlink()
        progress.manifest.unlink()
    print(json.dumps(out), flush=True)


def copy_trail(events: int) -> Path:
    source = CACHE / f"search-{events}"
    if not (source / "trailbook.db").exists():
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from search import open_trail

        open_trail(events, None)[0].close()
    work = Path(tempfile.mkdtemp(prefix="trailbook-bench-export-"))
    # A consistent copy even if the cache is open elsewhere (SQLite's backup API).
    with sqlite3.connect(f"file:{source / 'trailbook.db'}?mode=ro", uri=True) as src, \
            sqlite3.connect(work / "trailbook.db") as dst:
        src.backup(dst)
    shutil.copy2(source / "signing-key.pem", work / "signing-key.pem")
    # Migrate once, before the children, and export one event: the checkpoint that
    # export signs at the trail's head makes what a new checkpoint costs this code's
    # (e.g. a Merkle tree it keeps) up to date, so the children measure exports alone.
    with _open(work) as tb:
        tenant = tb.tenants.get("bench")
        first = tb.events.search(tenant, EventFilter(), None, 1).events[0]
        one = EventFilter(since_us=first.pos >> 10)
        b"".join(tb.exports.start_local(tenant, one, "json", output=work / "warm.json").chunks)
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--verify", action="store_true",
                        help="also check each export offline against its manifest")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data, args.verify)
        return
    began = time.perf_counter()
    work = copy_trail(args.events)
    print(f"trail copied to {work} in {time.perf_counter() - began:.0f}s", flush=True)
    results = []
    try:
        for fmt in ("floor", *args.formats.split(",")):
            command = [sys.executable, __file__, "--child", fmt, "--data", str(work)]
            if args.verify:
                command.append("--verify")
            done = subprocess.run(command, check=True, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONHASHSEED": "0"})
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, results)


def report(args: argparse.Namespace, results: list[dict[str, float]]) -> None:
    print()
    print(f"`.venv/bin/python bench/export.py --events {args.events}"
          f"{' --verify' if args.verify else ''}` — {platform.python_version()}, "
          f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores")
    print()
    print("| format | rows | file (s) | manifest (s) | rows/s (whole export) | target | "
          "peak RSS (MB) | file (MB) | manifest (MB) |"
          + (" verify (s) | verify peak RSS (MB) |" if args.verify else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.verify else ""))
    for r in results:
        rate = r["rows"] / r["seconds"]
        if r["format"] == "floor":
            print(f"| floor: page reads only | {r['rows']:,} | {r['seconds']:.1f} | - | "
                  f"{rate:,.0f} | - | {r['peak_rss_mb']:.0f} | - | - |"
                  + (" - | - |" if args.verify else ""))
            continue
        target = TARGETS.get(r["format"])
        verdict = "-" if target is None else (
            f"{target:,} {'met' if rate >= target else 'missed'}")
        rss = f"{r['peak_rss_mb']:.0f}" + ("" if r["peak_rss_mb"] < RSS_TARGET_MB else " (over)")
        print(f"| {r['format']} | {r['rows']:,} | {r['file_seconds']:.1f} | "
              f"{r['manifest_seconds']:.1f} | {rate:,.0f} | {verdict} | {rss} | "
              f"{r['bytes'] / 1e6:,.0f} | {r['manifest_bytes'] / 1e6:,.0f} |"
              + (f" {r['verify_seconds']:.1f} | {r['verify_peak_rss_mb']:.0f} |"
                 if args.verify else ""))


if __name__ == "__main__":
    main()
