"""The accounts contract: staff users, custom roles, sessions and failed sign-ins
(``store.accounts``), run against SQLite and PostgreSQL alike. One SQL text serves both
backends through their ``SqlRunner`` adapters, so every behaviour is checked on each."""

from __future__ import annotations

from dataclasses import replace
from hashlib import sha256

import pytest

from trailbook.errors import Conflict
from trailbook.service.app import Trailbook
from trailbook.store.accounts import USER_FIELDS, AccountStore
from trailbook.store.records import CustomRole, Session, Tenant, User

T0 = 1_780_000_000_000_000  # 2026-05-28, microseconds
MINUTE = 60_000_000
CREATED = "2026-05-28T10:00:00.000000Z"
IDLE = 30 * MINUTE


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def accounts(tb: Trailbook) -> AccountStore:
    return tb.store.accounts


@pytest.fixture
def other(tb: Trailbook) -> Tenant:
    return tb.tenants.create("other")


def user(accounts: AccountStore, tenant: Tenant, email: str, role: str = "viewer",
         must_change: bool = False) -> User:
    return accounts.add_user(tenant.id, email, email.split("@")[0].title(), role,
                             f"$argon2id$fake${email}", must_change, CREATED)


def session(tenant: Tenant, owner: User, sid: str, *, created: int = T0,
            last_seen: int | None = None, expires: int | None = None,
            ip: str | None = "203.0.113.7") -> Session:
    return Session(sid, sha256(sid.encode()).digest(), tenant.id, owner.id, f"csrf-{sid}",
                   created, created if last_seen is None else last_seen,
                   created + 12 * 60 * MINUTE if expires is None else expires,
                   ip, "pytest/1.0")


# -- users ----------------------------------------------------------------------------


def test_added_user_reads_back_by_id_email_and_tenant(accounts: AccountStore,
                                                      tenant: Tenant) -> None:
    made = accounts.add_user(tenant.id, "ana@example.com", "Ana", "analyst",
                             "$argon2id$hash", True, CREATED)
    assert made == User(made.id, tenant.id, "ana@example.com", "Ana", "analyst",
                        "$argon2id$hash", True, CREATED, None, None)
    assert accounts.get_user(made.id) == made
    assert accounts.find_user("ana@example.com") == made
    assert accounts.list_users(tenant.id) == [made]


def test_missing_users_are_none_and_lists_stay_in_their_tenant(
        accounts: AccountStore, tenant: Tenant, other: Tenant) -> None:
    assert accounts.get_user(999_999) is None
    assert accounts.find_user("nobody@example.com") is None
    assert accounts.list_users(tenant.id) == []
    first = user(accounts, tenant, "a@example.com")
    theirs = user(accounts, other, "b@example.com")
    second = user(accounts, tenant, "c@example.com", must_change=True)
    assert accounts.list_users(tenant.id) == [first, second]  # in id order
    assert accounts.list_users(other.id) == [theirs]
    assert accounts.get_user(second.id) is not None
    assert accounts.get_user(second.id).must_change_password is True  # type: ignore[union-attr]
    assert accounts.get_user(first.id).must_change_password is False  # type: ignore[union-attr]


def test_an_email_belongs_to_one_account_across_tenants(
        accounts: AccountStore, tenant: Tenant, other: Tenant) -> None:
    user(accounts, tenant, "ana@example.com")
    for where in (tenant, other):
        with pytest.raises(Conflict) as refused:
            user(accounts, where, "ana@example.com")
        assert [d.field for d in refused.value.details] == ["email"]
    assert [u.email for u in accounts.list_users(tenant.id)] == ["ana@example.com"]
    assert accounts.list_users(other.id) == []


def test_update_user_changes_only_the_given_fields(accounts: AccountStore,
                                                   tenant: Tenant) -> None:
    made = user(accounts, tenant, "ana@example.com", must_change=True)
    bystander = user(accounts, tenant, "bob@example.com")
    accounts.update_user(made.id, {"role": "auditor", "must_change": False,
                                   "last_login_at": "2026-05-28T11:00:00.000000Z"})
    after = accounts.get_user(made.id)
    assert after is not None
    assert after.role == "auditor" and not after.must_change_password
    assert after.last_login_at == "2026-05-28T11:00:00.000000Z"
    assert (after.email, after.name, after.password_hash, after.created_at,
            after.disabled_at) == (made.email, made.name, made.password_hash,
                                   made.created_at, None)
    assert accounts.get_user(bystander.id) == bystander

    accounts.update_user(made.id, {"disabled_at": "2026-05-28T12:00:00.000000Z"})
    assert accounts.get_user(made.id).disabled_at == "2026-05-28T12:00:00.000000Z"  # type: ignore[union-attr]
    accounts.update_user(made.id, {"disabled_at": None})
    assert accounts.get_user(made.id) == after


