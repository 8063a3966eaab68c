"""A count that runs out of its time budget answers None (the page says "timed
out") instead of raising, on both backends; the connection stays usable."""

from __future__ import annotations

import psycopg
import pytest

from trailbook.service.app import Trailbook
from trailbook.store.postgres import facets as pg_facets
from trailbook.store.sqlite import facets as sqlite_facets


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_slow_query_is_cut_off_and_the_connection_recovers(
    tb: Trailbook, database_url: str | None
) -> None:
    if database_url is None:
        conn = tb.store._reader()  # type: ignore[attr-defined]
        slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                " WHERE i < 100000000) SELECT count(*) FROM n")
        cut = sqlite_facets._within(conn, 20, lambda: conn.execute(slow).fetchone())
        assert cut is None
        assert conn.execute("SELECT 1").fetchone() == (1,)
        quick = sqlite_facets._within(conn, 5000, lambda: conn.execute("SELECT 2").fetchone())
        assert quick == (2,)
        return
    with psycopg.connect(database_url, autocommit=True) as conn:
        cut = pg_facets._within(conn, 20, lambda c: c.execute("SELECT pg_sleep(2)").fetchone())
        assert cut is None
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)  # was LOCAL
        quick = pg_facets._within(conn, 5000, lambda c: c.execute("SELECT 2").fetchone())
        assert quick == (2,)
