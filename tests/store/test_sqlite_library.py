"""The SQLite library's process-wide settings (``store.sqlite.library``): memory
statistics off when the store opens the process's first connection, and everything
left alone, and working, when a connection was open before. Each case runs in a
fresh interpreter, since the setting lasts for the life of a process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from trailbook.store.sqlite import library

pytestmark = pytest.mark.skipif(
    library.library_path() is None,
    reason="this Python's SQLite is not a shared library mapped from a file (not Linux,"
    " or built into _sqlite3): the store leaves the library's settings alone there",
)

STORE_AT_WORK = """
    import msgspec, sqlite3
    from pathlib import Path
    from trailbook.model.event import EventIn
    from trailbook.query.filters import EventFilter
    from trailbook.service.app import Trailbook
    from trailbook.settings import load_settings
    from trailbook.store.sqlite import library

    def events(n):
        return msgspec.convert(
            [{{"action": "miner.reboot", "actor": {{"id": "u1"}},
              "description": f"reboot number {{i}}"}} for i in range(n)], list[EventIn])

    {before}
    with Trailbook.open(load_settings(data_dir=Path({folder!r}))) as tb:
        tenant = tb.tenants.create("acme")
        tb.events.ingest(tenant, events(300))
        found = tb.events.search(tenant, EventFilter(text="number 123"), None, 5).events
        assert [e.seq for e in found] == [124], found
        assert tb.integrity.verify(tenant).ok
    print(library.tune().name, library.memory_used() > 0)
    {after}
"""


def run_store(folder: Path, before: str = "", after: str = "") -> list[str]:
    code = textwrap.dedent(STORE_AT_WORK.format(folder=str(folder), before=before,
                                                after=after))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_first_store_of_a_process_turns_the_memory_statistics_off(tmp_path: Path) -> None:
    # Statistics off: nothing is counted, though the store has allocated plenty.
    assert run_store(tmp_path) == ["DONE", "False"]


def test_a_library_in_use_before_the_store_is_left_as_it_was(tmp_path: Path) -> None:
    before = ("early = sqlite3.connect(':memory:'); "
              "early.execute('CREATE TABLE t (x)'); early.execute('INSERT INTO t VALUES (1)')")
    after = "assert early.execute('SELECT x FROM t').fetchall() == [(1,)]"
    # Statistics still on (memory counted), and the earlier connection still works.
    assert run_store(tmp_path, before, after) == ["IN_USE", "True"]


def test_tuning_twice_changes_nothing_more(tmp_path: Path) -> None:
    after = "print(library.tune().name, library.tune().name)"
    assert run_store(tmp_path, after=after) == ["DONE", "False", "DONE", "DONE"]
