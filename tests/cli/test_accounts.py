"""`trailbook user` and `trailbook role` as an operator meets them: a real process on a
data folder made by `trailbook init`, exit codes, what is printed, and what each change
leaves behind: the account (checked by signing in, in-process) and the `admin` event in
the tenant's trail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from trailbook.errors import NotFound, Unauthenticated
from trailbook.query.filters import EventFilter
from trailbook.service.access.audit import CLI, REDACTED
from trailbook.service.access.permissions import BUILTIN_ROLES, PERMISSIONS
from trailbook.service.app import Trailbook
from trailbook.settings import load_settings

OWNER = "owner@example.com"
PASSWORD = "a long staff password 1"
# argon2 at its cheapest, in the processes and in-process alike.
CHEAP = {"TRAILBOOK_PASSWORD_HASH_TIME_COST": "1", "TRAILBOOK_PASSWORD_HASH_MEMORY_KIB": "64"}


def run(data_dir: Path, *args: str, stdin: str | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir), **CHEAP, "COLUMNS": "250"}
    for name in ("TRAILBOOK_DATABASE_URL", "TRAILBOOK_OWNER_EMAIL",
                 "TRAILBOOK_OWNER_PASSWORD"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def ok(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    result = run(data_dir, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    """The one-line error of a command that must exit 1."""
    result = run(data_dir, *args, stdin=stdin)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def flat(text: str) -> str:
    return " ".join(text.split())


def printed_password(stdout: str) -> str:
    """The secret on the line after the one announcing it."""
    lines = stdout.splitlines()
    for i, line in enumerate(lines):
        if "one-time password" in line.lower():
            rest = [x.strip() for x in lines[i + 1:] if x.strip()]
            # the announcement may wrap; the secret is the last line printed
            return rest[-1]
    raise AssertionError(f"no one-time password in {stdout!r}")


def open_tb(data_dir: Path) -> Trailbook:
    return Trailbook.open(load_settings(data_dir=data_dir, password_hash_time_cost=1,
                                        password_hash_memory_kib=64))


def can_sign_in(data_dir: Path, email: str, password: str) -> bool:
    with open_tb(data_dir) as tb:
        try:
            tb.sessions.login(email, password, CLI)
        except Unauthenticated:
            return False
        return True


def admin_events(data_dir: Path, action: str | None = None) -> list[dict[str, Any]]:
    """The tenant's `admin` events, oldest first (optionally of one action)."""
    flt = EventFilter(categories=("admin",), actions=(action,) if action else ())
    with open_tb(data_dir) as tb:
        page = tb.events.search(tb.tenants.get("acme"), flt, limit=500)
    assert page.next_cursor is None
    return [orjson.loads(e.doc) for e in reversed(page.events)]


def the_event(data_dir: Path, action: str, target: str) -> dict[str, Any]:
    """The one event of ``action`` on ``target`` (a user's email or a role's name), made
    by the command line."""
    found = [e for e in admin_events(data_dir, action)
             if target in (e["targets"][0].get("name"), e["targets"][0]["id"])]
    assert len(found) == 1, found
    event = found[0]
    assert event["category"] == "admin"
    assert event["actor"]["type"] == "system"
    assert event["actor"]["id"] == "cli"
    assert event["result"] == "success"
    return event


