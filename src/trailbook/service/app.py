"""The Trailbook service: settings, store, key and services, wired once."""

from __future__ import annotations

from trailbook.errors import StorageError
from trailbook.integrity.signing import Signer, load_or_create_signer
from trailbook.service.access.audit import SelfAudit
from trailbook.service.access.passwords import Passwords
from trailbook.service.access.reading import ReadService
from trailbook.service.access.roles import RoleService
from trailbook.service.access.sessions import SessionService
from trailbook.service.access.users import UserService
from trailbook.service.alerts import AlertAdmin, AlertDelivery, AlertEvaluator, AlertRunner
from trailbook.service.annotations import AnnotationService
from trailbook.service.checkpoints import CheckpointService
from trailbook.service.events import EventService
from trailbook.service.export import ExportService
from trailbook.service.export.jobs import ExportJobService
from trailbook.service.facets import FacetService
from trailbook.service.health import HealthService
from trailbook.service.integrity import IntegrityService
from trailbook.service.keys import ApiKeyService
from trailbook.service.proofs import ProofService
from trailbook.service.retention import RetentionRules
from trailbook.service.retention.run import RetentionRunner
from trailbook.service.saved_searches import SavedSearchService
from trailbook.service.server_logs import ServerLogService
from trailbook.service.tail import TailService
from trailbook.service.tenants import TenantService
from trailbook.settings import Settings
from trailbook.store import open_store
from trailbook.store.base import Store


class Trailbook:
    def __init__(
        self, settings: Settings, store: Store, signer: Signer, *, read_only: bool = False
    ) -> None:
        self.settings = settings
        self.read_only = read_only
        self._closed = False
        self.store = store
        self.signer = signer
        self.checkpoints = CheckpointService(store, signer, settings)
        self.events = EventService(store, settings, self.checkpoints)
        self.audit = SelfAudit(self.events)
        self.tenants = TenantService(store, self.audit)
        self.keys = ApiKeyService(store, self.audit)
        self.passwords = Passwords(time_cost=settings.password_hash_time_cost,
                                   memory_kib=settings.password_hash_memory_kib)
        self.roles = RoleService(store, self.tenants, self.audit)
        self.users = UserService(store, self.roles, self.passwords, self.audit)
        self.sessions = SessionService(store, settings, self.tenants, self.roles,
                                       self.passwords, self.audit)
        self.facets = FacetService(store)
        self.reads = ReadService(self.events, self.facets, self.audit)
        self.annotations = AnnotationService(store, self.reads, self.audit)
        self.exports = ExportService(self.events, self.reads, self.audit, self.checkpoints,
                                     signer, settings)
        self.export_jobs = ExportJobService(self.exports, store, settings)
        self.tail = TailService(store, self.reads)
        self.integrity = IntegrityService(store, signer, self.audit)
        self.health = HealthService(store, signer, settings)
        self.proofs = ProofService(store, self.reads)
        self.saved_searches = SavedSearchService(store)
        self.server_logs = ServerLogService(settings, self.tenants, self.audit)
        self.alerts = AlertAdmin(store, self.audit, settings)
        self.retention_rules = RetentionRules(store, self.audit)
        self.retention = RetentionRunner(store, signer, settings, self.retention_rules,
                                         self.checkpoints, self.audit)
        self.alert_evaluator = AlertEvaluator(store, settings)
        self.alert_delivery = AlertDelivery(store, self.audit, settings)
        self.alert_runner = AlertRunner(store, self.alert_evaluator, self.alert_delivery,
                                        settings)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Trailbook:
        """Open the configured store and the signing key. With ``migrate`` (the default)
        this is the first run's setup too: it creates the database, applies migrations
        and makes the key (beside the SQLite file). Without it, it only opens what
        exists: the read-only way in for verification."""
        store = open_store(settings, create=migrate)
        try:
            if migrate:
                store.migrate()
            else:
                store.require_schema()
            key_path = settings.resolved_signing_key_path
            # A key is made only for a trail that has signed nothing yet: a missing key
            # for a signed trail is a lost key, to be restored, not replaced.
            signed = store.has_checkpoints()
            try:
                signer = load_or_create_signer(key_path, create=migrate and not signed)
            except FileNotFoundError:
                if signed:
                    raise StorageError(
                        f"no signing key at {key_path}, but this trail has signed "
                        "checkpoints: restore the key file (or point "
                        "TRAILBOOK_SIGNING_KEY_PATH at it); Trailbook will not replace it "
                        "with a new one"
                    ) from None
                raise StorageError(
                    f"no signing key at {key_path} (a command that writes, such as "
                    "'trailbook init', makes one for a new trail)"
                ) from None
            except ValueError as exc:  # not a PEM file, or not an Ed25519 key
                raise StorageError(f"cannot use the signing key at {key_path}: {exc}") from None
        except BaseException:
            store.close()
            raise
        return cls(settings, store, signer, read_only=not migrate)

    def close(self) -> None:
        """Stop background exports, let go of the alerts lease, checkpoint what moved
        (unless opened read-only), then close the store. A second call does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self.export_jobs.close()
            self.exports.close()
            if not self.read_only:
                self.alert_runner.release()
                self.checkpoints.checkpoint_pending()
        finally:
            self.store.close()

    def __enter__(self) -> Trailbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
