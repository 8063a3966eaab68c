"""What only the PostgreSQL backend has: month partitions made ahead of time, the
retention path through the append-only trigger, migrations and connection errors
through the CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import psycopg
import pytest

from trailbook.model.event import EventIn
from trailbook.model.timefmt import format_us
from trailbook.query.filters import EventFilter
from trailbook.service.app import Trailbook
from trailbook.store.postgres import migrations as pg_migrations
from trailbook.store.postgres.partitions import Month, month_of, months_to_keep
from trailbook.store.records import Tenant


@pytest.fixture
def backend() -> str:
    return "postgres"


def partitions(url: str) -> dict[str, int]:
    """Partition name -> events in it."""
    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'events'::regclass")]
        return {n: conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0]  # type: ignore[index]
                for n in names}


def at(moment: datetime) -> dict[str, object]:
    return {"action": "user.login", "actor": {"id": "u"}, "occurred_at": format_us(
        int(moment.timestamp() * 1_000_000))}


def test_months_are_made_ahead_and_events_land_in_theirs(
    tb: Trailbook, tenant: Tenant, database_url: str
) -> None:
    now = datetime.now(UTC)
    made = partitions(database_url)
    expected = {m.name for m in months_to_keep(now)} | {"events_default"}
    assert set(made) == expected
    assert len(expected) == 6  # last month, this month, three ahead, the default

    old = datetime(2019, 3, 4, 5, 6, 7, tzinfo=UTC)
    tb.events.ingest(tenant, msgspec.convert([at(now), at(old)], list[EventIn]))
    counts = partitions(database_url)
    assert counts[month_of(now).name] == 1
    assert counts["events_default"] == 1  # back-filled history: kept, only not pruned
    found = tb.events.search(tenant, EventFilter(until_us=int(
        datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)))
    assert [e.seq for e in found.events] == [2]
    assert tb.integrity.verify(tenant).ok


def test_month_bounds_follow_the_calendar() -> None:
    dec = Month(2026, 12)
    assert dec.next() == Month(2027, 1)
    low, high = dec.bounds()
    assert low == int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1_000_000) << 10
    assert high == Month(2027, 1).start_pos()
    jan = months_to_keep(datetime(2027, 1, 15, tzinfo=UTC), ahead=1)
    assert jan == [Month(2026, 12), Month(2027, 1), Month(2027, 2)]


def test_a_month_already_in_the_default_partition_stays_there(
    tb: Trailbook, tenant: Tenant, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    last_month = months_to_keep(now)[0]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {last_month.name}")
    moment = datetime.fromtimestamp((last_month.start_pos() >> 10) / 1e6, UTC) + timedelta(
        hours=1)
    tb.events.ingest(tenant, msgspec.convert([at(moment)], list[EventIn]))
    with caplog.at_level(logging.WARNING):
        tb.store.maintain(now)  # cannot make last month now; says so, does not fail
    assert "default partition holds" in caplog.text
    assert partitions(database_url)["events_default"] == 1
    assert tb.integrity.verify(tenant).ok


def test_only_the_retention_path_gets_through_the_trigger(
    tb: Trailbook, tenant: Tenant, database_url: str
) -> None:
    tb.events.ingest(tenant, msgspec.convert([at(datetime.now(UTC))] * 3, list[EventIn]))
    with psycopg.connect(database_url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute("DELETE FROM events WHERE seq = 1")
        conn.rollback()
        with conn.transaction():
            conn.execute("SET LOCAL trailbook.retention = 'on'")
            deleted = conn.execute("DELETE FROM events WHERE seq = 1").rowcount
        assert deleted == 1
        # The setting was local to that transaction.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE events SET action = 'x'")


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_migrate_applies_and_reports_on_postgres(tmp_path: Path, database_url: str) -> None:
    status = cli(tmp_path, "--database", database_url, "migrate", "--status")
    assert status.returncode == 0, status.stderr
    latest = pg_migrations.LATEST
    assert f"schema version 0 of {latest}" in " ".join(status.stdout.split())
    applied = cli(tmp_path, "--database", database_url, "migrate")
    assert applied.returncode == 0, applied.stderr
    assert "applied migrations 1" in applied.stdout
    again = cli(tmp_path, "--database", database_url, "migrate", "--status")
    assert f"schema version {latest} of {latest} (up to date)" in " ".join(
        again.stdout.split())


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "--database", "postgresql://nobody:secret@127.0.0.1:1/none",
                 "verify")
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL" in result.stderr
    assert "secret" not in result.stderr  # the password is not printed
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flt", [
    EventFilter(results=("failure",)),
    EventFilter(text="reboot"),
    EventFilter(text='"reboot miner"'),
    EventFilter(target_ids=("m-3",)),
    EventFilter(results=("failure",), exclude=EventFilter(target_ids=("m-3",))),
])
def test_a_page_is_the_same_whether_the_index_or_the_time_walk_answers(
        tb: Trailbook, tenant: Tenant, flt: EventFilter,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # first_page.py walks by time within a budget, then asks the GIN index for at most
    # RARE_CAP matches, then walks without a budget: every way gives every page alike.
    start = datetime(2026, 5, 1, tzinfo=UTC)
    tb.events.ingest(tenant, msgspec.convert([{
        "action": "miner.reboot", "actor": {"id": f"u-{n % 4}"},
        "description": "reboot miner now" if n % 3 else "miner reboot later",
        "result": "failure" if n % 2 else "success",
        "targets": [{"type": "miner", "id": f"m-{n % 5}"}],
        "occurred_at": format_us(int((start + timedelta(minutes=n)).timestamp() * 1e6))}
        for n in range(120)], list[EventIn]))

    def pages() -> list[list[int]]:
        out, cursor = [], None
        while True:
            page = tb.events.search(tenant, flt, cursor, 7)
            out.append([e.seq for e in page.events])
            cursor = page.next_cursor
            if cursor is None:
                return out

    from trailbook.store.postgres import first_page

    by_walk = pages()
    used: list[str] = []
    rare = first_page._rare_positions

    def counted(*args: object) -> object:
        found = rare(*args)  # type: ignore[arg-type]
        used.append("index" if found is not None else "late walk")
        return found

    monkeypatch.setattr(first_page, "_walk_within_budget", lambda *args: None)  # no time
    monkeypatch.setattr(first_page, "_rare_positions", counted)
    by_index = pages()
    monkeypatch.setattr(first_page, "RARE_CAP", 1)  # every match set is "common" now
    by_late_walk = pages()
    assert by_walk == by_index == by_late_walk
    assert sum(len(p) for p in by_walk) > 7  # more than one page was compared
    assert "index" in used and "late walk" in used


def test_a_bulk_load_brings_the_planners_statistics_up_to_date(
        tb: Trailbook, tenant: Tenant, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from trailbook.service import events as event_service

    def analyzed() -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT count(*) FROM pg_stat_user_tables WHERE schemaname ="
                               " current_schema() AND relname LIKE 'events%'"
                               " AND last_analyze IS NOT NULL").fetchone()
        return int(row[0]) if row else 0

    before = analyzed()
    assert before == 0  # a new schema: nothing analyzed by hand yet
    monkeypatch.setattr(event_service, "BULK_STATISTICS_EVENTS", 50)
    lines = [msgspec.json.encode({"action": "doc.read", "actor": {"id": f"u-{n}"}})
             for n in range(60)]
    tb.events.ingest_lines(tenant, [lines], processes=0)
    assert analyzed() > before
