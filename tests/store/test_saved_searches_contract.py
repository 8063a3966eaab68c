"""The saved searches contract (``store.saved_searches``), run against SQLite and
PostgreSQL alike: each call reaches only the named user's searches in the named
tenant, names are unique per user whatever their case, the per-user limit holds in the
insert itself, and searches may be changed and deleted (they are not history)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from trailbook.errors import Conflict
from trailbook.service.app import Trailbook
from trailbook.store.records import SavedSearch, Tenant, User
from trailbook.store.saved_searches import SavedSearchStore

CREATED = "2026-05-28T10:00:00.000000Z"
LATER = "2026-05-29T08:30:00.000000Z"
LIMIT = 200


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def saved(tb: Trailbook) -> SavedSearchStore:
    return tb.store.saved_searches


def user(tb: Trailbook, tenant: Tenant, email: str) -> User:
    return tb.store.accounts.add_user(tenant.id, email, email.split("@")[0], "viewer",
                                      "$argon2id$fake", False, CREATED)


@pytest.fixture
def ana(tb: Trailbook, tenant: Tenant) -> User:
    return user(tb, tenant, "ana@acme.example")


def add(saved: SavedSearchStore, owner: User, name: str, query: str = "result:failure",
        params: dict[str, list[str]] | None = None, **kw: Any) -> SavedSearch:
    made = saved.add(owner.tenant_id, owner.id, name, query, params or {},
                     kw.get("created_at", CREATED), kw.get("limit", LIMIT))
    assert made is not None
    return made


def test_added_search_reads_back_whole(saved: SavedSearchStore, ana: User) -> None:
    params = {"category": ["access", "device"], "last": ["24h"]}
    made = add(saved, ana, "Failed logins", 'action:user.login "bad password"', params)
    assert made == SavedSearch(made.id, ana.tenant_id, ana.id, "Failed logins",
                               'action:user.login "bad password"', params, CREATED, CREATED)
    assert saved.get(ana.tenant_id, ana.id, made.id) == made
    assert saved.for_user(ana.tenant_id, ana.id) == [made]
    assert saved.find(ana.tenant_id, ana.id, "FAILED logins") == made
    # Unicode text and an empty query keep as they are.
    other = add(saved, ana, "Отказы — склад №4", "", {"actor": ["Zoë O'Brien"]})
    assert saved.get(ana.tenant_id, ana.id, other.id) == other


def test_list_is_by_name_ignoring_case_on_both_backends(saved: SavedSearchStore,
                                                        ana: User) -> None:
    for name in ("beta", "Alpha", "alpha 2", "Gamma", "a-b", "a b"):
        add(saved, ana, name)
    assert [s.name for s in saved.for_user(ana.tenant_id, ana.id)] == [
        "a b", "a-b", "Alpha", "alpha 2", "beta", "Gamma"]


def test_a_name_is_unique_per_user_whatever_its_case(tb: Trailbook, saved: SavedSearchStore,
                                                     tenant: Tenant, ana: User) -> None:
    first = add(saved, ana, "Failed logins")
    for taken in ("failed logins", "FAILED LOGINS", "Failed logins"):
        with pytest.raises(Conflict) as refused:
            saved.add(ana.tenant_id, ana.id, taken, "", {}, CREATED, LIMIT)
        assert refused.value.details[0].field == "name"
    # Another user, in the same tenant or another, may use the name.
    ben = user(tb, tenant, "ben@acme.example")
    add(saved, ben, "Failed logins")
    cleo = user(tb, tb.tenants.create("other"), "cleo@other.example")
    add(saved, cleo, "failed logins")
    # Renaming onto a taken name is refused too; renaming to another case of one's
    # own name is not.
    second = add(saved, ana, "Reboots")
    with pytest.raises(Conflict):
        saved.update(replace(second, name="FAILED LOGINS", updated_at=LATER))
    assert saved.update(replace(first, name="FAILED LOGINS", updated_at=LATER))
    assert saved.get(ana.tenant_id, ana.id, first.id).name == "FAILED LOGINS"  # type: ignore[union-attr]
    assert [s.name for s in saved.for_user(ana.tenant_id, ana.id)] == ["FAILED LOGINS",
                                                                       "Reboots"]


def test_the_limit_is_kept_by_the_insert(saved: SavedSearchStore, ana: User) -> None:
    for i in range(3):
        add(saved, ana, f"search {i}", limit=3)
    assert saved.add(ana.tenant_id, ana.id, "one too many", "", {}, CREATED, 3) is None
    assert len(saved.for_user(ana.tenant_id, ana.id)) == 3
    assert saved.find(ana.tenant_id, ana.id, "one too many") is None
    # Deleting one makes room.
    first = saved.for_user(ana.tenant_id, ana.id)[0]
    assert saved.delete(ana.tenant_id, ana.id, first.id)
    add(saved, ana, "one too many", limit=3)


def test_update_changes_only_that_search(saved: SavedSearchStore, ana: User) -> None:
    kept = add(saved, ana, "Keep me")
    made = add(saved, ana, "Reboots", "action:miner.reboot", {"last": ["1h"]})
    changed = replace(made, name="Rack reboots", query="action:miner.reboot scope:rack-b4",
                      params={}, updated_at=LATER)
    assert saved.update(changed)
    assert saved.get(ana.tenant_id, ana.id, made.id) == changed
    assert saved.get(ana.tenant_id, ana.id, kept.id) == kept
    assert changed.created_at == CREATED


def test_no_user_reaches_another_users_searches(tb: Trailbook, saved: SavedSearchStore,
                                                tenant: Tenant, ana: User) -> None:
    mine = add(saved, ana, "Mine")
    ben = user(tb, tenant, "ben@acme.example")
    other = tb.tenants.create("other")
    cleo = user(tb, other, "cleo@other.example")
    for who, tenant_id in ((ben, tenant.id), (cleo, other.id), (ana, other.id)):
        assert saved.get(tenant_id, who.id, mine.id) is None
        assert saved.find(tenant_id, who.id, "Mine") is None
        assert saved.for_user(tenant_id, who.id) == []
        assert not saved.update(replace(mine, tenant_id=tenant_id, user_id=who.id,
                                        name="Stolen", updated_at=LATER))
        assert not saved.delete(tenant_id, who.id, mine.id)
    assert saved.get(ana.tenant_id, ana.id, mine.id) == mine
    assert saved.for_tenant(other.id) == []
    assert saved.for_tenant(tenant.id) == [mine]


def test_delete_removes_it_once(saved: SavedSearchStore, ana: User) -> None:
    made = add(saved, ana, "Short-lived")
    assert saved.delete(ana.tenant_id, ana.id, made.id)
    assert not saved.delete(ana.tenant_id, ana.id, made.id)
    assert saved.get(ana.tenant_id, ana.id, made.id) is None
    assert not saved.update(replace(made, updated_at=LATER))
    # The name is free again.
    add(saved, ana, "short-lived")


def test_restore_keeps_the_times_under_a_new_id(tb: Trailbook, saved: SavedSearchStore,
                                                ana: User) -> None:
    made = add(saved, ana, "Copied", "tag:vip", {"last": ["7d"]})
    other = tb.tenants.create("other")
    cleo = user(tb, other, "cleo@other.example")
    copy = saved.restore(replace(made, tenant_id=other.id, user_id=cleo.id,
                                 updated_at=LATER))
    assert copy.id != made.id
    assert saved.for_user(other.id, cleo.id) == [copy]
    assert (copy.name, copy.query, copy.params, copy.created_at, copy.updated_at) == (
        "Copied", "tag:vip", {"last": ["7d"]}, CREATED, LATER)
