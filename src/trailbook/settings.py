"""The one settings object: built once from TRAILBOOK_* variables (and the CLI's
flags), then passed to everything that needs it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("./data")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRAILBOOK_",
        env_file=None,
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Folder for the default SQLite file and the signing key.",
    )
    database_url: str | None = Field(
        default=None,
        description="sqlite:///path/to/file.db (default: <data_dir>/trailbook.db) or "
        "postgresql://user@host:5432/database.",
    )
    signing_key_path: Path | None = Field(
        default=None, description="Ed25519 private key (PEM); default <data_dir>/signing-key.pem."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=1, le=65535)

    # Checkpoints: every N events or T seconds per tenant, and on shutdown.
    checkpoint_every_events: int = Field(default=10_000, ge=1)
    checkpoint_every_seconds: float = Field(default=60.0, gt=0)

    # Ingest limits.
    max_batch_events: int = Field(default=1000, ge=1, le=10_000)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Worker processes that validate bulk ingest (files, copies); 0 validates in the
    # writing process. Default: one per CPU core, at most 8 (past that the one writer
    # is the limit).
    ingest_processes: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 8), ge=0, le=64
    )

    # PostgreSQL: connections per process (API workers each have their own pool).
    postgres_pool_size: int = Field(default=8, ge=2, le=100)

    # Staff sign-in. Sessions end after this long without a request, and after
    # session_absolute_seconds whatever happens.
    session_idle_seconds: float = Field(default=30 * 60, gt=0)
    session_absolute_seconds: float = Field(default=12 * 3600, gt=0)
    # The first pause after repeated failed sign-ins; it doubles with each further one.
    login_lock_seconds: float = Field(default=60.0, gt=0)
    # argon2id cost (RFC 9106's second recommended option: 3 passes over 64 MiB).
    password_hash_time_cost: int = Field(default=3, ge=1, le=20)
    password_hash_memory_kib: int = Field(default=64 * 1024, ge=8, le=4 * 1024 * 1024)
    # The first owner, made when a tenant is set up: the password is generated and
    # printed once unless given here.
    owner_email: str = "owner@example.com"
    owner_password: str | None = Field(default=None, repr=False)

    # Live tail (GET /api/v1/events/stream): how often an open stream looks for new
    # events, sends a keep-alive comment when idle, and re-checks its caller's session
    # or API key (the stream ends when it is no longer valid).
    tail_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    tail_keepalive_seconds: float = Field(default=15.0, gt=0)
    tail_recheck_seconds: float = Field(default=30.0, gt=0)

    # Exports (GET /api/v1/exports): a signed manifest is written beside each one, kept
    # in this folder (default: beside the signing key) for export_manifest_ttl_seconds.
    # A manifest lists the chain hashes from the first exported event up to a signed
    # checkpoint, at most export_manifest_max_chain of them (64 bytes of hex each);
    # past that it leaves them out and says so.
    export_manifest_dir: Path | None = None
    export_manifest_ttl_seconds: float = Field(default=3600.0, gt=0)
    export_manifest_max_chain: int = Field(default=2_000_000, ge=1)
    # Worker processes that format the rows of large CSV and XLSX exports beside the
    # thread that reads them (0: the exporting thread formats every row itself).
    export_page_workers: int = Field(default=1, ge=0, le=8)
    # An export matching more than export_background_rows events (or whose count is not
    # known within a few seconds) runs as a background job: the server writes the file
    # to export_job_dir (default: beside the signing key) while the caller follows its
    # progress, and keeps it export_job_ttl_seconds for download. export_job_workers
    # jobs run at a time; more wait their turn.
    export_background_rows: int = Field(default=100_000, ge=0)
    export_job_dir: Path | None = None
    export_job_ttl_seconds: float = Field(default=24 * 3600.0, gt=0)
    export_job_workers: int = Field(default=1, ge=1, le=16)

    # Alerts: links in messages point at console_url (the console's public base URL,
    # e.g. https://audit.example.com; default http://<host>:<port>). Base URLs of the
    # services channels call are settings too, so tests and self-hosted gateways can
    # point elsewhere. A delivery that fails is retried with exponential backoff (base,
    # doubling, capped) up to alert_max_attempts attempts, then kept as a dead letter.
    # The evaluator looks for new events every alert_poll_seconds; a rule's quiet
    # period after an alert defaults to alert_default_quiet_seconds.
    console_url: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    alert_http_timeout_seconds: float = Field(default=10.0, gt=0)
    alert_smtp_timeout_seconds: float = Field(default=15.0, gt=0)
    alert_max_attempts: int = Field(default=10, ge=1)
    alert_backoff_base_seconds: float = Field(default=5.0, gt=0)
    alert_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    alert_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    alert_default_quiet_seconds: int = Field(default=300, ge=0)

    # Scheduled tasks in the server (see service/scheduler.py). Shared tasks run once
    # per period across every process serving the database. The health check re-links
    # the newest health_chain_events events of each tenant up to its head; free space
    # under health_disk_min_free_mb is critical; an alerts evaluator more than
    # health_lag_events behind a head, or an alert delivery due for longer than
    # health_outbox_lag_seconds, is a warning.
    health_check_seconds: float = Field(default=300.0, gt=0)
    health_chain_events: int = Field(default=1000, ge=1)
    health_disk_min_free_mb: int = Field(default=512, ge=0)
    health_lag_events: int = Field(default=10_000, ge=1)
    health_outbox_lag_seconds: float = Field(default=900.0, gt=0)
    task_partitions_seconds: float = Field(default=6 * 3600.0, gt=0)
    task_housekeeping_seconds: float = Field(default=6 * 3600.0, gt=0)

    # Retention (docs/retention.md): a run every task_retention_seconds purges what the
    # tenants' policies let go, in purges of at most retention_batch_events events,
    # each first archived (gzip NDJSON and a signed manifest) under
    # retention_archive_dir/<tenant> (default: "archives" beside the signing key).
    task_retention_seconds: float = Field(default=86_400.0, gt=0)
    retention_batch_events: int = Field(default=50_000, ge=1, le=1_000_000)
    retention_archive_dir: Path | None = None
    # Runs of one tenant take turns through a lease, renewed as a run goes; a run that
    # was killed holds it for at most this long.
    retention_lease_seconds: float = Field(default=60.0, gt=0)

    # Trailbook's own server logs (docs/deployment.md): application.log, access.log,
    # ingest.log, notify.log, scheduler.log, database.log and auth.log in logs_dir
    # (default: "logs" beside the signing key), at log_level (ERROR, WARN, INFO, DEBUG or
    # TRACE). A file past log_max_bytes is rotated into <area>.<date>.<n>.log.gz, and
    # each area keeps at most log_keep of those. Levels and rotation can be changed
    # while the server runs; such changes are kept in <logs_dir>/log-settings.json and
    # win over these settings.
    logs_dir: Path | None = None
    log_level: Literal["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] = "INFO"
    log_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    log_keep: int = Field(default=10, ge=0, le=10_000)

    # SQLite tuning.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "FULL"
    sqlite_cache_mb: int = Field(default=64, ge=2)

    @field_validator("console_url")
    @classmethod
    def _check_console_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return cls._check_base_url(value)

    @field_validator("telegram_api_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        """An http(s) base URL, kept without a trailing slash."""
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trailbook.db'}"

    @property
    def resolved_signing_key_path(self) -> Path:
        if self.signing_key_path is not None:
            return self.signing_key_path
        url = self.resolved_database_url
        if url.startswith("sqlite:///"):
            # The key is kept beside the database file.
            return Path(url.removeprefix("sqlite:///")).parent / "signing-key.pem"
        return self.data_dir / "signing-key.pem"

    @property
    def resolved_export_manifest_dir(self) -> Path:
        if self.export_manifest_dir is not None:
            return self.export_manifest_dir
        return self.resolved_signing_key_path.parent / "export-manifests"

    @property
    def resolved_export_job_dir(self) -> Path:
        if self.export_job_dir is not None:
            return self.export_job_dir
        return self.resolved_signing_key_path.parent / "export-jobs"

    @property
    def resolved_retention_archive_dir(self) -> Path:
        if self.retention_archive_dir is not None:
            return self.retention_archive_dir
        return self.resolved_signing_key_path.parent / "archives"

    @property
    def resolved_logs_dir(self) -> Path:
        if self.logs_dir is not None:
            return self.logs_dir
        return self.resolved_signing_key_path.parent / "logs"

    @property
    def resolved_console_url(self) -> str:
        """The console's base URL for links in alert messages, without a trailing /."""
        if self.console_url:
            return self.console_url
        return f"http://{self.host}:{self.port}"


def settings_as_environment(settings: Settings) -> dict[str, str]:
    """The settings as TRAILBOOK_* variables, to hand them to worker processes."""
    out = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            out[f"TRAILBOOK_{name.upper()}"] = str(value)
    return out


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with explicit overrides (e.g. CLI flags)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
