"""The server logs themselves: records go to their area's file, a file past the size
limit is rotated into dated gzip copies (never more than the set number kept), a level
changed at run time takes effect without a restart (in this process at once, in the
others when they look at the settings file), and the tail reads the last records at or
above a level, from live files and gzip copies alike."""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from trailbook.logs.areas import TRACE, area_of
from trailbook.logs.files import list_files
from trailbook.logs.setup import SETTINGS_FILE, ServerLogging, install, uninstall
from trailbook.logs.tail import tail
from trailbook.service.access.audit import CLI
from trailbook.service.server_logs import ServerLogService
from trailbook.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", log_max_bytes=4096, log_keep=3)


@pytest.fixture
def logs(settings: Settings) -> Iterator[ServerLogging]:
    installed = install(settings)
    yield installed
    uninstall()


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_records_go_to_their_area_file(logs: ServerLogging) -> None:
    logging.getLogger("trailbook.notify").warning("webhook answered 500")
    logging.getLogger("trailbook.store.postgres").error("connection lost")
    logging.getLogger("trailbook.web").warning("page failed")
    logging.getLogger("uvicorn.error").error("worker died")
    logging.getLogger("trailbook.access").info('127.0.0.1 "GET /x" 200 1.0ms')
    folder = logs.folder
    assert folder == logs.settings.data_dir / "logs"
    assert "webhook answered 500" in _text(folder / "notify.log")
    assert "connection lost" in _text(folder / "database.log")
    assert "page failed" in _text(folder / "application.log")
    assert "worker died" in _text(folder / "application.log")
    assert "GET /x" in _text(folder / "access.log")
    assert "webhook" not in _text(folder / "application.log")
    line = _text(folder / "notify.log").splitlines()[0]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z WARN \[\d+\] trailbook\.notify: "
                    r"webhook answered 500$", line), line


def test_areas_of_the_project_loggers() -> None:
    assert area_of("trailbook.notify") == "notify"
    assert area_of("trailbook.export") == "application"
    assert area_of("trailbook.periodic") == "scheduler"
    assert area_of("trailbook.scheduler") == "scheduler"
    assert area_of("trailbook.checkpoints") == "ingest"
    assert area_of("trailbook.auth") == "auth"
    assert area_of("trailbook.store.postgres") == "database"
    assert area_of("trailbook.access") == "access"
    assert area_of("trailbook.notifyx") == "application"  # a prefix is a whole name
    assert area_of("httpx") == "application"


def test_writing_past_the_limit_rotates_into_dated_gzip_copies(logs: ServerLogging) -> None:
    log = logging.getLogger("trailbook.notify")
    for round_ in range(8):
        for n in range(40):  # ~4.4 kB a round: past the 4 kB limit every round
            log.warning("round %d message %03d %s", round_, n, "x" * 40)
        logs.settle()
    rotated = [f for f in list_files(logs.folder) if f.area == "notify" and not f.live]
    assert len(rotated) == 3  # never more than log_keep
    for copy in rotated:
        assert re.fullmatch(r"notify\.\d{4}-\d\d-\d\d\.\d+\.log\.gz", copy.name)
        with gzip.open(logs.folder / copy.name, "rt") as handle:
            assert "message" in handle.read()
    # The newest copies are kept: the counters are the highest ones.
    counters = sorted(f.counter for f in rotated)
    assert counters == list(range(counters[0], counters[0] + 3)) and counters[0] > 1
    live = logs.folder / "notify.log"
    assert 0 < live.stat().st_size <= 4096
    assert "round 7 message 039" in live.read_text()
    assert not [p for p in logs.folder.iterdir() if p.name.endswith(".part")]


