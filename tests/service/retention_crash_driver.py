"""The process the retention crash test SIGKILLs: it opens the trail, stops inside a
retention run at the named point, writes MARKER and waits to be killed.

    python retention_crash_driver.py DATA_DIR DATABASE_URL|- NOW_US POINT MARKER

POINT: ``before-purge`` (the archive is written, the purge not yet committed) or
``before-record`` (the purge committed, its ``system.retention.run`` event not yet
written)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from trailbook.service.app import Trailbook
from trailbook.settings import load_settings

LEASE_SECONDS = 1.0


def main() -> None:
    data_dir, url, now, point, marker = sys.argv[1:6]
    # A short lease: the test's next run need not wait long for the killed one's.
    settings = load_settings(data_dir=Path(data_dir), database_url=None if url == "-" else url,
                             retention_lease_seconds=LEASE_SECONDS)
    tb = Trailbook.open(settings)

    def stop(*_: Any, **__: Any) -> Any:
        Path(marker).write_text(point)
        while True:
            time.sleep(1)

    if point == "before-purge":
        tb.store.purge = stop  # type: ignore[method-assign]
    else:
        tb.audit.record = stop  # type: ignore[method-assign]
    tb.retention.run(tb.tenants.get("acme"), now=int(now))


if __name__ == "__main__":
    main()
