"""Who acts in the demo: the staff of the five companies, their machines (cron jobs,
API keys, monitors), the new hires staff invite, and the strangers who guess passwords.

These are fixed catalogues; ``world.build_world`` turns them into ``Actor`` records with
addresses, user agents and ids once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    ref: dict[str, Any]  # {"id", "name", "email", "type"}; copied into every event
    org: str
    team: str
    scope: str
    ips: tuple[str, ...]
    uas: tuple[str, ...]
    country: str


@dataclass(frozen=True, slots=True)
class Job:
    """A machine actor and the one thing it does."""

    actor: Actor
    action: str  # name of its event builder (see ``bursts.BUILDERS``)
    repeatable: bool  # may run several times within seconds (one burst)


UA_DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/127.0.0.0 Safari/537.36 Edg/127.0.2651.74",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0",
)
UA_MOBILE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.6422.165 Mobile Safari/537.36",
)
UA_ATTACK = (
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.109 Safari/537.36",
    "Go-http-client/1.1",
)

# org key: (company, domain, email style, office IPv4 /16, office IPv6 /48 word, weight,
# hours ahead of UTC)
ORGS: dict[str, tuple[str, str, str, int, int, float, int]] = {
    "mining": ("Hashvale", "hashvale.example", "i.last", 12, 0x12, 1.1, 5),
    "isp": ("Skylink", "skylink.example", "first.last", 20, 0x20, 1.0, 1),
    "cloud": ("Kubeport", "kubeport.example", "flast", 40, 0x40, 0.9, 1),
    "crm": ("Brightdesk", "brightdesk.example", "first.last", 60, 0x60, 1.0, 0),
    "gaming": ("Lucky Orbit", "luckyorbit.example", "first", 80, 0x80, 1.0, 1),
}


# Hours ahead of UTC where staff sit (daylight saving is ignored).
TZ = {
    "KZ": 5, "SE": 1, "PL": 1, "DE": 1, "NL": 1, "GB": 0, "IE": 0, "US": -5, "MT": 1,
    "CY": 2, "UA": 2, "EE": 2, "LT": 2,
}  # fmt: skip


def office_hours(local_hour: int) -> float:
    """How likely staff are at work at this local hour (someone is always on call)."""
    if 8 <= local_hour < 18:
        return 1.0
    if 7 <= local_hour < 21:
        return 0.35
    return 0.05


# (name, team, home scope, country)
STAFF: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "mining": (
        ("Aidar Nurlanov", "ops", "farm-kz-1", "KZ"),
        ("Dana Sarsenova", "ops", "farm-kz-1", "KZ"),
        ("Arman Zhaksylykov", "ops", "farm-kz-1", "KZ"),
        ("Timur Abenov", "ops", "farm-kz-2", "KZ"),
        ("Olzhas Kairatuly", "ops", "farm-kz-2", "KZ"),
        ("Erik Lindqvist", "ops", "farm-se-1", "SE"),
        ("Sofia Berg", "ops", "farm-se-1", "SE"),
        ("Madina Omarova", "finance", "finance", "KZ"),
        ("Gulnara Akhmetova", "finance", "finance", "KZ"),
        ("Ruslan Bekov", "admin", "hq", "KZ"),
    ),
    "isp": (
        ("Piotr Zieliński", "billing", "billing", "PL"),
        ("Katarzyna Wójcik", "billing", "billing", "PL"),
        ("Agnieszka Kamińska", "billing", "billing", "PL"),
        ("Tomasz Lewandowski", "noc", "noc", "PL"),
        ("Paweł Dąbrowski", "noc", "noc", "PL"),
        ("Michał Szymański", "support", "support", "PL"),
        ("Joanna Kozłowska", "support", "support", "PL"),
        ("Łukasz Mazur", "support", "support", "PL"),
        ("Ewa Grabowska", "admin", "admin", "PL"),
    ),
    "cloud": (
        ("Jonas Becker", "platform", "proj-atlas", "DE"),
        ("Lena Hoffmann", "platform", "proj-orion", "DE"),
        ("Sven de Vries", "platform", "proj-vega", "NL"),
        ("Fatima El Amrani", "platform", "proj-lyra", "NL"),
        ("Moritz Kühn", "platform", "proj-atlas", "DE"),
        ("Noor Jansen", "platform", "platform", "NL"),
        ("Lukas Schmidt", "admin", "platform", "DE"),
    ),
    "crm": (
        ("Emily Carter", "sales", "sales", "GB"),
        ("James O'Neill", "sales", "sales", "IE"),
        ("Priya Shah", "sales", "sales", "GB"),
        ("Daniel Murphy", "sales", "sales", "IE"),
        ("Olivia Bennett", "support", "support", "GB"),
        ("Marcus Reid", "support", "support", "US"),
        ("Hannah Walsh", "support", "support", "IE"),
        ("Tom Fletcher", "admin", "crm-admin", "GB"),
    ),
    "gaming": (
        ("Luca Borg", "payments", "payments", "MT"),
        ("Maria Camilleri", "payments", "payments", "MT"),
        ("Elena Georgiou", "payments", "payments", "CY"),
        ("Nadia Farrugia", "bonuses", "bonuses", "MT"),
        ("Oleksandr Melnyk", "bonuses", "bonuses", "UA"),
        ("Kristjan Tamm", "risk", "risk", "EE"),
        ("Andrius Kazlauskas", "risk", "risk", "LT"),
        ("Viktor Ilves", "vip", "vip", "EE"),
        ("Chiara Zammit", "vip", "vip", "MT"),
        ("Daniel Vella", "admin", "backoffice", "MT"),
    ),
}

# org: (id, name, type, action, repeatable, weight, user agent, internal host)
BOTS: dict[str, tuple[tuple[str, str, str, str, bool, float, str, int], ...]] = {
    "mining": (
        ("sys-farm-monitor", "Farm monitor", "system", "miner_overheat", True, 3.0,
         "farm-monitor/3.2.0 (zabbix-agent2 6.4)", 11),
        ("svc-pool-watchdog", "Pool watchdog", "automation", "miner_pool_failover", False, 2.0,
         "pool-watchdog/1.4.1", 12),
        ("svc-payout-scheduler", "Payout scheduler", "automation", "pool_payout_run", False, 1.0,
         "payout-scheduler/2.0.3", 13),
        ("svc-billing-cron", "Hosting billing cron", "automation", "invoice_batch_generate",
         False, 0.6, "hashvale-billing/5.1.0 (cron)", 14),
    ),
    "isp": (
        ("key_live_rsync_8f2c1a", "Router sync (prod)", "api_key", "router_sync", True, 6.0,
         "skylink-router-sync/2.4.1 python-httpx/0.27.0", 21),
        ("svc-billing-cron", "Billing cron", "automation", "subscription_expire", True, 3.0,
         "skylink-billing/7.3.2 (cron)", 22),
        ("svc-billing-cron", "Billing cron", "automation", "invoice_batch_generate", False, 0.8,
         "skylink-billing/7.3.2 (cron)", 22),
        ("key_live_pgw_41d09e", "Payment gateway callback", "api_key", "payment_gateway", True,
         5.0, "Przelewy-Webhook/1.0", 23),
    ),
    "cloud": (
        ("svc-autoscaler", "Cluster autoscaler", "automation", "cluster_autoscale", True, 5.0,
         "kubeport-autoscaler/1.8.2", 41),
        ("sys-control-plane", "Control plane", "system", "cluster_node_fail", False, 1.2,
         "kubeport-control-plane/4.12.0", 42),
        ("sys-control-plane", "Control plane", "system", "certificate_renew", False, 1.0,
         "kubeport-control-plane/4.12.0", 42),
        ("svc-backup-cron", "Backup cron", "automation", "backup_run", False, 2.0,
         "velero/1.14.0 (cron)", 43),
    ),
    "crm": (
        ("svc-crm-sync", "Marketing sync", "automation", "contact_import", True, 1.2,
         "brightdesk-sync/3.0.7", 61),
        ("svc-nightly-export", "Nightly export", "automation", "nightly_export", False, 1.0,
         "brightdesk-exporter/1.2.0 (cron)", 62),
        ("system", "Brightdesk platform", "system", "service_restart", False, 0.7,
         "brightdesk-platform/2024.6", 63),
    ),
    "gaming": (
        ("svc-risk-engine", "Risk engine", "automation", "risk_block", True, 2.0,
         "orbit-risk-engine/6.2.1", 81),
        ("key_live_psp_77ab30", "PSP callback", "api_key", "deposit_record", True, 6.0,
         "psp-notifier/2.3 (+https://psp.example/hooks)", 82),
        ("svc-bonus-scheduler", "Bonus scheduler", "automation", "bonus_campaign_run", False, 1.0,
         "orbit-bonus/3.5.0 (cron)", 83),
        ("system", "Lucky Orbit platform", "system", "database_failover", False, 0.08,
         "orbit-platform/11.4.2", 84),
        ("system", "Lucky Orbit platform", "system", "disk_space_low", False, 0.4,
         "orbit-platform/11.4.2", 84),
    ),
}  # fmt: skip

NEW_HIRES = (
    ("Alexei Morozov", "KZ"), ("Ines Vogel", "DE"), ("Sara Lindberg", "SE"),
    ("Karol Nowicki", "PL"), ("Megan Doyle", "IE"), ("Giulia Grech", "MT"),
    ("Tariq Aziz", "GB"), ("Maksim Petrenko", "UA"), ("Zhanna Ismailova", "KZ"),
    ("Pieter Bakker", "NL"),
)  # fmt: skip
ATTACK_COUNTRIES = ("BR", "VN", "ID", "RU", "US", "NL", "SG", "IN")