@pytest.mark.parametrize("changes", [{"email": "x@example.com"}, {"tenant_id": 2},
                                     {"id": 5}, {"name": "ok", "created_at": "now"}, {}])
def test_update_user_refuses_unknown_fields(accounts: AccountStore, tenant: Tenant,
                                            changes: dict[str, object]) -> None:
    made = user(accounts, tenant, "ana@example.com")
    with pytest.raises(ValueError):
        accounts.update_user(made.id, changes)
    assert accounts.get_user(made.id) == made  # nothing written, not even "name"


def test_every_updatable_field_is_settable(accounts: AccountStore, tenant: Tenant) -> None:
    made = user(accounts, tenant, "ana@example.com")
    values: dict[str, object] = {
        "name": "Ana B", "role": "admin", "password_hash": "$argon2id$new",
        "must_change": True, "disabled_at": "2026-06-01T00:00:00.000000Z",
        "last_login_at": "2026-05-30T00:00:00.000000Z"}
    assert set(values) == set(USER_FIELDS)
    accounts.update_user(made.id, values)
    assert accounts.get_user(made.id) == User(
        made.id, tenant.id, made.email, "Ana B", "admin", "$argon2id$new", True, CREATED,
        "2026-06-01T00:00:00.000000Z", "2026-05-30T00:00:00.000000Z")


# -- roles ----------------------------------------------------------------------------


def test_roles_add_get_list_and_update(accounts: AccountStore, tenant: Tenant) -> None:
    ops = accounts.add_role(tenant.id, "ops", ("events.read", "events.annotate"),
                            ("device", "task"), CREATED)
    assert ops == CustomRole(ops.id, tenant.id, "ops", ("events.read", "events.annotate"),
                             ("device", "task"), CREATED)
    assert accounts.get_role(tenant.id, "ops") == ops
    assert accounts.get_role(tenant.id, "nope") is None
    everything = accounts.add_role(tenant.id, "all-readers", ("events.read",), ("*",),
                                   CREATED)
    none = accounts.add_role(tenant.id, "bare", (), (), CREATED)
    assert none.permissions == () and none.categories == ()
    # Listed by name.
    assert accounts.list_roles(tenant.id) == [everything, none, ops]
    assert accounts.get_role(tenant.id, "bare") == none

    accounts.update_role(ops.id, ("events.read", "personal_data"), ("*",))
    assert accounts.get_role(tenant.id, "ops") == CustomRole(
        ops.id, tenant.id, "ops", ("events.read", "personal_data"), ("*",), CREATED)
    assert accounts.get_role(tenant.id, "all-readers") == everything


def test_role_names_are_unique_per_tenant(accounts: AccountStore, tenant: Tenant,
                                          other: Tenant) -> None:
    mine = accounts.add_role(tenant.id, "ops", ("events.read",), ("*",), CREATED)
    with pytest.raises(Conflict) as refused:
        accounts.add_role(tenant.id, "ops", ("logs.read",), (), CREATED)
    assert [d.field for d in refused.value.details] == ["name"]
    theirs = accounts.add_role(other.id, "ops", ("logs.read",), (), CREATED)
    assert theirs.id != mine.id
    assert accounts.get_role(tenant.id, "ops") == mine
    assert accounts.get_role(other.id, "ops") == theirs
    assert accounts.list_roles(other.id) == [theirs]


def test_a_held_role_cannot_be_deleted(accounts: AccountStore, tenant: Tenant,
                                       other: Tenant) -> None:
    ops = accounts.add_role(tenant.id, "ops", ("events.read",), ("*",), CREATED)
    theirs = accounts.add_role(other.id, "ops", ("events.read",), ("*",), CREATED)
    holder = user(accounts, tenant, "ana@example.com", role="ops")
    assert accounts.delete_role(ops.id) is False
    assert accounts.get_role(tenant.id, "ops") == ops
    # Another tenant's role of the same name is not held by this tenant's user.
    assert accounts.delete_role(theirs.id) is True
    assert accounts.get_role(other.id, "ops") is None

    accounts.update_user(holder.id, {"role": "viewer"})
    assert accounts.delete_role(ops.id) is True
    assert accounts.get_role(tenant.id, "ops") is None
    assert accounts.delete_role(ops.id) is False  # gone already


