"""The actions: every action the demo emits with its category and action type, what
each team of staff does and how often, and how a failed action is described."""

from __future__ import annotations

# Every action the demo emits: (category, action_type). One place to see the catalogue.
# fmt: off
ACTIONS: dict[str, tuple[str, str]] = {
    # general: the product's own records
    "cluster.create": ("general", "create"), "cluster.scale": ("general", "update"),
    "cluster.upgrade": ("general", "update"), "cluster.delete": ("general", "delete"),
    "contact.create": ("general", "create"), "contact.update": ("general", "update"),
    "contact.import": ("general", "create"), "contact.bulk_delete": ("general", "delete"),
    "deal.stage.change": ("general", "update"), "ticket.close": ("general", "update"),
    # device: miners, racks, routers
    "miner.reboot": ("device", "execute"), "miner.pool.change": ("device", "update"),
    "miner.firmware.update": ("device", "update"), "miner.overheat": ("device", "other"),
    "miner.pool.failover": ("device", "update"), "rack.power.set": ("device", "update"),
    "router.sync": ("device", "update"), "router.reboot": ("device", "execute"),
    "router.config.update": ("device", "update"),
    # client: customers, players, their money
    "client.bill.update": ("client", "update"), "invoice.create": ("client", "create"),
    "payment.record": ("client", "create"), "client.account.create": ("client", "create"),
    "client.plan.change": ("client", "update"), "client.suspend": ("client", "update"),
    "client.restore": ("client", "update"), "client.contact.update": ("client", "update"),
    "player.balance.adjust": ("client", "update"), "bonus.manual_assign": ("client", "create"),
    "bonus.cancel": ("client", "delete"), "withdrawal.approve": ("client", "update"),
    "withdrawal.reject": ("client", "update"), "player.block": ("client", "update"),
    "player.unblock": ("client", "update"), "player.kyc.verify": ("client", "update"),
    # task: scheduled jobs
    "subscription.expire": ("task", "update"), "invoice.batch.generate": ("task", "create"),
    "pool.payout.run": ("task", "execute"), "backup.run": ("task", "execute"),
    "bonus.campaign.run": ("task", "execute"),
    # admin: staff, roles, keys, settings
    "role.assign": ("admin", "permission"), "role.revoke": ("admin", "permission"),
    "user.create": ("admin", "create"), "user.disable": ("admin", "update"),
    "user.password.reset": ("admin", "update"), "api_key.create": ("admin", "create"),
    "config_profile.update": ("admin", "update"),
    # access: sign-ins, views, exports
    "user.login": ("access", "login"), "user.logout": ("access", "logout"),
    "page.view": ("access", "read"), "record.export": ("access", "export"),
    # system: the platforms themselves
    "cluster.node.fail": ("system", "other"), "certificate.renew": ("system", "update"),
    "service.restart": ("system", "execute"), "database.failover": ("system", "other"),
    "disk.space.low": ("system", "other"),
}
# fmt: on

# What staff do, by (org, team): (event builder name, weight).
TEAM_ACTIONS: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("mining", "ops"): (
        ("miner_reboot", 30), ("miner_pool_change", 8), ("miner_firmware_update", 7),
        ("rack_power_set", 6), ("page_view", 25), ("record_export", 2),
    ),
    ("mining", "finance"): (
        ("client_bill_update", 25), ("hosting_invoice_create", 12), ("hosting_payment", 10),
        ("page_view", 25), ("record_export", 6),
    ),
    ("mining", "admin"): (
        ("role_assign", 5), ("role_revoke", 2), ("user_create", 3), ("api_key_create", 2),
        ("user_disable", 1), ("page_view", 12), ("record_export", 2),
    ),
    ("isp", "billing"): (
        ("payment_record", 25), ("client_plan_change", 12), ("client_account_create", 10),
        ("client_suspend", 6), ("page_view", 25), ("record_export", 5),
    ),
    ("isp", "noc"): (
        ("router_sync_manual", 18), ("router_reboot", 9), ("router_config_update", 8),
        ("page_view", 20),
    ),
    ("isp", "support"): (
        ("client_contact_update", 14), ("client_plan_change", 8), ("client_account_create", 6),
        ("client_restore", 4), ("page_view", 35),
    ),
    ("isp", "admin"): (
        ("role_assign", 5), ("role_revoke", 2), ("user_create", 3), ("user_password_reset", 4),
        ("user_disable", 1), ("page_view", 12), ("record_export", 3),
    ),
    ("cloud", "platform"): (
        ("cluster_create", 6), ("cluster_scale", 20), ("cluster_delete", 3),
        ("cluster_upgrade", 6), ("config_profile_update", 10), ("api_key_create", 2),
        ("page_view", 20),
    ),
    ("cloud", "admin"): (
        ("role_assign", 6), ("role_revoke", 3), ("user_create", 3), ("config_profile_update", 6),
        ("api_key_create", 2), ("page_view", 10), ("record_export", 2),
    ),
    ("crm", "sales"): (
        ("contact_update", 22), ("deal_stage_change", 20), ("contact_create", 10),
        ("page_view", 30), ("record_export", 5), ("contact_bulk_delete", 0.6),
    ),
    ("crm", "support"): (
        ("contact_update", 15), ("ticket_close", 15), ("page_view", 30), ("record_export", 2),
    ),
    ("crm", "admin"): (
        ("user_create", 4), ("user_disable", 2), ("role_assign", 5), ("user_password_reset", 5),
        ("contact_bulk_delete", 1.5), ("record_export", 5), ("page_view", 10),
    ),
    ("gaming", "payments"): (
        ("withdrawal_approve", 25), ("withdrawal_reject", 9), ("player_balance_adjust", 4),
        ("page_view", 22),
    ),
    ("gaming", "bonuses"): (
        ("bonus_manual_assign", 25), ("bonus_cancel", 5), ("page_view", 15),
    ),
    ("gaming", "risk"): (
        ("player_block", 10), ("player_unblock", 4), ("player_kyc_verify", 10),
        ("withdrawal_reject", 5), ("page_view", 20), ("record_export", 4),
    ),
    ("gaming", "vip"): (
        ("player_balance_adjust", 15), ("bonus_manual_assign", 10), ("page_view", 20),
    ),
    ("gaming", "admin"): (
        ("role_assign", 6), ("role_revoke", 3), ("user_create", 3), ("user_disable", 1),
        ("page_view", 10), ("record_export", 2),
    ),
    ("audit", "audit"): (("page_view", 20), ("record_export", 6)),
}  # fmt: skip


# Past tense at the start of a description -> the verb, to say what could not be done.
_BASE_VERB = {
    "Rebooted": "reboot", "Switched": "switch", "Updated": "update", "Rolled": "roll",
    "Recorded": "record", "Upgraded": "upgrade", "Scaled": "scale", "Created": "create",
    "Deleted": "delete", "Synced": "sync", "Changed": "change", "Approved": "approve",
    "Assigned": "assign", "Exported": "export", "Viewed": "view", "Gave": "give",
    "Imported": "import", "Paid": "pay", "Generated": "generate", "Backed": "back",
    "Verified": "verify", "Issued": "issue", "Set": "set", "Added": "add",
}  # fmt: skip


def failed(description: str) -> str:
    """Turn "Rebooted 12 miners" into "Could not reboot 12 miners"."""
    verb, _, rest = description.partition(" ")
    base = _BASE_VERB.get(verb)
    if base is not None:
        return f"Could not {base} {rest}"
    if description.startswith(("Failed", "Account")):
        return description
    return f"{description} failed"
