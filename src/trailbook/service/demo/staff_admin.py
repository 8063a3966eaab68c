"""Staff administration, the same in every company: admins assign and revoke roles,
invite and disable colleagues, reset passwords and create API keys."""

from __future__ import annotations

from trailbook.service.demo.actors import ORGS, Actor
from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.text import email_address

_ROLES = ("viewer", "support", "operator", "finance", "admin", "owner")


def colleague(run: Run, b: Burst) -> Actor:
    """Someone else in the actor's company."""
    staff = run.world.staff.get(b.actor.org) or run.world.staff["crm"]
    i = int(run.random() * len(staff))
    return staff[i] if staff[i] is not b.actor else staff[(i + 1) % len(staff)]


def _user_target(a: Actor) -> Json:
    return {"id": a.ref["id"], "name": a.ref["name"], "type": "user"}


def role_assign(run: Run, b: Burst) -> Json:
    u = colleague(run, b)
    old = run.roles.get(u.ref["id"], "operator" if u.team != "admin" else "admin")
    new = run.pick(_ROLES[1:5]) if run.random() < 0.96 else "owner"
    if new == old:
        new = "viewer" if old != "viewer" else "support"
    was = f"was {old}" if old else "had no role"
    reason = None
    if new in ("admin", "owner") and run.fails(0.08):
        reason = "insufficient privileges: only owners may grant admin"
    else:
        run.roles[u.ref["id"]] = new
    severity = "critical" if new == "owner" else "notice" if new == "admin" else "info"
    return run.event(
        b,
        "role.assign",
        severity,
        [_user_target(u), {"id": f"role-{new}", "name": new.title(), "type": "role"}],
        b.actor.scope,
        f"Gave {u.ref['name']} the {new} role ({was})",
        [{"field": "role", "old": old or None, "new": new}],
        {"ticket": f"IAM-{100 + int(run.random() * 400)}", "mfa_confirmed": True},
        reason,
    )


def role_revoke(run: Run, b: Burst) -> Json:
    u = colleague(run, b)
    old = run.roles.get(u.ref["id"], "operator") or "viewer"
    new = "viewer" if old != "viewer" else ""  # "": no role left, no access
    run.roles[u.ref["id"]] = new
    return run.event(
        b,
        "role.revoke",
        "notice",
        [_user_target(u), {"id": f"role-{old}", "name": old.title(), "type": "role"}],
        b.actor.scope,
        f"Revoked the {old} role from {u.ref['name']}",
        [{"field": "role", "old": old, "new": new or None}],
        {"ticket": f"IAM-{100 + int(run.random() * 400)}"},
    )


def user_create(run: Run, b: Burst) -> Json:
    name, _country = run.pick(run.world.new_hires)
    org = b.actor.org if b.actor.org in ORGS else "crm"
    _company, domain, style, *_ = ORGS[org]
    email = email_address(name, style, domain)
    role = run.pick(("viewer", "support", "operator"))
    return run.event(
        b,
        "user.create",
        "notice",
        [{"id": f"usr_{run.randbits(40):010x}", "name": name, "type": "user"}],
        b.actor.scope,
        f"Invited {name} <{email}> as {role}",
        [
            {"field": "email", "old": None, "new": email},
            {"field": "role", "old": None, "new": role},
        ],
        {"invite_expires_h": 72},
    )


def user_disable(run: Run, b: Burst) -> Json:
    u = colleague(run, b)
    return run.event(
        b,
        "user.disable",
        "notice",
        [_user_target(u)],
        b.actor.scope,
        f"Disabled account of {u.ref['name']}",
        [{"field": "status", "old": "active", "new": "disabled"}],
        {
            "sessions_revoked": 1 + int(run.random() * 3),
            "reason_code": run.pick(("leaver", "long leave", "security review")),
        },
    )


def user_password_reset(run: Run, b: Burst) -> Json:
    u = colleague(run, b)
    return run.event(
        b,
        "user.password.reset",
        "info",
        [_user_target(u)],
        b.actor.scope,
        f"Sent a password reset link to {u.ref['email']}",
        metadata={"method": "email_link", "expires_min": 30},
    )


def api_key_create(run: Run, b: Burst) -> Json:
    name = run.pick(("CI deploys", "Grafana read-only", "Billing export", "Terraform", "Zapier"))
    scopes = ["read"] if "read" in name.lower() or name == "Billing export" else ["read", "write"]
    return run.event(
        b,
        "api_key.create",
        "notice",
        [{"id": f"key_live_{run.randbits(24):06x}", "name": name, "type": "api_key"}],
        b.actor.scope,
        f'Created API key "{name}" with scopes {", ".join(scopes)}',
        metadata={"scopes": scopes, "expires_in_days": run.pick((30, 90, 365))},
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "role_assign": role_assign,
    "role_revoke": role_revoke,
    "user_create": user_create,
    "user_disable": user_disable,
    "user_password_reset": user_password_reset,
    "api_key_create": api_key_create,
}
