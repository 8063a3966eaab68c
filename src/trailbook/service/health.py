"""Health checks: is the database answering, is there disk space, does each chain still
link up to its head, is the signing key there and loadable, and is the background work
keeping up. Readiness (``GET /api/v1/health/ready``) is the database and the key; the
scheduled health check runs every check and records its findings in each tenant's
trail (see ``trailbook.service.scheduler``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trailbook.integrity.chain import GENESIS
from trailbook.integrity.signing import Signer, key_id_of, signature_valid
from trailbook.model.timefmt import format_us, now_us
from trailbook.service.access.principal import Principal
from trailbook.service.relink import ChainBreak, relinked
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Tenant

Status = Literal["ok", "warning", "critical"]
_RANK: dict[Status, int] = {"ok": 0, "warning": 1, "critical": 2}
# The checks readiness depends on: without them the server cannot store or sign.
READINESS_CHECKS = frozenset({"database", "signing_key"})
MB = 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """One check's outcome; ``tenant`` names the trail it is about (None: the server)."""

    check: str
    status: Status
    detail: str
    tenant: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check, "status": self.status,
                               "detail": self.detail}
        if self.tenant is not None:
            out["tenant"] = self.tenant
        if self.data:
            out["data"] = self.data
        return out


def worst(findings: list[Finding]) -> Status:
    return max((f.status for f in findings), key=_RANK.__getitem__, default="ok")


@dataclass(frozen=True)
class HealthReport:
    at: str
    findings: list[Finding]

    @property
    def status(self) -> Status:
        return worst(self.findings)

    @property
    def ready(self) -> bool:
        """The database answers and the signing key is loaded."""
        return not any(f.status == "critical" and f.check in READINESS_CHECKS
                       for f in self.findings)

    def for_tenant(self, tenant: str) -> HealthReport:
        """The server's findings and ``tenant``'s own: never another tenant's."""
        return HealthReport(self.at, [f for f in self.findings
                                      if f.tenant is None or f.tenant == tenant])

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not_ready", "health": self.status,
                "at": self.at, "checks": [f.as_dict() for f in self.findings]}


def _key_id_on_disk(path: Path) -> str:
    """The key id of the Ed25519 private key at ``path``, read without changing
    anything (loading the signer would finish a rotation cut short)."""
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key_id_of(loaded.public_key())


def watched_folders(settings: Settings) -> dict[str, Path]:
    """The folders whose free space the health check watches, by what they hold (the
    findings name what, not where), the server's log files' folder among them."""
    folders = {"data": settings.data_dir,
               "signing key": settings.resolved_signing_key_path.parent,
               "export jobs": settings.resolved_export_job_dir,
               "export manifests": settings.resolved_export_manifest_dir}
    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        folders["database"] = Path(url.removeprefix("sqlite:///")).parent
    folders["logs"] = settings.resolved_logs_dir
    return folders


