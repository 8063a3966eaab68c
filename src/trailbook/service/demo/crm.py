"""CRM (Brightdesk): sales edit contacts and move deals along the pipeline, support
closes tickets, admins bulk-delete contacts; the marketing sync, nightly export and the
platform itself act on their own."""

from __future__ import annotations

from typing import Any

from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.staff_admin import colleague
from trailbook.service.demo.text import money
from trailbook.service.demo.world import COMPANIES, EN_FIRST, EN_LAST, Record

_STAGES = ("Lead", "Qualified", "Proposal", "Negotiation", "Closed won", "Closed lost")


def contact_target(c: Record) -> Json:
    return {"id": c.id, "name": c.name, "type": "contact"}


def contact_update(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.contacts)
    fld = run.pick(("phone", "job_title", "lifecycle_stage", "owner", "email"))
    if fld == "phone":
        number = int(run.random() * 50_000)
        old: Any = f"+44 7700 9{number:05d}"
        new: Any = f"+44 7700 9{number + 1 + int(run.random() * 49_000):05d}"
    elif fld == "job_title":
        old, new = run.pick(
            (
                ("Office Manager", "Operations Director"),
                ("Buyer", "Head of Procurement"),
                ("CFO", "CEO"),
                ("IT Lead", "CTO"),
            )
        )
    elif fld == "lifecycle_stage":
        old, new = run.pick(
            (("lead", "opportunity"), ("opportunity", "customer"), ("customer", "churned"))
        )
    elif fld == "owner":
        old, new = colleague(run, b).ref["name"], b.actor.ref["name"]
    else:
        old, new = c.extra[1], c.extra[1].replace("@", ".work@")
    return run.event(
        b,
        "contact.update",
        "info",
        [contact_target(c)],
        b.actor.scope,
        f"Updated {fld.replace('_', ' ')} of {c.name} ({c.extra[0]})",
        [{"field": fld, "old": old, "new": new}],
        {"company": c.extra[0]},
    )


def contact_create(run: Run, b: Burst) -> Json:
    first, last, company = run.pick(EN_FIRST), run.pick(EN_LAST), run.pick(COMPANIES)
    name = f"{first} {last}"
    return run.event(
        b,
        "contact.create",
        "info",
        [{"id": f"ct-{49_000 + run.randbits(16)}", "name": name, "type": "contact"}],
        b.actor.scope,
        f"Added contact {name} at {company}",
        metadata={
            "company": company,
            "source": run.pick(("web form", "trade show", "referral", "import")),
        },
    )


def contact_import(run: Run, b: Burst) -> Json:
    rows = 20 + int(run.random() * 400)
    reason = "CSV column 'email' missing in 3 rows" if run.fails(0.04) else None
    return run.event(
        b,
        "contact.import",
        "info",
        [{"id": "list-newsletter", "name": "Newsletter sign-ups", "type": "list"}],
        "sales",
        f"Imported {rows} contacts from the marketing platform",
        metadata={
            "rows": rows,
            "duplicates_skipped": int(run.random() * 30),
            "source": "newsletter",
        },
        reason=reason,
    )


def contact_bulk_delete(run: Run, b: Burst) -> Json:
    count = run.pick((12, 40, 85, 230, 640, 1800))
    company = run.pick(COMPANIES)
    return run.event(
        b,
        "contact.bulk_delete",
        "critical" if count >= 500 else "warning",
        [{"id": "contacts", "name": "Contacts", "type": "dataset"}],
        b.actor.scope,
        f'Deleted {count} contacts matching company:"{company}"',
        metadata={"count": count, "filter": f'company:"{company}"', "recoverable_days": 30},
    )


def deal_stage_change(run: Run, b: Burst) -> Json:
    d = run.pick(run.world.deals)
    old = run.stage[d.id]
    if old >= 4:  # closed: the pool is small, so it comes back as a new opportunity
        old = 0
    new = old + 1 if old < 3 else run.pick((4, 4, 5))
    run.stage[d.id] = new
    amount = int(d.extra[0]) * 100
    return run.event(
        b,
        "deal.stage.change",
        "info",
        [{"id": d.id, "name": d.name, "type": "deal"}],
        "sales",
        f"Moved deal {d.name} from {_STAGES[old]} to {_STAGES[new]}",
        [{"field": "stage", "old": _STAGES[old], "new": _STAGES[new]}],
        {"amount": money(amount), "currency": "GBP", "pipeline": "New business"},
    )


def ticket_close(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.contacts)
    tid = f"TCK-{70_000 + int(run.random() * 20_000)}"
    return run.event(
        b,
        "ticket.close",
        "info",
        [
            {
                "id": tid,
                "name": run.pick(
                    (
                        "Cannot export invoices",
                        "Login issue",
                        "Change of billing address",
                        "Feature question",
                        "Duplicate charge",
                    )
                ),
                "type": "ticket",
            },
            contact_target(c),
        ],
        "support",
        f"Closed ticket {tid} for {c.name}",
        [{"field": "status", "old": "open", "new": "closed"}],
        {"resolution_hours": round(0.5 + run.random() * 70, 1), "csat": run.pick((3, 4, 5, 5))},
    )


def service_restart(run: Run, b: Burst) -> Json:
    svc = run.pick(("search-indexer", "mail-worker", "api-gateway", "report-renderer"))
    return run.event(
        b,
        "service.restart",
        "notice",
        [{"id": f"svc-{svc}", "name": svc, "type": "service"}],
        "platform",
        f"Restarted {svc} after health check failures",
        metadata={
            "failed_checks": 3,
            "downtime_s": 4 + int(run.random() * 40),
            "host": f"app-{1 + int(run.random() * 6)}",
        },
    )


def nightly_export(run: Run, b: Burst) -> Json:
    rows = 40_000 + int(run.random() * 8000)
    return run.event(
        b,
        "record.export",
        "info",
        [{"id": "contacts", "name": "Contacts", "type": "dataset"}],
        "crm-admin",
        f"Exported {rows:,} contacts to the data warehouse",
        metadata={
            "format": "parquet",
            "rows": rows,
            "destination": "s3://brightdesk-dwh/contacts/",
        },
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "contact_update": contact_update,
    "contact_create": contact_create,
    "contact_import": contact_import,
    "contact_bulk_delete": contact_bulk_delete,
    "deal_stage_change": deal_stage_change,
    "ticket_close": ticket_close,
    "service_restart": service_restart,
    "nightly_export": nightly_export,
}
