"""The Trailbook service: settings, store, key and services, wired once."""

from __future__ import annotations

from trailbook.integrity.signing import Signer, load_or_create_signer
from trailbook.service.checkpoints import CheckpointService
from trailbook.service.events import EventService
from trailbook.service.integrity import IntegrityService
from trailbook.service.keys import ApiKeyService
from trailbook.service.tenants import TenantService
from trailbook.settings import Settings
from trailbook.store import open_store
from trailbook.store.base import Store


class Trailbook:
    def __init__(self, settings: Settings, store: Store, signer: Signer) -> None:
        self.settings = settings
        self.store = store
        self.signer = signer
        self.tenants = TenantService(store)
        self.keys = ApiKeyService(store)
        self.checkpoints = CheckpointService(store, signer, settings)
        self.events = EventService(store, settings, self.checkpoints)
        self.integrity = IntegrityService(store, signer)

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Trailbook:
        """Open the configured store (applying migrations unless told not to) and the
        signing key (made on first run, beside the SQLite file)."""
        store = open_store(settings)
        try:
            if migrate:
                store.migrate()
            else:
                store.require_schema()
            signer = load_or_create_signer(settings.resolved_signing_key_path)
        except BaseException:
            store.close()
            raise
        return cls(settings, store, signer)

    def close(self) -> None:
        """Checkpoint what moved, then close the store."""
        try:
            self.checkpoints.checkpoint_pending()
        finally:
            self.store.close()

    def __enter__(self) -> Trailbook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
