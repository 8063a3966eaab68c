"""Installing the server logs in a process, and the run-time settings they follow.

The levels and rotation come from the settings (``log_level``, ``log_max_bytes``,
``log_keep``) and, over them, from ``log-settings.json`` in the logs folder: what was
changed while a server ran (API, console or CLI), kept there so a restart keeps it.
It is a file, not a database row, so that the logs work when the database does not,
and so that every worker process (and a CLI change) reaches every server: each
process looks at the file every ``WATCH_SECONDS`` and applies what changed."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from trailbook.logs.areas import AREAS, WRITTEN, area_of, level_name, level_number
from trailbook.logs.files import AreaFile
from trailbook.settings import Settings

SETTINGS_FILE = "log-settings.json"
WATCH_SECONDS = 2.0
log = logging.getLogger("trailbook.logs")


@dataclass(frozen=True)
class LogConfig:
    """Every area's level (by name), and the rotation: size and copies kept."""

    levels: dict[str, str] = field(default_factory=dict)
    max_bytes: int = 100 * 1024 * 1024
    keep: int = 10

    def threshold(self, area: str) -> int:
        return level_number(self.levels.get(area, "INFO"))


def read_overrides(folder: Path) -> dict[str, Any]:
    """What was changed at run time (an unreadable file counts as nothing changed)."""
    try:
        loaded = orjson.loads((folder / SETTINGS_FILE).read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("ignoring %s: %s", folder / SETTINGS_FILE, exc)
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_overrides(folder: Path, overrides: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    partial = folder / f".{SETTINGS_FILE}.part"
    partial.write_bytes(orjson.dumps(overrides, option=orjson.OPT_INDENT_2
                                     | orjson.OPT_SORT_KEYS))
    os.replace(partial, folder / SETTINGS_FILE)


def effective_config(settings: Settings, overrides: dict[str, Any] | None = None) -> LogConfig:
    """The settings, with the run-time changes over them (bad values in the file are
    left out)."""
    if overrides is None:
        overrides = read_overrides(settings.resolved_logs_dir)
    levels = dict.fromkeys(AREAS, level_name(level_number(settings.log_level)))
    for area, name in (overrides.get("levels") or {}).items():
        if area in AREAS and isinstance(name, str):
            with contextlib.suppress(ValueError):
                levels[area] = level_name(level_number(name))
    max_bytes, keep = overrides.get("max_bytes"), overrides.get("keep")
    return LogConfig(
        levels,
        max_bytes if isinstance(max_bytes, int) and max_bytes >= 1024 else settings.log_max_bytes,
        keep if isinstance(keep, int) and keep >= 0 else settings.log_keep,
    )


class LineFormatter(logging.Formatter):
    """``2026-11-23T10:00:00.123456Z WARN [pid] logger: message`` (a traceback follows
    on its own lines)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        level = WRITTEN.get(record.levelno) or level_name(record.levelno)
        text = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = f"{text}\n{record.exc_text}"
        if record.stack_info:
            text = f"{text}\n{self.formatStack(record.stack_info)}"
        return f"{when} {level} [{record.process}] {record.name}: {text}"


class AreaRouter(logging.Handler):
    """The one handler on the root logger: sends each record to its area's file if it
    is at or above the area's level."""

    def __init__(self, owner: ServerLogging) -> None:
        super().__init__(logging.NOTSET)
        self.owner = owner
        self.setFormatter(LineFormatter())

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler-wide lock: each area's file has its own.
        if self.filter(record):
            self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        area = area_of(record.name)
        if record.levelno < self.owner.thresholds.get(area, logging.INFO):
            return
        try:
            line = self.format(record) + "\n"
            self.owner.files[area].write(line.encode("utf-8", "backslashreplace"))
        except Exception:  # a full disk must not take the request down
            self.handleError(record)


class ServerLogging:
    """The logs of this process: a file per area, the levels, and a watch on the
    run-time settings file."""

    def __init__(self, settings: Settings, console_level: int | None = None) -> None:
        self.settings = settings
        self.folder = settings.resolved_logs_dir
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        self.console_level = console_level
        self.config = effective_config(settings)
        self.files = {area: AreaFile(self.folder, area, self.config.max_bytes,
                                     self.config.keep) for area in AREAS}
        self.thresholds = {area: self.config.threshold(area) for area in AREAS}
        self.router = AreaRouter(self)
        self.console: logging.Handler | None = None
        self._saved_levels: dict[str, int] = {}
        self._seen = self._stamp()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.folder / SETTINGS_FILE)
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _logger_names(self) -> list[str]:
        return ["", *(name for names in AREAS.values() for name in names)]

    def apply(self, config: LogConfig) -> None:
        """Use ``config`` from now on (levels take effect with the next record)."""
        self.config = config
        for area, handler_file in self.files.items():
            handler_file.max_bytes, handler_file.keep = config.max_bytes, config.keep
            self.thresholds[area] = config.threshold(area)
        for name in self._logger_names():
            threshold = self.thresholds[area_of(name)] if name else self.thresholds[
                "application"]
            if self.console_level is not None:
                threshold = min(threshold, self.console_level)
            logger = logging.getLogger(name or None)
            self._saved_levels.setdefault(name, logger.level)
            logger.setLevel(threshold)

    def reload_if_changed(self) -> bool:
        """Apply the run-time settings file if it changed since last seen."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        self._seen = stamp
        self.apply(effective_config(self.settings))
        return True

    def start(self) -> None:
        root = logging.getLogger()
        root.addHandler(self.router)
        if self.console_level is not None:
            self.console = logging.StreamHandler(sys.stderr)
            self.console.setLevel(self.console_level)
            self.console.setFormatter(logging.Formatter("%(levelname)s:  %(name)s: %(message)s"))
            # One line per request is for access.log, not the terminal.
            self.console.addFilter(lambda record: area_of(record.name) != "access")
            root.addHandler(self.console)
        self.apply(self.config)
        self._watcher = threading.Thread(target=self._watch, name="trailbook-log-settings",
                                         daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            try:
                self.reload_if_changed()
            except Exception:  # pragma: no cover - keep watching
                log.exception("cannot apply %s", self.folder / SETTINGS_FILE)

    def settle(self) -> None:
        """Wait for rotations under way (tests, shutdown)."""
        for area_file in self.files.values():
            area_file.settle()

    def stop(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        root = logging.getLogger()
        root.removeHandler(self.router)
        if self.console is not None:
            root.removeHandler(self.console)
        for name, level in self._saved_levels.items():
            logging.getLogger(name or None).setLevel(level)
        for area_file in self.files.values():
            area_file.close()


_installed: ServerLogging | None = None
_install_lock = threading.Lock()


def install(settings: Settings, console_level: int | str | None = None) -> ServerLogging:
    """Send this process's logs to the area files (replacing an earlier install).
    ``console_level`` also shows records at or above it on stderr."""
    global _installed
    if isinstance(console_level, str):
        console_level = logging.getLevelName(console_level.upper())
        if not isinstance(console_level, int):
            console_level = logging.INFO
    with _install_lock:
        if _installed is not None:
            _installed.stop()
        _installed = ServerLogging(settings, console_level)
        _installed.start()
        return _installed


def installed() -> ServerLogging | None:
    return _installed


def uninstall() -> None:
    global _installed
    with _install_lock:
        if _installed is not None:
            _installed.stop()
            _installed = None
