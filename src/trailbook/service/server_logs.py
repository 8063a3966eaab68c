"""Trailbook's own server logs, for the API, the console and the CLI: list the files,
download one, read its last records at or above a level, delete rotated copies, and
change the levels and the rotation while the server runs.

Reading needs ``logs.read``; deleting and changing the settings need ``logs.delete``
(the permission of the roles that manage logs: owner and admin). Every deletion and
every change is audited in the ``admin`` category: in the caller's tenant, or in every
tenant when the command line (the server's operator) does it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trailbook.errors import Conflict, ErrorDetail, NotFound, ValidationFailed, field_error
from trailbook.logs.areas import AREAS, LEVELS, level_name, level_number
from trailbook.logs.files import LogFile, folder_lock, list_files, parse_name, prune
from trailbook.logs.setup import (
    LogConfig,
    effective_config,
    installed,
    read_overrides,
    write_overrides,
)
from trailbook.logs.tail import Record, tail
from trailbook.service.access.audit import RequestContext, SelfAudit, change_list
from trailbook.service.access.principal import Principal
from trailbook.service.tenants import TenantService
from trailbook.settings import Settings

MAX_TAIL_LINES = 5000
MAX_ROTATION_BYTES = 100 * 1024 * 1024 * 1024
MAX_KEEP = 10_000
CHUNK = 256 * 1024
NO_SUCH_FILE = "no such log file; GET /api/v1/server-logs lists them"


@dataclass(frozen=True)
class LogOverview:
    folder: Path
    files: list[LogFile]
    config: LogConfig


@dataclass(frozen=True)
class Download:
    name: str
    size: int
    media_type: str
    chunks: Iterator[bytes]


def _read(path: Path, size: int) -> Iterator[bytes]:
    """The first ``size`` bytes of ``path`` (a live file may grow while it is sent)."""
    with path.open("rb") as handle:
        left = size
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


class ServerLogService:
    def __init__(self, settings: Settings, tenants: TenantService | None = None,
                 audit: SelfAudit | None = None) -> None:
        self.settings = settings
        self.tenants = tenants
        self.audit = audit

    @property
    def folder(self) -> Path:
        return self.settings.resolved_logs_dir

    @staticmethod
    def _require(by: Principal | None, permission: str) -> None:
        if by is not None:  # None: the command line on the server
            by.require(permission)

    # -- reading -------------------------------------------------------------

    def config(self) -> LogConfig:
        return effective_config(self.settings)

    def overview(self, by: Principal | None) -> LogOverview:
        self._require(by, "logs.read")
        return LogOverview(self.folder, list_files(self.folder, set(AREAS)), self.config())

    def find(self, by: Principal | None, name: str) -> LogFile:
        """The file of that name, if the folder's listing has it: a name is never
        turned into a path any other way."""
        self._require(by, "logs.read")
        if len(name) > 100 or parse_name(name) is None:
            raise NotFound(NO_SUCH_FILE, [ErrorDetail("file", "not a log file's name")])
        for found in list_files(self.folder, set(AREAS)):
            if found.name == name:
                return found
        raise NotFound(NO_SUCH_FILE, [ErrorDetail("file", f"{name} is not in the folder")])

    def download(self, by: Principal | None, name: str, context: RequestContext) -> Download:
        found = self.find(by, name)
        path = self.folder / found.name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFound(NO_SUCH_FILE, [ErrorDetail("file", "removed meanwhile")]) from None
        if by is not None and by.user is not None and self.audit is not None:
            self.audit.access(by, context, "server_log.download", "export",
                              targets=[{"type": "server_log", "id": found.name}],
                              metadata={"bytes": size})
        media = "text/plain; charset=utf-8" if found.live else "application/gzip"
        return Download(found.name, size, media, _read(path, size))

    def tail(self, by: Principal | None, name: str, lines: int = 200,
             level: str = "TRACE") -> list[Record]:
        if not 1 <= lines <= MAX_TAIL_LINES:
            raise field_error("lines", f"from 1 to {MAX_TAIL_LINES}")
        try:
            threshold = level_number(level)
        except ValueError as exc:
            raise field_error("level", str(exc)) from None
        found = self.find(by, name)
        try:
            return tail(self.folder / found.name, lines, threshold)
        except FileNotFoundError:
            raise NotFound(NO_SUCH_FILE, [ErrorDetail("file", "removed meanwhile")]) from None
        except (OSError, EOFError) as exc:  # a damaged gzip copy
            raise ValidationFailed("cannot read this log file",
                                   [ErrorDetail("file", str(exc))]) from None

    # -- changing ------------------------------------------------------------

    def _audit_targets(self, by: Principal | None) -> list[Any]:
        if by is not None:
            return [by.tenant]
        assert self.tenants is not None
        return self.tenants.all()

    def _admin(self, by: Principal | None, context: RequestContext, action: str,
               action_type: str, target: dict[str, Any],
               changes: list[dict[str, Any]]) -> None:
        assert self.audit is not None, "changes go through Trailbook.server_logs"
        for tenant in self._audit_targets(by):
            self.audit.admin(tenant, by, context, action, action_type, target, changes)

    def delete(self, by: Principal | None, name: str, context: RequestContext) -> None:
        """Delete a rotated copy (a live file is being written: 409)."""
        self._require(by, "logs.delete")
        found = self.find(None, name)
        if found.live:
            raise Conflict("a live log file cannot be deleted",
                           [ErrorDetail("file", "only rotated copies "
                                                "(<area>.<date>.<n>.log.gz) can be deleted")])
        with folder_lock(self.folder):
            try:
                (self.folder / found.name).unlink()
            except FileNotFoundError:
                raise NotFound(NO_SUCH_FILE,
                               [ErrorDetail("file", "removed meanwhile")]) from None
        self._admin(by, context, "server_log.delete", "delete",
                    {"type": "server_log", "id": found.name, "name": found.name},
                    [{"field": "size", "old": found.size, "new": None}])

    def change(self, by: Principal | None, context: RequestContext, *,
               levels: dict[str, str] | None = None, max_bytes: int | None = None,
               keep: int | None = None) -> LogConfig:
        """Set levels (by area), the rotation size and the copies kept; kept across
        restarts, and picked up by every server using this folder within seconds."""
        self._require(by, "logs.delete")
        problems: list[ErrorDetail] = []
        wanted: dict[str, str] = {}
        for area, name in (levels or {}).items():
            if area not in AREAS:
                problems.append(ErrorDetail(f"levels.{area}", "not an area; choose from "
                                            + ", ".join(AREAS)))
                continue
            try:
                wanted[area] = level_name(level_number(name))
            except ValueError:
                problems.append(ErrorDetail(f"levels.{area}",
                                            f"choose from {', '.join(LEVELS)}"))
        if max_bytes is not None and not 1024 <= max_bytes <= MAX_ROTATION_BYTES:
            problems.append(ErrorDetail("max_bytes", f"from 1024 to {MAX_ROTATION_BYTES}"))
        if keep is not None and not 0 <= keep <= MAX_KEEP:
            problems.append(ErrorDetail("keep", f"from 0 to {MAX_KEEP}"))
        if problems:
            raise ValidationFailed("invalid log settings", problems)
        with folder_lock(self.folder):
            overrides = read_overrides(self.folder)
            old = effective_config(self.settings, overrides)
            overrides["levels"] = {**(overrides.get("levels") or {}), **wanted}
            if max_bytes is not None:
                overrides["max_bytes"] = max_bytes
            if keep is not None:
                overrides["keep"] = keep
            new = effective_config(self.settings, overrides)
            if new == old:
                return old  # nothing to change, nothing to audit
            write_overrides(self.folder, overrides)
            removed: list[str] = []
            if new.keep < old.keep:
                for area in AREAS:
                    removed += prune(self.folder, area, new.keep)
        live = installed()
        if live is not None and live.folder == self.folder:
            live.apply(new)  # this process now; the others at their next look
        changes = change_list(
            {**{f"level.{a}": v for a, v in old.levels.items()},
             "max_bytes": old.max_bytes, "keep": old.keep},
            {**{f"level.{a}": v for a, v in new.levels.items()},
             "max_bytes": new.max_bytes, "keep": new.keep})
        if removed:
            changes.append({"field": "removed_files", "old": removed, "new": None})
        self._admin(by, context, "server_log.settings", "update",
                    {"type": "server_log_settings", "id": "logs", "name": "server logs"},
                    changes)
        return new
