"""Access, the same in every company: signing in and out (and failing to), viewing pages
and exporting records."""

from __future__ import annotations

from trailbook.service.demo.actors import ORGS
from trailbook.service.demo.cloud import cluster_for, cluster_target
from trailbook.service.demo.crm import contact_target
from trailbook.service.demo.gaming import player_target
from trailbook.service.demo.isp import client_target, router_target
from trailbook.service.demo.mining import rack_for, rack_target
from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.world import ISP_CITIES

# Pages staff open, by org; {placeholders} are filled per view.
_PATHS: dict[str, tuple[str, ...]] = {
    "mining": ("/farms/{farm}/racks/{rack}", "/clients/{hc}/bills", "/dashboard/hashrate",
               "/farms/{farm}/power"),
    "isp": ("/clients/{acc}", "/clients/{acc}/invoices", "/routers/{rtr}", "/reports/arrears"),
    "cloud": ("/projects/{proj}/clusters/{cls}", "/config-profiles", "/iam/roles",
              "/projects/{proj}/usage"),
    "crm": ("/contacts/{ct}", "/deals/{deal}", "/reports/pipeline", "/contacts?stage=lead"),
    "gaming": ("/players/{plr}", "/players/{plr}/transactions", "/withdrawals/pending",
               "/bonuses/campaigns"),
}  # fmt: skip


def login(run: Run, b: Burst) -> Json:
    if b.actor.org in ("cloud", "crm"):
        method = "sso"
    else:
        method = run.pick(("password+totp", "password+totp", "password"))
    return run.event(
        b,
        "user.login",
        "info",
        [{"id": b.actor.ref["id"], "name": b.actor.ref["name"], "type": "user"}],
        b.actor.scope,
        f"{b.actor.ref['name']} signed in ({method})",
        metadata={"method": method, "mfa": method != "password"},
    )


def logout(run: Run, b: Burst) -> Json:
    return run.event(
        b,
        "user.logout",
        "info",
        [{"id": b.actor.ref["id"], "name": b.actor.ref["name"], "type": "user"}],
        b.actor.scope,
        f"{b.actor.ref['name']} signed out",
        metadata={"session_minutes": max(1, (run.clock_us - b.started) // 60_000_000)},
    )


def login_failure(run: Run, b: Burst, reason: str, locked: bool) -> Json:
    name = b.actor.ref["name"]
    desc = (
        f"Account of {name} locked after repeated failed sign-ins from {b.ip}"
        if locked
        else f"Failed sign-in as {b.actor.ref['email']}: {reason}"
    )
    return run.event(
        b,
        "user.login",
        "warning" if locked else "notice",
        [{"id": b.actor.ref["id"], "name": name, "type": "user"}],
        b.actor.scope,
        desc,
        metadata={"attempt": b.idx, "method": "password"},
        reason=reason,
    )


def page_view(run: Run, b: Burst) -> Json:
    org = b.actor.org if b.actor.org in ORGS else run.pick(run.world.orgs)
    path = run.pick(_PATHS[org])
    target: Json
    if "{" in path:
        if org == "mining":
            k = rack_for(run, b)
            c = run.pick(run.world.hosting_clients)
            path = path.format(farm=k.farm, rack=k.label, hc=c.id)
            target = (
                rack_target(k) if "rack" in path else {"id": c.id, "name": c.name, "type": "client"}
            )
        elif org == "isp":
            c = run.pick(run.world.isp_clients)
            rt = run.pick(run.world.routers)
            path = path.format(acc=c.id, rtr=rt.id)
            target = router_target(rt) if "routers" in path else client_target(c)
        elif org == "cloud":
            cl = cluster_for(run, b)
            path = path.format(proj=cl.extra[0], cls=cl.id)
            target = (
                cluster_target(cl)
                if "clusters" in path
                else {
                    "id": f"proj-{cl.extra[0]}",
                    "name": cl.extra[0].title(),
                    "type": "project",
                }
            )
        elif org == "crm":
            ct, d = run.pick(run.world.contacts), run.pick(run.world.deals)
            path = path.format(ct=ct.id, deal=d.id)
            target = (
                contact_target(ct)
                if "contacts" in path
                else {"id": d.id, "name": d.name, "type": "deal"}
            )
        else:
            p = run.pick(run.world.players)
            path = path.format(plr=p.id)
            target = player_target(p)
    else:
        target = {"id": path, "name": path, "type": "page"}
    reason = None
    status = 200
    if run.fails(0.02):
        reason = f"forbidden: role '{run.pick(('support', 'viewer'))}' lacks {org}.read"
        status = 403
    return run.event(
        b,
        "page.view",
        "info",
        [target],
        b.actor.scope,
        f"Viewed {path}",
        metadata={
            "path": path,
            "method": "GET",
            "status": status,
            "duration_ms": 20 + int(run.random() * 400),
        },
        reason=reason,
    )


def record_export(run: Run, b: Burst) -> Json:
    org = b.actor.org
    dataset, label, filt = {
        "mining": ("hosting_bills", "Hosting bills", f"period:{run.month}"),
        "isp": ("clients", "Clients", f"city:{run.pick(ISP_CITIES)} status:active"),
        "cloud": ("usage", "Usage", f"period:{run.month}"),
        "crm": ("contacts", "Contacts", "stage:customer region:UK"),
        "gaming": ("transactions", "Player transactions", "type:withdrawal amount>1000"),
    }.get(org, ("audit_trail", "Audit trail", f"after:{run.month}-01 category:admin"))
    rows = int(run.random() ** 2 * 60_000) + 12
    reason = None
    if rows > 50_000 and run.random() < 0.5:
        reason = "export exceeds 50,000 rows; narrow the filter"
    fmt = run.pick(("csv", "csv", "xlsx"))
    return run.event(
        b,
        "record.export",
        "notice" if rows > 10_000 else "info",
        [{"id": dataset, "name": label, "type": "dataset"}],
        b.actor.scope,
        f"Exported {rows:,} rows of {label.lower()} as {fmt.upper()}",
        metadata={"format": fmt, "rows": rows, "filter": filt},
        reason=reason,
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "page_view": page_view,
    "record_export": record_export,
}