# -- sessions -------------------------------------------------------------------------


def test_sessions_are_found_by_token_hash_and_by_tenant_and_id(
        accounts: AccountStore, tenant: Tenant, other: Tenant) -> None:
    ana = user(accounts, tenant, "ana@example.com")
    s = session(tenant, ana, "s1")
    accounts.add_session(s)
    assert accounts.find_session(s.token_hash) == s
    assert accounts.find_session(sha256(b"nope").digest()) is None
    assert accounts.get_session(tenant.id, "s1") == s
    assert accounts.get_session(other.id, "s1") is None  # another tenant's id
    assert accounts.get_session(tenant.id, "s2") is None
    bare = replace(session(tenant, ana, "s2", ip=None), user_agent=None)
    accounts.add_session(bare)
    assert accounts.get_session(tenant.id, "s2") == bare
    assert bare.ip is None and bare.user_agent is None


def test_live_sessions_leave_out_ended_ones(accounts: AccountStore, tenant: Tenant,
                                            other: Tenant) -> None:
    ana = user(accounts, tenant, "ana@example.com")
    bob = user(accounts, tenant, "bob@example.com")
    eve = user(accounts, other, "eve@example.com")
    now = T0 + 60 * MINUTE
    live_old = session(tenant, ana, "live-old", created=T0, last_seen=now - MINUTE)
    live_new = session(tenant, ana, "live-new", created=T0 + MINUTE, last_seen=now)
    bobs = session(tenant, bob, "bobs", created=T0 + 2 * MINUTE, last_seen=now)
    for s in (
        live_old, live_new, bobs,
        session(tenant, ana, "revoked", created=T0 + 3 * MINUTE, last_seen=now),
        session(tenant, ana, "expired", created=T0 - 2 * MINUTE, last_seen=now, expires=now),
        session(tenant, ana, "idle", created=T0 - MINUTE, last_seen=now - IDLE),
        session(other, eve, "elsewhere", created=T0, last_seen=now),
    ):
        accounts.add_session(s)
    assert accounts.revoke_session("revoked", now, "test") is True

    assert accounts.live_sessions(tenant.id, None, now, IDLE) == [bobs, live_new, live_old]
    assert accounts.live_sessions(tenant.id, ana.id, now, IDLE) == [live_new, live_old]
    assert accounts.live_sessions(tenant.id, bob.id, now, IDLE) == [bobs]
    assert accounts.live_sessions(tenant.id, eve.id, now, IDLE) == []
    assert [s.id for s in accounts.live_sessions(other.id, None, now, IDLE)] == ["elsewhere"]
    # A moment earlier, the idle one and the expired one were still live (newest first).
    assert [s.id for s in accounts.live_sessions(tenant.id, ana.id, now - 1, IDLE)] == [
        "live-new", "live-old", "idle", "expired"]
    later = now + IDLE - MINUTE
    assert [s.id for s in accounts.live_sessions(tenant.id, ana.id, later, IDLE)] == [
        "live-new"]


def test_touch_session_keeps_it_alive(accounts: AccountStore, tenant: Tenant) -> None:
    ana = user(accounts, tenant, "ana@example.com")
    s = session(tenant, ana, "s1")
    accounts.add_session(s)
    later = T0 + IDLE + MINUTE
    assert accounts.live_sessions(tenant.id, ana.id, later, IDLE) == []
    accounts.touch_session("s1", T0 + IDLE)
    touched = accounts.get_session(tenant.id, "s1")
    assert touched is not None and touched.last_seen_us == T0 + IDLE
    assert (touched.created_us, touched.expires_us) == (s.created_us, s.expires_us)
    assert accounts.live_sessions(tenant.id, ana.id, later, IDLE) == [touched]


def test_a_session_is_revoked_once(accounts: AccountStore, tenant: Tenant) -> None:
    ana = user(accounts, tenant, "ana@example.com")
    accounts.add_session(session(tenant, ana, "s1"))
    accounts.add_session(session(tenant, ana, "s2"))
    assert accounts.revoke_session("s1", T0 + 5, "sign-out") is True
    assert accounts.revoke_session("s1", T0 + 9, "again") is False
    ended = accounts.get_session(tenant.id, "s1")
    assert ended is not None and (ended.revoked_us, ended.revoked_by) == (T0 + 5, "sign-out")
    assert accounts.get_session(tenant.id, "s2").revoked_us is None  # type: ignore[union-attr]
    assert accounts.revoke_session("no-such", T0, "x") is False