def _existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists (where it would be made)."""
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


class HealthService:
    def __init__(self, store: Store, signer: Signer, settings: Settings) -> None:
        self.store = store
        self.signer = signer
        self.settings = settings

    # -- the checks ----------------------------------------------------------

    def check_database(self) -> Finding:
        try:
            current, latest = self.store.schema_version()
        except Exception as exc:  # whatever the driver raises: the database is not there
            return Finding("database", "critical",
                           f"the database does not answer: {type(exc).__name__}: {exc}"[:300])
        if current < latest:
            return Finding("database", "critical",
                           f"the schema is at version {current}, this Trailbook needs {latest}:"
                           " run 'trailbook migrate'", data={"schema": current})
        return Finding("database", "ok", "the database answers", data={"schema": current})

    def check_signing_key(self) -> Finding:
        path = self.settings.resolved_signing_key_path
        probe = b"trailbook health probe"
        try:
            if not signature_valid(self.signer.public, probe, self.signer.sign(probe)):
                return Finding("signing_key", "critical",
                               "the loaded signing key does not verify its own signature")
            on_disk = _key_id_on_disk(path)
        except FileNotFoundError:
            return Finding("signing_key", "critical", f"no signing key at {path}")
        except (OSError, ValueError, TypeError) as exc:
            return Finding("signing_key", "critical",
                           f"the signing key at {path} cannot be loaded: {exc}"[:300])
        data = {"key_id": self.signer.key_id}
        if on_disk != self.signer.key_id:
            return Finding("signing_key", "warning",
                           f"the key file holds key {on_disk} but this process signs with "
                           f"{self.signer.key_id}: restart it to sign with the new key",
                           data=data)
        return Finding("signing_key", "ok", "the signing key is loaded and on disk",
                       data=data)

    def check_disk(self) -> list[Finding]:
        findings = []
        seen: set[int] = set()
        floor = self.settings.health_disk_min_free_mb * MB
        for what, folder in watched_folders(self.settings).items():
            where = _existing(folder)
            try:
                device = where.stat().st_dev
                if device in seen:
                    continue
                seen.add(device)
                usage = shutil.disk_usage(where)
            except OSError as exc:
                findings.append(Finding("disk", "warning",
                                        f"{what}: cannot read free space ({type(exc).__name__})"))
                continue
            data = {"folder": what, "free_mb": usage.free // MB,
                    "total_mb": usage.total // MB}
            if usage.free < floor:
                findings.append(Finding("disk", "critical", f"{what}: only "
                                        f"{usage.free // MB} MB free", data=data))
            elif usage.free < usage.total // 20:
                findings.append(Finding("disk", "warning", f"{what}: under 5% "
                                        "free", data=data))
            else:
                findings.append(Finding("disk", "ok", f"{what}: space free",
                                        data=data))
        return findings

    def check_chain(self, tenant: Tenant) -> Finding:
        """Re-link the tenant's newest events up to its head, and check the newest
        signed checkpoint: its signature, and that the stored chain still holds the
        hash it signed."""
        # The checkpoint first: one signed while this reads (ingest goes on) lies at or
        # below the head read after it, and is not taken for events removed.
        newest = self.store.latest_checkpoint(tenant.id)
        head = self.store.chain_head(tenant.id)
        if head is None:
            return Finding("chain", "ok", "no events yet", tenant.name)
        start = max(0, head.seq - self.settings.health_chain_events)
        previous, at_checkpoint = GENESIS, None
        try:
            for seq, previous in relinked(self.store, tenant.id, start, head.seq):
                if newest is not None and seq == newest.seq:
                    at_checkpoint = previous
        except ChainBreak as exc:
            return Finding("chain", "critical", str(exc), tenant.name)
        if previous != bytes(head.hash):
            return Finding("chain", "critical", f"the events do not link up to the head at "
                           f"seq {head.seq}", tenant.name)
        data: dict[str, Any] = {"head": head.seq, "relinked": head.seq - start}
        if newest is None:
            return Finding("chain", "ok", "the newest events link up to the head; no "
                           "checkpoint signed yet", tenant.name, data)
        data["checkpoint"] = newest.seq
        if not self.signer.checkpoint_signed(tenant.name, newest):
            return Finding("chain", "critical", f"the checkpoint at seq {newest.seq} has no "
                           "valid signature by a known key", tenant.name, data)
        if newest.seq > head.seq:
            return Finding("chain", "critical", f"the checkpoint at seq {newest.seq} lies past "
                           f"the head at seq {head.seq}: events were removed", tenant.name, data)
        if at_checkpoint is None:  # signed before the events re-linked here
            found = list(self.store.chain_links(tenant.id, newest.seq - 1, newest.seq))
            at_checkpoint = bytes(found[0][2]) if found else None
        if at_checkpoint != bytes(newest.hash):
            return Finding("chain", "critical", f"the stored chain no longer holds the hash "
                           f"signed at seq {newest.seq}", tenant.name, data)
        return Finding("chain", "ok", "the newest events link up to the head and the newest "
                       "checkpoint's signature checks", tenant.name, data)

    def check_alert_lag(self, tenant: Tenant) -> Finding | None:
        """How far the alerts evaluator is behind the tenant's head (None: the tenant
        has no alert rules, so nothing follows its events)."""
        cursor = self.store.alerts.cursor(tenant.id)
        head = self.store.chain_head(tenant.id)
        if cursor is None or head is None:
            return None
        behind = max(0, head.seq - cursor)
        status: Status = "warning" if behind > self.settings.health_lag_events else "ok"
        return Finding("ingest_lag", status, f"the alerts evaluator is {behind} events "
                       "behind the head", tenant.name, {"events_behind": behind})

    def check_outbox(self, now: int) -> Finding:
        """The age of the oldest alert delivery that is due and not yet sent."""
        due = self.store.alerts.due(now, 1)
        age = (now - due[0].next_attempt_us) / 1e6 if due else 0.0
        status: Status = "warning" if age > self.settings.health_outbox_lag_seconds else "ok"
        return Finding("outbox_lag", status,
                       f"the oldest due alert delivery has waited {age:.0f} s" if due
                       else "no alert delivery is waiting", data={"seconds": round(age, 1)})

    # -- reports -------------------------------------------------------------

    def readiness(self) -> HealthReport:
        return HealthReport(format_us(now_us()),
                            [self.check_database(), self.check_signing_key()])

    def check(self, tenants: list[Tenant] | None = None) -> HealthReport:
        """Every check, for ``tenants`` (default: every tenant). A check that fails
        to run is itself a critical finding."""
        now = now_us()
        findings = [self.check_database(), self.check_signing_key()]
        findings.extend(self.check_disk())
        if findings[0].status == "critical":  # nothing more can be read
            return HealthReport(format_us(now), findings)
        try:
            if tenants is None:
                tenants = self.store.list_tenants()
            findings.append(self.check_outbox(now))
        except Exception as exc:
            findings.append(Finding("database", "critical", f"reading failed: {exc}"[:300]))
            return HealthReport(format_us(now), findings)
        for tenant in tenants:
            try:
                findings.append(self.check_chain(tenant))
                lag = self.check_alert_lag(tenant)
            except Exception as exc:
                findings.append(Finding("chain", "critical",
                                        f"the check failed: {exc}"[:300], tenant.name))
                continue
            if lag is not None:
                findings.append(lag)
        return HealthReport(format_us(now), findings)

    def readiness_for(self, principal: Principal | None) -> tuple[bool, dict[str, Any]]:
        """Readiness as a caller may see it: every check and its findings (the server's
        and the caller's tenant's) for one who may verify integrity, else only the
        status."""
        if principal is None or not principal.can("integrity.verify"):
            report = self.readiness()
            return report.ready, {"status": "ready" if report.ready else "not_ready"}
        report = self.check([principal.tenant]).for_tenant(principal.tenant.name)
        return report.ready, report.as_dict()