def test_a_level_changed_at_run_time_takes_effect_without_restart(
    logs: ServerLogging, settings: Settings
) -> None:
    log = logging.getLogger("trailbook.notify")
    log.debug("quiet debug")
    log.log(TRACE, "quiet trace")
    assert "quiet" not in _text(logs.folder / "notify.log")
    # (Auditing is the API tests' business; here no tenant exists to audit in.)
    service = ServerLogService(settings, _NoTenants(), _NoAudit())  # type: ignore[arg-type]
    service.change(None, CLI, levels={"notify": "DEBUG"})
    log.debug("loud debug")
    log.log(TRACE, "still quiet trace")
    logging.getLogger("trailbook.store").debug("other area stays quiet")
    text = _text(logs.folder / "notify.log")
    assert "loud debug" in text and "DEBUG" in text
    assert "still quiet trace" not in text
    assert "other area" not in _text(logs.folder / "database.log")
    # Kept for the next start.
    restarted = install(settings)
    assert restarted.config.levels["notify"] == "DEBUG"
    assert (logs.folder / SETTINGS_FILE).exists()


def test_another_process_change_is_picked_up_from_the_settings_file(
    logs: ServerLogging, settings: Settings
) -> None:
    log = logging.getLogger("trailbook.auth")
    log.info("before")
    assert not logs.reload_if_changed()  # nothing changed yet
    # What a CLI or another worker does: only the settings file changes.
    (logs.folder / SETTINGS_FILE).write_text('{"levels": {"auth": "ERROR"}}')
    assert logs.reload_if_changed()
    log.warning("hidden warning")
    log.error("shown error")
    text = _text(logs.folder / "auth.log")
    assert "before" in text and "shown error" in text and "hidden warning" not in text


def test_tail_with_a_level_filter_on_live_and_gzip_files(tmp_path: Path) -> None:
    lines = []
    for n in range(300):
        level = ("INFO", "WARN", "ERROR", "DEBUG")[n % 4]
        lines.append(f"2026-11-23T10:00:{n % 60:02d}.000000Z {level} [1] trailbook.x: "
                     f"record {n}")
        if n == 298:  # a traceback under an ERROR record
            lines += ["Traceback (most recent call last):", "  boom", "ValueError: x"]
    body = "\n".join(lines) + "\n"
    live = tmp_path / "application.log"
    live.write_text(body)
    packed = tmp_path / "application.2026-11-23.1.log.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write(body)
    for path in (live, packed):
        errors = tail(path, 3, logging.WARNING)
        # 299 is DEBUG: the last three at WARN or above are 294, 297 and 298.
        assert [r.text.splitlines()[0].rsplit(" ", 1)[1] for r in errors] == [
            "294", "297", "298"]
        assert [r.level for r in errors] == ["ERROR", "WARN", "ERROR"]
        assert errors[-1].text.endswith("  boom\nValueError: x")
        everything = tail(path, 1000, TRACE)
        assert len(everything) == 300
        assert everything[0].text.endswith("record 0")
        only_errors = tail(path, 1000, logging.ERROR)
        assert len(only_errors) == 75  # n % 4 == 2


def test_tail_reads_backwards_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("".join(f"2026-11-23T10:00:00.000000Z INFO [1] a: {n} {'y' * 500}\n"
                            for n in range(1000)))  # ~0.5 MB: many 64 kB blocks
    last = tail(path, 2, TRACE)
    assert [r.text.split(": ")[1].split()[0] for r in last] == ["998", "999"]


class _NoTenants:
    def all(self) -> list[object]:
        return []


class _NoAudit:
    def admin(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no tenant to audit in")


def test_two_writers_of_one_folder_follow_each_others_rotation(tmp_path: Path) -> None:
    """As two worker processes do: each holds the file open; after one rotates, the
    other writes to the new live file, and no line is lost or written twice."""
    from trailbook.logs.files import AreaFile

    first, second = (AreaFile(tmp_path, "access", 2048, 100) for _ in range(2))
    written = []
    for n in range(200):
        line = f"2026-11-23T10:00:00.000000Z INFO [{n % 2}] a: line {n:04d}\n"
        (first if n % 2 else second).write(line.encode())
        written.append(line)
    first.close()
    second.close()
    found = (tmp_path / "access.log").read_text()
    for copy in tmp_path.glob("access.*.log.gz"):
        with gzip.open(copy, "rt") as handle:
            found += handle.read()
    assert sorted(found.splitlines(keepends=True)) == sorted(written)
    assert len(list(tmp_path.glob("access.*.log.gz"))) > 3