def test_revoke_user_sessions_keeps_the_one_named(accounts: AccountStore,
                                                  tenant: Tenant) -> None:
    ana = user(accounts, tenant, "ana@example.com")
    bob = user(accounts, tenant, "bob@example.com")
    for sid in ("a1", "a2", "a3", "gone"):
        accounts.add_session(session(tenant, ana, sid))
    accounts.add_session(session(tenant, bob, "b1"))
    accounts.revoke_session("gone", T0 + 1, "sign-out")

    assert accounts.revoke_user_sessions(ana.id, T0 + 2, "password changed", keep="a2") == 2
    by = {sid: accounts.get_session(tenant.id, sid) for sid in ("a1", "a2", "a3", "gone", "b1")}
    assert {sid: (s.revoked_us, s.revoked_by) for sid, s in by.items() if s} == {
        "a1": (T0 + 2, "password changed"), "a2": (None, None),
        "a3": (T0 + 2, "password changed"), "gone": (T0 + 1, "sign-out"),
        "b1": (None, None)}
    # Without ``keep``, every live one goes; a second call finds none.
    assert accounts.revoke_user_sessions(ana.id, T0 + 3, "disabled") == 1
    assert accounts.revoke_user_sessions(ana.id, T0 + 4, "disabled") == 0
    assert accounts.get_session(tenant.id, "b1").revoked_us is None  # type: ignore[union-attr]


# -- failed sign-ins ------------------------------------------------------------------


def test_account_failures_skip_cleared_and_older_ones(accounts: AccountStore) -> None:
    accounts.add_login_failure("ana@example.com", "203.0.113.7", T0)
    accounts.add_login_failure("ana@example.com", "203.0.113.7", T0 + 1)
    accounts.add_login_failure("bob@example.com", "203.0.113.7", T0 + 2)
    accounts.clear_account_failures("ana@example.com")
    accounts.add_login_failure("ana@example.com", None, T0 + 10)
    accounts.add_login_failure("ana@example.com", "198.51.100.1", T0 + 5)
    accounts.add_login_failure("ana@example.com", "198.51.100.1", T0 + 20)

    assert accounts.account_failures("ana@example.com", T0) == [T0 + 5, T0 + 10, T0 + 20]
    assert accounts.account_failures("ana@example.com", T0 + 10) == [T0 + 10, T0 + 20]
    assert accounts.account_failures("ana@example.com", T0 + 21) == []
    assert accounts.account_failures("bob@example.com", 0) == [T0 + 2]
    assert accounts.account_failures("nobody@example.com", 0) == []

    accounts.clear_account_failures("ana@example.com")
    assert accounts.account_failures("ana@example.com", 0) == []
    assert accounts.account_failures("bob@example.com", 0) == [T0 + 2]


def test_address_failures_count_every_email_cleared_or_not(accounts: AccountStore) -> None:
    for i, email in enumerate(["a@example.com", "b@example.com", "c@example.com"]):
        accounts.add_login_failure(email, "203.0.113.7", T0 + i)
    accounts.add_login_failure("a@example.com", "2001:db8::1", T0 + 3)
    accounts.add_login_failure("a@example.com", None, T0 + 4)
    accounts.clear_account_failures("a@example.com")

    assert accounts.address_failures("203.0.113.7", 0) == [T0, T0 + 1, T0 + 2]
    assert accounts.address_failures("203.0.113.7", T0 + 1) == [T0 + 1, T0 + 2]
    assert accounts.address_failures("2001:db8::1", 0) == [T0 + 3]
    assert accounts.address_failures("198.51.100.1", 0) == []


def test_forget_login_failures_deletes_old_ones(accounts: AccountStore) -> None:
    for at in (T0, T0 + 1, T0 + 2, T0 + 3):
        accounts.add_login_failure("ana@example.com", "203.0.113.7", at)
    assert accounts.forget_login_failures(T0) == 0
    assert accounts.forget_login_failures(T0 + 2) == 2
    assert accounts.account_failures("ana@example.com", 0) == [T0 + 2, T0 + 3]
    assert accounts.address_failures("203.0.113.7", 0) == [T0 + 2, T0 + 3]
    assert accounts.forget_login_failures(T0 + 2) == 0
    assert accounts.forget_login_failures(T0 + 100) == 2
    assert accounts.account_failures("ana@example.com", 0) == []
