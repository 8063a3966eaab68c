"""Moving a whole trail from one store to another (SQLite to PostgreSQL, or back).

The source must verify (chain and signed checkpoints) before anything is written.
Then every event is appended again, in seq order, with its stored canonical bytes:
sealed at the same seq after the same chain, it must get the same hash, and the copy
stops at the first event that does not. Tenants, their categories,
API keys (hashes only), staff accounts, annotations, saved searches and signed
checkpoints go across too; afterwards every copied tenant is verified in the target
against the checkpoints, with the trail's key."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from trailbook.errors import Conflict, ErrorDetail, IntegrityFailure
from trailbook.integrity.signing import Signer
from trailbook.integrity.verify import VerifyReport
from trailbook.model.normalize import TenantInfo, restore_prepared
from trailbook.service.integrity import verify_store
from trailbook.service.tenants import tenant_info
from trailbook.store.base import Store
from trailbook.store.records import ChainRow, Tenant

BATCH = 1000


@dataclass(frozen=True)
class CopiedTenant:
    name: str
    events: int
    checkpoints: int
    api_keys: int
    users: int
    report: VerifyReport
    annotations: int = 0
    saved_searches: int = 0


def events_to_copy(source: Store) -> int:
    """How many events the source holds, for a progress bar."""
    total = 0
    for tenant in source.list_tenants():
        head = source.chain_head(tenant.id)
        total += head.seq if head else 0
    return total


def copy_trail(
    source: Store, target: Store, signer: Signer,
    progress: Callable[[int], None] = lambda done: None,
) -> list[CopiedTenant]:
    """Copy every tenant of ``source`` into ``target`` (migrated here, after the
    source verified), which must hold none of the same names. ``progress`` is called
    with the number of events just copied."""
    tenants = source.list_tenants()
    purged = [t.name for t in tenants if source.purges.any(t.id)]
    if purged:
        # A copy re-seals each event in order; a chain with events retention removed
        # would need its purge records and kept hashes carried over too.
        raise Conflict("retention has purged events of these tenants, and 'trailbook copy' "
                       "moves only whole chains (move the database itself instead: "
                       "docs/deployment.md)", [ErrorDetail("tenant", n) for n in purged])
    # The source is verified whole first, so that a damaged trail leaves the target
    # untouched (instead of half copied up to the damage).
    for tenant in tenants:
        report = verify_store(source, signer, tenant)
        first = report.first_problem
        if first is not None:
            raise IntegrityFailure(
                f"the source trail of tenant {tenant.name!r} is not whole at seq "
                f"{first.seq}: {first.kind} ({first.detail}); run 'trailbook verify' on "
                "the source. Nothing was copied.",
                [ErrorDetail("seq", str(first.seq))],
            )
    target.migrate()
    clashes = [t.name for t in tenants if target.get_tenant(t.name) is not None]
    if clashes:
        raise Conflict(
            "the target already holds tenants of these names; copy into an empty database",
            [ErrorDetail("tenant", name) for name in clashes],
        )
    copied = [_copy_tenant(source, target, signer, tenant, progress) for tenant in tenants]
    target.refresh_statistics()  # a bulk load: the planner learns the new rows now
    return copied


def _copy_tenant(
    source: Store, target: Store, signer: Signer, tenant: Tenant,
    progress: Callable[[int], None],
) -> CopiedTenant:
    made = target.create_tenant(tenant.name, tenant.created_at)
    if tenant.categories:
        target.set_tenant_categories(made.id, tenant.categories)
        made = replace(made, categories=tenant.categories)
    keys = source.accounts.list_api_keys(tenant.id)
    for key in keys:
        new = target.accounts.add_api_key(made.id, key.name, key.prefix, key.key_hash, key.scopes,
                                 key.created_at, key.expires_at)
        if key.last_used_at:
            target.accounts.touch_api_key(new.id, key.last_used_at)
        if key.revoked_at:
            target.accounts.revoke_api_key(made.id, new.id, key.revoked_at)

    users = _copy_accounts(source, target, tenant.id, made.id)

    info = tenant_info(made, search_vector=target.keeps_search_vector)
    count = 0
    batch: list[ChainRow] = []
    for row in source.iter_chain(tenant.id):
        batch.append(row)
        if len(batch) == BATCH:
            count += _copy_batch(source, target, tenant, info, batch)
            progress(len(batch))
            batch = []
    if batch:
        count += _copy_batch(source, target, tenant, info, batch)
        progress(len(batch))
    annotations = _copy_annotations(source, target, tenant, made.id, users)
    saved = [target.saved_searches.restore(replace(s, tenant_id=made.id,
                                                   user_id=users[s.user_id]))
             for s in source.saved_searches.for_tenant(tenant.id)]

    checkpoints = source.list_checkpoints(tenant.id)
    for checkpoint in checkpoints:
        target.add_checkpoint(replace(checkpoint, tenant_id=made.id))
    report = verify_store(target, signer, made)
    return CopiedTenant(tenant.name, count, len(checkpoints), len(keys), len(users), report,
                        annotations, len(saved))


def _copy_accounts(source: Store, target: Store, old_id: int, new_id: int
                   ) -> dict[int, int]:
    """Custom roles and staff users (with their password hashes) go across; sessions
    do not: everyone signs in again on the new database. Answers the users' new ids
    by their old ones."""
    for role in source.accounts.list_roles(old_id):
        target.accounts.add_role(new_id, role.name, role.permissions, role.categories,
                                 role.created_at)
    new_ids: dict[int, int] = {}
    for user in source.accounts.list_users(old_id):
        made = target.accounts.add_user(new_id, user.email, user.name, user.role,
                                        user.password_hash, user.must_change_password,
                                        user.created_at)
        if user.disabled_at or user.last_login_at:
            target.accounts.update_user(made.id, {"disabled_at": user.disabled_at,
                                                  "last_login_at": user.last_login_at})
        new_ids[user.id] = made.id
    return new_ids


def _copy_annotations(source: Store, target: Store, tenant: Tenant, new_id: int,
                      users: dict[int, int]) -> int:
    """Comments and tags go across with their ids, authors and times. Each points at
    its event's position in the target, looked up by the event's id: positions are
    assigned per store (two tenants' events of one microsecond share one SQLite
    position space), so they need not be the same in both."""
    positions: dict[str, int] = {}
    count = 0
    after = ""
    while page := source.annotations.for_tenant(tenant.id, after):
        for annotation in page:
            pos = positions.get(annotation.event_id)
            if pos is None:
                if len(positions) > 100_000:
                    positions.clear()
                event = target.get_event(new_id, uuid.UUID(annotation.event_id).bytes)
                if event is None:
                    raise IntegrityFailure(
                        f"annotation {annotation.id} of tenant {tenant.name!r} points at "
                        f"event {annotation.event_id}, which the copy does not hold",
                        [ErrorDetail("annotation", annotation.id)])
                pos = positions[annotation.event_id] = event.pos
            target.annotations.add(replace(
                annotation, tenant_id=new_id, event_pos=pos,
                author_user_id=users.get(annotation.author_user_id,
                                         annotation.author_user_id)))
            count += 1
        after = page[-1].id
    return count


def _copy_batch(
    source: Store, target: Store, tenant: Tenant, info: TenantInfo, rows: list[ChainRow]
) -> int:
    keys = [r.idempotency_key for r in rows if r.idempotency_key is not None]
    digests = source.idempotency_digests(tenant.id, keys) if keys else {}
    prepared = []
    for row in rows:
        try:
            prepared.append(restore_prepared(
                row.doc, row.seq, info,
                digests.get(row.idempotency_key) if row.idempotency_key else None))
        except (ValueError, KeyError, TypeError) as exc:
            raise _broken(tenant, row.seq, f"its stored form cannot be read ({exc})") from None
    appended = target.append(info, prepared)
    for row, result in zip(rows, appended, strict=True):
        if result.duplicate or result.seq != row.seq or result.hash != row.hash:
            raise _broken(tenant, row.seq, "it does not seal to its stored hash")
    return len(appended)


def _broken(tenant: Tenant, seq: int, why: str) -> IntegrityFailure:
    """The source changed under the copy, after it verified."""
    return IntegrityFailure(
        f"the source trail of tenant {tenant.name!r} is not whole at seq {seq}: {why}; "
        "run 'trailbook verify' on the source. The target holds what came before it: "
        "empty it before copying again.",
        [ErrorDetail("seq", str(seq))],
    )
