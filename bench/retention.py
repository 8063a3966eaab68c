"""Retention run speed: a trail of demo events spread over 60 days, a default policy
of 30 days, then one run (archive, sign, remove, record) timed end to end; then
`verify` of what is left, timed too.

    .venv/bin/python bench/retention.py --events 200000
    .venv/bin/python bench/retention.py --events 200000 --database postgresql://…

Each run starts from a fresh trail in a temporary folder (a PostgreSQL run uses a
fresh schema, dropped after)."""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import psycopg

from trailbook.model.timefmt import now_us
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.service.demo import demo_events
from trailbook.service.integrity import verify_store
from trailbook.settings import load_settings


def _run(events: int, data: Path, url: str | None) -> dict[str, Any]:
    settings = load_settings(data_dir=data, database_url=url,
                             checkpoint_every_events=100_000)
    with Trailbook.open(settings) as tb:
        tenant = tb.tenants.create("bench")
        encoder = msgspec.json.Encoder()
        lines = [encoder.encode(e) for e in demo_events(events, seed=9, span_days=60)]
        batches: Any = (lines[i:i + 5000] for i in range(0, len(lines), 5000))
        tb.events.ingest_lines(tenant, batches)
        tb.checkpoints.checkpoint_pending()
        tb.retention_rules.set_policy(None, tenant, "*", 30, CLI)
        began = time.perf_counter()
        report = tb.retention.run(tenant, now=now_us())
        took = time.perf_counter() - began
        assert report.error is None, report.error
        began = time.perf_counter()
        verified = verify_store(tb.store, tb.signer, tenant)
        verify_took = time.perf_counter() - began
        assert verified.ok, verified.problems[:3]
        archived = sum((settings.resolved_retention_archive_dir / "bench" / p.archive)
                       .stat().st_size for p in report.purges)
        return {"purged": report.purged, "purges": len(report.purges), "seconds": took,
                "per_second": report.purged / took, "archive_mb": archived / 1e6,
                "left": verified.events_checked, "verify_seconds": verify_took,
                "partitions_dropped": report.partitions_dropped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--database", default=None,
                        help="a postgresql:// URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database
        schema = None
        if url:
            schema = f"tb_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
        try:
            result = _run(args.events, Path(folder), url)
        finally:
            if schema and args.database:
                with psycopg.connect(args.database, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"{'postgresql' if args.database else 'sqlite'}: {args.events:,} events; "
          f"purged {result['purged']:,} in {result['purges']} purge(s) in "
          f"{result['seconds']:.1f} s = {result['per_second']:,.0f} events/s "
          f"(archive {result['archive_mb']:.1f} MB); verify of the {result['left']:,} "
          f"left: {result['verify_seconds']:.1f} s; partitions dropped: "
          f"{result['partitions_dropped'] or 'none'}")


if __name__ == "__main__":
    main()