def changes(event: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["field"]: (c.get("old"), c.get("new")) for c in event["changes"]}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data folder from `trailbook init`: tenant acme and its first owner."""
    data = tmp_path / "data"
    out = ok(data, "init", "--tenant", "acme")
    assert f"Owner of tenant acme: {OWNER}" in flat(out)
    return data


def add(data_dir: Path, email: str, role: str = "auditor") -> str:
    """Add a user through the CLI with PASSWORD."""
    ok(data_dir, "user", "add", email, "--role", role, "--password-stdin",
       stdin=PASSWORD + "\n")
    return email


# -- user add -------------------------------------------------------------------------


def test_add_prints_a_one_time_password_that_must_be_changed(home: Path) -> None:
    out = ok(home, "user", "add", "Ann@Example.com", "--role", "auditor",
             "--name", "Ann Lee")
    assert "added user ann@example.com (Ann Lee) with role auditor" in flat(out)
    assert "must be changed at first sign-in" in flat(out)
    password = printed_password(out)
    assert len(password) >= 16

    assert can_sign_in(home, "ann@example.com", password)
    with open_tb(home) as tb:
        user = tb.users.by_email(tb.tenants.get("acme"), "ann@example.com")
        assert (user.name, user.role, user.must_change_password) == (
            "Ann Lee", "auditor", True)
    event = the_event(home, "user.create", "ann@example.com")
    assert changes(event) == {"email": (None, "ann@example.com"), "name": (None, "Ann Lee"),
                              "role": (None, "auditor"), "disabled": (None, False),
                              "password": (None, REDACTED)}
    assert password not in orjson.dumps(event).decode()


def test_add_with_password_from_stdin(home: Path) -> None:
    out = ok(home, "user", "add", "bob@example.com", "--role", "viewer", "--password-stdin",
             stdin=PASSWORD + "\n")
    assert "added user bob@example.com" in flat(out)
    assert "one-time" not in out.lower()
    assert can_sign_in(home, "bob@example.com", PASSWORD)
    with open_tb(home) as tb:
        user = tb.users.by_email(tb.tenants.get("acme"), "bob@example.com")
        assert (user.name, user.must_change_password) == ("bob@example.com", False)
    the_event(home, "user.create", "bob@example.com")


def test_a_too_short_password_is_refused_and_nothing_stored(home: Path) -> None:
    error = refused(home, "user", "add", "bob@example.com", "--role", "viewer",
                    "--password-stdin", stdin="short\n")
    assert "password" in error and "at least 12 characters" in error
    with open_tb(home) as tb, pytest.raises(NotFound):
        tb.users.by_email(tb.tenants.get("acme"), "bob@example.com")
    assert [e["targets"][0]["name"] for e in admin_events(home, "user.create")] == [OWNER]


def test_duplicate_email_and_unknown_role_are_refused(home: Path) -> None:
    add(home, "ann@example.com")
    duplicate = refused(home, "user", "add", "ANN@example.com", "--role", "viewer")
    assert "exists" in duplicate and "email" in duplicate
    unknown = refused(home, "user", "add", "cy@example.com", "--role", "wizard")
    assert "no role named 'wizard'" in unknown
    bad_email = refused(home, "user", "add", "not-an-email", "--role", "viewer")
    assert "email" in bad_email
    with open_tb(home) as tb:
        users = tb.users.all(tb.tenants.get("acme"))
    assert sorted(u.email for u in users) == ["ann@example.com", OWNER]
    assert sorted(u["targets"][0]["name"] for u in admin_events(home, "user.create")) == [
        "ann@example.com", OWNER]


# -- user list ------------------------------------------------------------------------


def test_list_shows_users_and_their_state(home: Path) -> None:
    add(home, "ann@example.com", "analyst")
    add(home, "bob@example.com", "viewer")
    ok(home, "user", "disable", "bob@example.com")
    assert can_sign_in(home, "ann@example.com", PASSWORD)

    rows = {line.split("│")[2].strip(): [c.strip() for c in line.split("│")[1:-1]]
            for line in ok(home, "user", "list").splitlines() if "@" in line}
    assert set(rows) == {OWNER, "ann@example.com", "bob@example.com"}
    assert rows[OWNER][3:5] == ["owner", "must change password"]
    assert rows[OWNER][5] == "-"
    assert rows["ann@example.com"][1:5] == ["ann@example.com", "ann@example.com", "analyst",
                                           "active"]
    assert rows["ann@example.com"][5].endswith("Z")  # last sign-in
    assert rows["bob@example.com"][4].startswith("disabled 20")


# -- user disable / enable ------------------------------------------------------------


def test_disable_refuses_sign_in_and_enable_restores_it(home: Path) -> None:
    add(home, "ann@example.com")
    with open_tb(home) as tb:  # a session open before the account is disabled
        token, _ = tb.sessions.login("ann@example.com", PASSWORD, CLI)

    out = ok(home, "user", "disable", "ann@example.com")
    assert "disabled user ann@example.com" in flat(out)
    assert not can_sign_in(home, "ann@example.com", PASSWORD)
    with open_tb(home) as tb, pytest.raises(Unauthenticated):
        tb.sessions.authenticate(token)
    assert changes(the_event(home, "user.disable", "ann@example.com")) == {
        "disabled": (False, True)}
    assert "already disabled" in ok(home, "user", "disable", "ann@example.com")

    out = ok(home, "user", "enable", "ann@example.com")
    assert "enabled user ann@example.com" in flat(out)
    assert can_sign_in(home, "ann@example.com", PASSWORD)
    assert changes(the_event(home, "user.enable", "ann@example.com")) == {
        "disabled": (True, False)}
    assert len(admin_events(home, "user.disable")) == 1  # "already" recorded nothing


def test_unknown_user_is_refused(home: Path) -> None:
    error = refused(home, "user", "disable", "nobody@example.com")
    assert "no user 'nobody@example.com' in acme" in error


def test_the_last_owner_cannot_be_disabled_or_demoted(home: Path) -> None:
    error = refused(home, "user", "disable", OWNER)
    assert "at least one active owner" in error and OWNER in error
    error = refused(home, "user", "set-role", OWNER, "admin")
    assert "at least one active owner" in error
    with open_tb(home) as tb:
        owner = tb.users.by_email(tb.tenants.get("acme"), OWNER)
    assert (owner.role, owner.disabled_at) == ("owner", None)
    assert admin_events(home, "user.disable") == admin_events(home, "user.update") == []

    add(home, "second@example.com", "owner")  # with a second owner, the first can go
    ok(home, "user", "disable", OWNER)
    the_event(home, "user.disable", OWNER)


# -- user set-role / reset-password ---------------------------------------------------


def test_set_role(home: Path) -> None:
    add(home, "ann@example.com", "viewer")
    out = ok(home, "user", "set-role", "ann@example.com", "auditor")
    assert "ann@example.com now has role auditor (was viewer)" in flat(out)
    with open_tb(home) as tb:
        assert tb.users.by_email(tb.tenants.get("acme"), "ann@example.com").role == "auditor"
    assert changes(the_event(home, "user.update", "ann@example.com")) == {
        "role": ("viewer", "auditor")}
    assert "no role named 'wizard'" in refused(home, "user", "set-role", "ann@example.com",
                                               "wizard")


def test_reset_password_gives_a_new_one_time_password(home: Path) -> None:
    add(home, "ann@example.com")
    out = ok(home, "user", "reset-password", "ann@example.com")
    assert "must be changed" in flat(out)
    password = printed_password(out)
    assert not can_sign_in(home, "ann@example.com", PASSWORD)
    assert can_sign_in(home, "ann@example.com", password)
    with open_tb(home) as tb:
        assert tb.users.by_email(tb.tenants.get("acme"),
                                 "ann@example.com").must_change_password
    event = the_event(home, "user.password_reset", "ann@example.com")
    assert changes(event) == {"password": (REDACTED, REDACTED)}


# -- role -----------------------------------------------------------------------------


def test_role_create_update_delete(home: Path) -> None:
    out = ok(home, "role", "create", "billing", "--permissions", "events.read, events.export",
             "--categories", "client,task")
    assert "created role billing" in flat(out)
    assert changes(the_event(home, "role.create", "billing")) == {
        "permissions": (None, ["events.read", "events.export"]),
        "categories": (None, ["client", "task"])}

    out = ok(home, "role", "update", "billing", "--categories", "*")
    assert "updated role billing" in flat(out) and "all (*)" in flat(out)
    assert changes(the_event(home, "role.update", "billing")) == {
        "categories": (["client", "task"], ["*"])}

    add(home, "ann@example.com", "billing")
    held = refused(home, "role", "delete", "billing")
    assert "users hold this role" in held and "ann@example.com" in held
    assert admin_events(home, "role.delete") == []

    ok(home, "user", "set-role", "ann@example.com", "viewer")
    assert "deleted role billing" in ok(home, "role", "delete", "billing")
    assert changes(the_event(home, "role.delete", "billing")) == {
        "permissions": (["events.export", "events.read"], None),
        "categories": (["*"], None)}
    with open_tb(home) as tb:
        assert [r.name for r in tb.roles.all(tb.tenants.get("acme"))] == list(BUILTIN_ROLES)


def test_bad_role_changes_are_refused(home: Path) -> None:
    assert "unknown: fly" in refused(home, "role", "create", "x", "--permissions", "fly")
    assert "categories" in refused(home, "role", "create", "x", "--permissions",
                                   "events.read", "--categories", "nope")
    assert "built-in" in refused(home, "role", "create", "admin", "--permissions",
                                 "logs.read")
    assert "built-in" in refused(home, "role", "delete", "admin")
    assert "no role named 'ghost'" in refused(home, "role", "update", "ghost",
                                              "--permissions", "logs.read")
    assert "nothing to change" in refused(home, "role", "update", "ghost")
    assert [e for e in admin_events(home) if e["action"].startswith("role.")] == []


def test_role_list_and_permissions(home: Path) -> None:
    ok(home, "role", "create", "billing", "--permissions", "events.read",
       "--categories", "client")
    listed = ok(home, "role", "list")
    rows = {c[0]: c for c in ([x.strip() for x in line.split("│")[1:-1]]
                              for line in listed.splitlines() if line.startswith("│"))
            if c[0]}
    assert list(rows) == [*BUILTIN_ROLES, "billing"]
    assert rows["billing"][1:4] == ["custom", "events.read", "client"]
    assert rows["viewer"][1:4] == ["built-in", "events.read", "all (*)"]

    permissions = ok(home, "role", "permissions")
    for name, description in PERMISSIONS.items():
        assert name in permissions
        assert description.split(";")[0] in flat(permissions)
