"""Demo events: a convincing audit trail from the five kinds of back office Trailbook
serves (DESIGN §1): a mining farm's staff console, an ISP's billing system, a cluster
platform, a CRM and a gaming back office.

``demo_events`` yields plain JSON-compatible dicts, each a valid ``EventIn`` input,
in ascending ``occurred_at`` order. The trail is built from *bursts*: a staff member's
session (login, a handful of actions and page views a minute or so apart, perhaps a
logout), a machine job (cron, autoscaler, API key, monitoring) or, rarely, a password
guessing attempt. Bursts start more often in working hours than at night or at
weekends, and overlap. Values that change are followed: a cluster scaled from 3 to 5
nodes is later scaled from 5, a player's balance carries over between adjustments.

Everything random comes from ``random.Random`` instances seeded from ``seed``, so a
seed and an ``end_us`` give the same events every time. The cast (staff, machines,
racks, clients, clusters, players …) is fixed and built once per process.

Addresses come from documentation and private ranges (198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32, 10.0.0.0/8, fd00::/8) and every company domain ends in ``.example``, so
the demo names no real network or mailbox.
"""

from __future__ import annotations

import heapq
import math
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from random import Random
from typing import Any, TypeVar

from trailbook.model.timefmt import now_us

__all__ = ["demo_events"]

_T = TypeVar("_T")
_Json = dict[str, Any]

_SECOND = 1_000_000
_HOUR = 3600 * _SECOND
_DAY = 24 * _HOUR

# Relative activity per UTC hour: the companies sit between UTC+5 (Kazakhstan) and
# UTC+0 (Ireland), so the day starts early and ends late; machines work all night.
_DIURNAL = (
    0.30, 0.28, 0.28, 0.35, 0.55, 0.80, 1.00, 1.10, 1.20, 1.25, 1.25, 1.20,
    1.15, 1.20, 1.25, 1.20, 1.05, 0.90, 0.75, 0.62, 0.52, 0.45, 0.38, 0.33,
)  # fmt: skip
_WEEKEND = 0.45

_SESSION, _MACHINE, _ATTACK = 0, 1, 2


# --------------------------------------------------------------------------------------
# The cast: built once, never changed while generating.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Actor:
    ref: _Json  # {"id", "name", "email", "type"}; copied into every event
    org: str
    team: str
    scope: str
    ips: tuple[str, ...]
    uas: tuple[str, ...]
    country: str


@dataclass(frozen=True, slots=True)
class _Job:
    actor: _Actor
    action: str  # name of a _Run method, without the "_a_" prefix
    repeatable: bool  # may run several times within seconds (one burst)


@dataclass(frozen=True, slots=True)
class _Rack:
    id: str
    label: str
    farm: str
    model: str
    miners: int
    power_kw: int


@dataclass(frozen=True, slots=True)
class _Rec:
    """A thing events point at: id, display name, and a few attributes."""

    id: str
    name: str
    extra: tuple[Any, ...] = ()


@dataclass(slots=True)
class _World:
    staff: dict[str, list[_Actor]] = field(default_factory=dict)
    jobs: dict[str, list[_Job]] = field(default_factory=dict)
    orgs: tuple[str, ...] = ()
    org_cum: list[float] = field(default_factory=list)
    staff_cum_by_hour: list[list[float]] = field(default_factory=list)
    racks: dict[str, list[_Rack]] = field(default_factory=dict)
    all_racks: list[_Rack] = field(default_factory=list)
    hosting_clients: list[_Rec] = field(default_factory=list)
    isp_clients: list[_Rec] = field(default_factory=list)
    routers: list[_Rec] = field(default_factory=list)
    clusters: list[_Rec] = field(default_factory=list)
    profiles: list[_Rec] = field(default_factory=list)
    contacts: list[_Rec] = field(default_factory=list)
    deals: list[_Rec] = field(default_factory=list)
    players: list[_Rec] = field(default_factory=list)
    attackers: list[tuple[str, str, str]] = field(default_factory=list)
    new_hires: list[tuple[str, str]] = field(default_factory=list)
    auditor: _Actor | None = None


_UA_DESKTOP = (
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
_UA_MOBILE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.6422.165 Mobile Safari/537.36",
)
_UA_ATTACK = (
    "python-requests/2.31.0",
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.109 Safari/537.36",
    "Go-http-client/1.1",
)

# org key: (company, domain, email style, office IPv4 /16, office IPv6 /48 word, weight,
# hours ahead of UTC)
_ORGS: dict[str, tuple[str, str, str, int, int, float, int]] = {
    "mining": ("Hashvale", "hashvale.example", "i.last", 12, 0x12, 1.1, 5),
    "isp": ("Skylink", "skylink.example", "first.last", 20, 0x20, 1.0, 1),
    "cloud": ("Kubeport", "kubeport.example", "flast", 40, 0x40, 0.9, 1),
    "crm": ("Brightdesk", "brightdesk.example", "first.last", 60, 0x60, 1.0, 0),
    "gaming": ("Lucky Orbit", "luckyorbit.example", "first", 80, 0x80, 1.0, 1),
}


# Hours ahead of UTC where staff sit (daylight saving is ignored).
_TZ = {
    "KZ": 5, "SE": 1, "PL": 1, "DE": 1, "NL": 1, "GB": 0, "IE": 0, "US": -5, "MT": 1,
    "CY": 2, "UA": 2, "EE": 2, "LT": 2,
}  # fmt: skip


def _office_hours(local_hour: int) -> float:
    """How likely staff are at work at this local hour (someone is always on call)."""
    if 8 <= local_hour < 18:
        return 1.0
    if 7 <= local_hour < 21:
        return 0.35
    return 0.05


# (name, team, home scope, country)
_STAFF: dict[str, tuple[tuple[str, str, str, str], ...]] = {
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
_BOTS: dict[str, tuple[tuple[str, str, str, str, bool, float, str, int], ...]] = {
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

# What staff do, by (org, team): (action method, weight).
_TEAM_ACTIONS: dict[tuple[str, str], tuple[tuple[str, float], ...]] = {
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

_FARMS = {
    "farm-kz-1": ("Ekibastuz", "AB"),
    "farm-kz-2": ("Pavlodar", "CD"),
    "farm-se-1": ("Boden", "H"),
}
_MINER_MODELS = ("Antminer S19j Pro", "Antminer S21", "Whatsminer M50S", "Avalon A1366")
_FIRMWARE = {
    "Antminer S19j Pro": ("2023.11.28", "2024.05.06", "2024.09.17"),
    "Antminer S21": ("2024.03.12", "2024.07.30", "2024.12.04"),
    "Whatsminer M50S": ("20240311.22.REL", "20240618.12.REL", "20241020.15.REL"),
    "Avalon A1366": ("24071801_4ec6bb0", "24101502_61407fa", "25011501_9d31c2e"),
}
_POOLS = (
    "stratum+tcp://btc.f2pool.com:1314",
    "stratum+tcp://btc.viabtc.io:3333",
    "stratum+tcp://ss.antpool.com:3333",
    "stratum+tcp://stratum.braiins.com:3333",
    "stratum+tcp://pool.hashvale.example:3333",
)
_HOSTING_CLIENTS = (
    "Aral Hash LLP", "Steppe Compute LLP", "Borealis Hash AB", "Tengri Digital Ltd",
    "Altyn Blocks LLP", "Saryarka Hashworks", "Polar Joule AB", "Irtysh Data LLP",
    "Baltic Sats OU", "Karaganda Compute", "Midnight Sun Mining AB", "Nomad Hash Ltd",
)  # fmt: skip
_ISP_PLANS = (
    ("Fiber 150", 5999), ("Fiber 300", 7999), ("Fiber 600", 9999), ("Fiber 1000", 12999),
    ("Business 500", 24900), ("LTE 50", 4999),
)  # fmt: skip
_ISP_CITIES = ("Wrocław", "Opole", "Legnica", "Wałbrzych", "Świdnica", "Oleśnica", "Brzeg")
_POPS = ("WRO-1", "WRO-2", "WRO-3", "OPO-1", "LEG-1", "WAL-1", "SWI-1")
_ROUTER_MODELS = (
    ("MikroTik CCR2004-16G-2S+", "7.14.3"),
    ("MikroTik CCR2116-12G-4S+", "7.15.2"),
    ("Juniper MX204", "23.2R1"),
    ("MikroTik CRS326-24G-2S+", "7.13.5"),
)
# Polish surnames agree with the first name: (male form, female form).
_PL_FIRST_M = (
    "Jan", "Krzysztof", "Adam", "Marek", "Grzegorz", "Robert", "Kamil", "Jakub", "Wojciech",
)  # fmt: skip
_PL_FIRST_F = (
    "Anna", "Marta", "Magdalena", "Zofia", "Barbara", "Natalia", "Aleksandra", "Monika",
)  # fmt: skip
_PL_LAST = (
    ("Nowak", "Nowak"), ("Kowalski", "Kowalska"), ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"), ("Kowalczyk", "Kowalczyk"), ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"),
    ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
    ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Krawczyk", "Krawczyk"),
    ("Piotrowski", "Piotrowska"), ("Grabowski", "Grabowska"), ("Pawłowski", "Pawłowska"),
    ("Michalski", "Michalska"), ("Król", "Król"),
)  # fmt: skip


def _pl_name(pick: Callable[[Sequence[Any]], Any]) -> str:
    female = pick((True, False))
    first = pick(_PL_FIRST_F if female else _PL_FIRST_M)
    return f"{first} {pick(_PL_LAST)[1 if female else 0]}"


_STREETS = ("ul. Legnicka", "ul. Kościuszki", "ul. Opolska", "ul. Świdnicka", "ul. Lipowa")

_PROJECTS = ("atlas", "orion", "vega", "lyra")
_REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "ap-southeast-1")
_NODE_POOLS = ("standard-4", "standard-8", "highmem-8", "gpu-a100")
_K8S = ("1.28.13", "1.29.8", "1.30.4", "1.31.1")
_NODE_IMAGES = ("ubuntu-2204-v20240612", "ubuntu-2204-v20240910", "ubuntu-2204-v20241119")
_CLUSTER_KINDS = ("prod-eu", "prod-us", "staging", "dev", "batch", "ml-gpu", "canary")
_PROFILES = ("default-hardened", "ml-gpu", "batch-spot", "pci-restricted", "dev-relaxed")
_PROFILE_FIELDS: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("max_pods", (110, 150, 200, 250)),
    ("log_level", ("info", "debug", "warn")),
    ("audit_log", (True, False)),
    ("pod_security", ("baseline", "restricted", "privileged")),
    ("node_auto_repair", (True, False)),
    ("image_pull_policy", ("IfNotPresent", "Always")),
    ("max_surge", ("25%", "1", "33%")),
)

_EN_FIRST = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Grace",
    "Liam", "Chloe", "Ethan", "Sophie", "Ryan", "Aoife", "Conor", "Niamh", "Aisha", "Ravi",
)  # fmt: skip
_EN_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Byrne",
    "Kelly", "Ryan", "Doyle", "Patel", "Khan", "Clarke", "Hughes", "Price", "Turner",
)  # fmt: skip
_COMPANIES = (
    "Harbor Logistics", "Greenfield Dental", "Northgate Insurance", "Pinecrest Foods",
    "Bluewater Marine", "Oakridge Legal", "Summit Facilities", "Riverside Veterinary",
    "Copperleaf Interiors", "Westbrook Academy", "Kestrel Engineering", "Lumen Optics",
    "Thistle & Rose Bakery", "Granite Peak Outdoor", "Silverline Couriers", "Meadow Health",
)  # fmt: skip
_PRODUCTS = ("Pro plan", "Enterprise plan", "Support add-on", "Onboarding package", "Seats")
_STAGES = ("Lead", "Qualified", "Proposal", "Negotiation", "Closed won", "Closed lost")

_NICK_A = (
    "Lucky", "Neon", "Silent", "Crimson", "Golden", "Rapid", "Frost", "Shadow", "Cosmic",
    "Wild", "Iron", "Velvet", "Atomic", "Lunar", "Royal", "Misty",
)  # fmt: skip
_NICK_B = (
    "Falcon", "Viking", "Tiger", "Ace", "Phoenix", "Wolf", "Joker", "Raven", "Spinner",
    "Baron", "Comet", "Lynx", "Maverick", "Nova", "Hunter", "Panda",
)  # fmt: skip
_PLAYER_COUNTRIES = ("DE", "FI", "NO", "CA", "NZ", "IE", "AT", "BR", "JP", "CL")

_ROLES = ("viewer", "support", "operator", "finance", "admin", "owner")
_NEW_HIRES = (
    ("Alexei Morozov", "KZ"), ("Ines Vogel", "DE"), ("Sara Lindberg", "SE"),
    ("Karol Nowicki", "PL"), ("Megan Doyle", "IE"), ("Giulia Grech", "MT"),
    ("Tariq Aziz", "GB"), ("Maksim Petrenko", "UA"), ("Zhanna Ismailova", "KZ"),
    ("Pieter Bakker", "NL"),
)  # fmt: skip
_ATTACK_COUNTRIES = ("BR", "VN", "ID", "RU", "US", "NL", "SG", "IN")


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


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _email(name: str, style: str, domain: str) -> str:
    parts = _ascii(name).lower().replace("'", "").split()
    first, last = parts[0], "".join(parts[1:])
    local = {
        "i.last": f"{first[0]}.{last}",
        "first.last": f"{first}.{last}",
        "flast": f"{first[0]}{last}",
        "first": f"{first}.{last[0]}",
    }[style]
    return f"{local}@{domain}"


def _cum(weights: Sequence[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


@cache
def _world() -> _World:
    r = Random(0x7A11B00C)
    w = _World()
    for org, (_company, domain, style, net4, net6, _weight, _tz) in _ORGS.items():
        people: list[_Actor] = []
        for n, (name, team, scope, country) in enumerate(_STAFF[org]):
            floor = 1 + n % 4
            ips = [f"10.{net4}.{floor}.{r.randrange(20, 250)}"]
            if r.random() < 0.6:
                ips.append(f"2001:db8:{net6:x}:{floor}::{r.randrange(0x100, 0xFFFF):x}")
            if r.random() < 0.7:  # home or VPN exit
                if r.random() < 0.5:
                    ips.append(f"203.0.113.{r.randrange(1, 255)}")
                else:
                    home = f"2001:db8:f{net6:x}:{r.randrange(0x10, 0xFF):x}"
                    ips.append(f"{home}::{r.randrange(2, 99)}")
            uas = [r.choice(_UA_DESKTOP)]
            if r.random() < 0.35:
                uas.append(r.choice(_UA_MOBILE))
            ref: _Json = {
                "id": f"usr_{r.getrandbits(40):010x}",
                "name": name,
                "email": _email(name, style, domain),
                "type": "user",
            }
            people.append(_Actor(ref, org, team, scope, tuple(ips), tuple(uas), country))
        w.staff[org] = people
        jobs: list[_Job] = []
        for bid, bname, btype, action, repeatable, _bw, ua, host in _BOTS[org]:
            ip = f"10.{net4}.200.{host}" if r.random() < 0.6 else f"fd00:{net6:x}::{host:x}"
            ref = {"id": bid, "name": bname, "type": btype}
            actor = _Actor(ref, org, "machine", "", (ip,), (ua,), _STAFF[org][0][3])
            jobs.append(_Job(actor, action, repeatable))
        w.jobs[org] = jobs
    w.orgs = tuple(_ORGS)
    w.org_cum = _cum([v[5] for v in _ORGS.values()])
    w.staff_cum_by_hour = [
        _cum([v[5] * _office_hours((hour + v[6]) % 24) for v in _ORGS.values()])
        for hour in range(24)
    ]
    w.auditor = _Actor(
        {"id": "usr_ext_ledger01", "name": "Rachel Kim", "email": "r.kim@ledgerwise.example",
         "type": "user"},
        "audit", "audit", "audit", ("198.51.100.23", "2001:db8:ab::23"), (_UA_DESKTOP[2],), "GB",
    )  # fmt: skip

    for farm, (_city, rows) in _FARMS.items():
        racks: list[_Rack] = []
        for row in rows:
            for num in range(1, 13 if len(rows) > 1 else 9):
                label = f"{row}{num}"
                model = _MINER_MODELS[r.randrange(len(_MINER_MODELS))]
                miners = r.choice((24, 30, 32, 36))
                racks.append(_Rack(f"{farm}-{label.lower()}", label, farm, model, miners,
                                   miners * r.choice((3, 3, 4)) + r.randrange(0, 8)))  # fmt: skip
        w.racks[farm] = racks
        w.all_racks.extend(racks)
    w.hosting_clients = [
        _Rec(f"hc-{2040 + i * 7}", name, (r.randrange(180_000, 2_400_000),))
        for i, name in enumerate(_HOSTING_CLIENTS)
    ]
    w.isp_clients = []
    for i in range(400):
        name = _pl_name(r.choice)
        if r.random() < 0.12:
            name = f"{r.choice(_PL_LAST)[0]} {r.choice(('Sp. z o.o.', 'S.C.', 'Serwis', 'Studio'))}"
        w.isp_clients.append(
            _Rec(f"acc-{550_000 + r.randrange(0, 90_000)}-{i}", name,
                 (r.randrange(len(_ISP_PLANS)), r.choice(_ISP_CITIES)))
        )  # fmt: skip
    w.routers = []
    for i, pop in enumerate(_POPS * 4):
        model, ver = _ROUTER_MODELS[r.randrange(len(_ROUTER_MODELS))]
        rid = f"rtr-{pop.lower()}-{i // len(_POPS) + 1:02d}"
        name = f"{pop} edge {i // len(_POPS) + 1} ({model})"
        w.routers.append(_Rec(rid, name, (pop, model, ver)))
    w.clusters = []
    for project in _PROJECTS:
        for kind in r.sample(_CLUSTER_KINDS, 3):
            region = _REGIONS[1] if "eu" in kind else r.choice(_REGIONS)
            w.clusters.append(
                _Rec(f"cls-{r.getrandbits(24):06x}", f"{project}-{kind}",
                     (project, region, r.choice(_NODE_POOLS), r.choice((3, 3, 4, 5, 6, 8, 12))))
            )  # fmt: skip
    w.profiles = [_Rec(f"cfg-{r.getrandbits(20):05x}", name) for name in _PROFILES]
    w.contacts = []
    for i in range(300):
        first, last = r.choice(_EN_FIRST), r.choice(_EN_LAST)
        company = r.choice(_COMPANIES)
        w.contacts.append(
            _Rec(f"ct-{48_000 + i * 3 + r.randrange(3)}", f"{first} {last}",
                 (company, f"{first.lower()}.{last.lower()}@{_slug(company)}.example"))
        )  # fmt: skip
    w.deals = []
    for i in range(120):
        company = r.choice(_COMPANIES)
        w.deals.append(
            _Rec(f"deal-{9100 + i}", f"{company} — {r.choice(_PRODUCTS)}",
                 (r.randrange(3, 120) * 500, r.randrange(0, 4)))
        )  # fmt: skip
    w.players = []
    for _ in range(500):
        digits = str(r.randrange(1, 99)) if r.random() < 0.6 else ""
        nick = f"{r.choice(_NICK_A)}{r.choice(_NICK_B)}{digits}"
        w.players.append(
            _Rec(f"plr-{r.randrange(10_000_000, 19_999_999)}", nick,
                 (r.choice(_PLAYER_COUNTRIES), int(r.paretovariate(1.3) * 4_000)))
        )  # fmt: skip
    w.attackers = [
        (
            f"198.51.100.{r.randrange(1, 255)}"
            if r.random() < 0.7
            else f"2001:db8:bad:{r.randrange(1, 0xFFF):x}::{r.randrange(2, 0xFF):x}",
            r.choice(_UA_ATTACK),
            r.choice(_ATTACK_COUNTRIES),
        )
        for _ in range(24)
    ]
    w.new_hires = list(_NEW_HIRES)
    return w


# Past tense at the start of a description -> the verb, to say what could not be done.
_BASE_VERB = {
    "Rebooted": "reboot", "Switched": "switch", "Updated": "update", "Rolled": "roll",
    "Recorded": "record", "Upgraded": "upgrade", "Scaled": "scale", "Created": "create",
    "Deleted": "delete", "Synced": "sync", "Changed": "change", "Approved": "approve",
    "Assigned": "assign", "Exported": "export", "Viewed": "view", "Gave": "give",
    "Imported": "import", "Paid": "pay", "Generated": "generate", "Backed": "back",
    "Verified": "verify", "Issued": "issue", "Set": "set", "Added": "add",
}  # fmt: skip


def _failed(description: str) -> str:
    """Turn "Rebooted 12 miners" into "Could not reboot 12 miners"."""
    verb, _, rest = description.partition(" ")
    base = _BASE_VERB.get(verb)
    if base is not None:
        return f"Could not {base} {rest}"
    if description.startswith(("Failed", "Account")):
        return description
    return f"{description} failed"


def _slug(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _money_text(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d}"


# --------------------------------------------------------------------------------------
# Time: when bursts start, and how fast to format a timestamp.
# --------------------------------------------------------------------------------------


def _warp_table(start_us: int, end_us: int) -> tuple[list[int], list[float]]:
    """Hour buckets from start to end with their cumulative activity weight."""
    bounds = [start_us]
    edge = (start_us // _HOUR + 1) * _HOUR
    while edge < end_us:
        bounds.append(edge)
        edge += _HOUR
    bounds.append(end_us)
    cum = [0.0]
    total = 0.0
    for a, b in pairwise(bounds):
        weekday = (a // _DAY + 3) % 7  # 1970-01-01 was a Thursday
        weight = _DIURNAL[(a // _HOUR) % 24] * (_WEEKEND if weekday >= 5 else 1.0)
        total += weight * (b - a)
        cum.append(total)
    return bounds, cum


def _burst_plan(r: Random) -> tuple[int, int]:
    """The kind and number of events of the next burst. Called twice per burst, with
    the same stream: once to count the bursts needed, once while generating."""
    x = r.random()
    if x < 0.47:
        return _SESSION, 3 + min(int(-math.log(1.0 - r.random()) * 5.0), 30)
    if x < 0.989:
        y = r.random()
        return _MACHINE, 1 if y < 0.72 else 2 + int((y - 0.72) * 18)
    return _ATTACK, 3 + int(r.random() * 5)


# Every action the demo emits: (category, action_type). One place to see the catalogue.
# fmt: off
_ACTIONS: dict[str, tuple[str, str]] = {
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


class _Burst:
    __slots__ = (
        "actions", "actor", "country", "fail_first", "idx", "ip", "job", "kind", "login_at",
        "logout", "session", "size", "started", "ua",
    )  # fmt: skip

    def __init__(self, kind: int, size: int, actor: _Actor, ip: str, ua: str, country: str) -> None:
        self.kind = kind
        self.size = size
        self.idx = 0
        self.actor = actor
        self.ip = ip
        self.ua = ua
        self.country = country
        self.session: str | None = None
        self.job: Callable[[_Burst], _Json] | None = None
        self.actions: tuple[list[Callable[[_Burst], _Json]], list[float]] | None = None
        self.fail_first = False
        self.logout = False
        self.login_at = 0
        self.started = 0


# --------------------------------------------------------------------------------------
# One generation run: mutable state (balances, node counts …) and the event builders.
# --------------------------------------------------------------------------------------


class _Run:
    def __init__(self, seed: int) -> None:
        self.w = _world()
        self.rng = Random(seed)
        self.r = self.rng.random
        self.bits = self.rng.getrandbits
        self.ts = ""
        self.ym = ""
        self.t = 0
        # Values that change, so that a later event's "old" is an earlier one's "new".
        self.rack_pool = {k.id: i % 3 for i, k in enumerate(self.w.all_racks)}
        self.rack_fw = {k.id: i % 2 for i, k in enumerate(self.w.all_racks)}
        self.rack_power = {k.id: k.power_kw for k in self.w.all_racks}
        self.bill = {c.id: int(c.extra[0]) for c in self.w.hosting_clients}
        self.plan = {c.id: int(c.extra[0]) for c in self.w.isp_clients}
        self.suspended: set[str] = set()
        self.nodes = {c.id: int(c.extra[3]) for c in self.w.clusters}
        self.k8s = {c.id: i % 3 for i, c in enumerate(self.w.clusters)}
        self.image: dict[str, int] = {}
        self.profile_values: dict[tuple[str, str], Any] = {}
        self.stage = {d.id: int(d.extra[1]) for d in self.w.deals}
        self.balance = {p.id: int(p.extra[1]) for p in self.w.players}
        self.blocked: set[str] = set()
        self.roles: dict[str, str] = {}
        self.invoice_no = 4100 + (seed % 997)
        self.account_no = 640_000 + (seed % 9973)
        self.next_cluster = 0
        self.team_tables: dict[tuple[str, str], tuple[list[Callable[[_Burst], _Json]], list[float]]]
        self.team_tables = {
            key: ([self._builder(name) for name, _ in table], _cum([wt for _, wt in table]))
            for key, table in _TEAM_ACTIONS.items()
        }
        self.jobs = {
            org: (
                [(job, self._builder(job.action)) for job in jobs],
                _cum([b[5] for b in _BOTS[org]]),
                _cum([b[5] if b[4] else 0.0 for b in _BOTS[org]]),
            )
            for org, jobs in self.w.jobs.items()
        }

    def _builder(self, name: str) -> Callable[[_Burst], _Json]:
        fn: Callable[[_Burst], _Json] = getattr(self, "_a_" + name)
        return fn

    # -- helpers ---------------------------------------------------------------------

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.r() * len(seq))]

    def weighted(self, items: Sequence[_T], cum: list[float]) -> _T:
        return items[bisect_right(cum, self.r() * cum[-1])]

    def ev(
        self,
        b: _Burst,
        action: str,
        severity: str,
        targets: list[_Json],
        scope: str | None,
        description: str,
        changes: list[_Json] | None = None,
        metadata: _Json | None = None,
        reason: str | None = None,
    ) -> _Json:
        category, action_type = _ACTIONS[action]
        if reason is not None:
            description = _failed(description)
        e: _Json = {
            "occurred_at": self.ts,
            "category": category,
            "action": action,
            "action_type": action_type,
            "severity": severity,
            "actor": b.actor.ref.copy(),
            "targets": targets,
            "scope": scope,
            "result": "success" if reason is None else "failure",
            "source": {"ip": b.ip, "user_agent": b.ua, "country": b.country},
            "request_id": f"req_{self.bits(64):016x}",
            "description": description,
            "changes": changes if changes is not None and reason is None else [],
            "metadata": metadata if metadata is not None else {},
        }
        if reason is not None:
            e["reason"] = reason
        if b.session is not None:
            e["session_id"] = b.session
        return e

    def fails(self, p: float) -> bool:
        return self.r() < p

    # -- bursts ----------------------------------------------------------------------

    def new_burst(self, kind: int, size: int, start_us: int) -> _Burst:
        w = self.w
        r = self.r
        if kind == _SESSION:
            if r() < 0.025 and w.auditor is not None:
                actor = w.auditor
            else:
                hour = (start_us // _HOUR) % 24
                cum = w.staff_cum_by_hour[hour]
                org = w.orgs[bisect_right(cum, r() * cum[-1])]
                actor = self.pick(w.staff[org])
                for _ in range(3):  # prefer someone whose working day it is
                    if r() < _office_hours((hour + _TZ[actor.country]) % 24):
                        break
                    actor = self.pick(w.staff[org])
            b = _Burst(kind, size, actor, self.pick(actor.ips), self.pick(actor.uas), actor.country)
            b.actions = self.team_tables[(actor.org, actor.team)]
            b.fail_first = size >= 4 and r() < 0.13
            b.logout = r() < 0.55
            b.login_at = 1 if b.fail_first else 0
            return b
        if kind == _MACHINE:
            org = w.orgs[bisect_right(w.org_cum, r() * w.org_cum[-1])]
            jobs, cum_all, cum_rep = self.jobs[org]
            job, builder = self.weighted(jobs, cum_rep if size > 1 else cum_all)
            a = job.actor
            b = _Burst(kind, size, a, a.ips[0], a.uas[0], a.country)
            b.job = builder
            return b
        org = w.orgs[bisect_right(w.org_cum, r() * w.org_cum[-1])]
        victim = self.pick(w.staff[org])
        ip, ua, country = self.pick(w.attackers)
        return _Burst(kind, size, victim, ip, ua, country)

    def next_event(self, b: _Burst) -> _Json:
        i = b.idx
        b.idx = i + 1
        if b.kind == _MACHINE:
            assert b.job is not None
            return b.job(b)
        if b.kind == _ATTACK:
            locked = i == b.size - 1 and b.size >= 5
            return self.login_failure(b, "account locked" if locked else "bad password", locked)
        if i < b.login_at:
            why = self.pick(("bad password", "bad password", "MFA code expired"))
            return self.login_failure(b, why, False)
        if i == b.login_at:
            b.session = f"sess_{self.bits(96):024x}"
            b.started = self.t
            return self.login(b)
        if b.logout and i == b.size - 1:
            return self.logout(b)
        assert b.actions is not None
        builders, cum = b.actions
        return builders[bisect_right(cum, self.r() * cum[-1])](b)

    def login(self, b: _Burst) -> _Json:
        if b.actor.org in ("cloud", "crm"):
            method = "sso"
        else:
            method = self.pick(("password+totp", "password+totp", "password"))
        return self.ev(
            b,
            "user.login",
            "info",
            [{"id": b.actor.ref["id"], "name": b.actor.ref["name"], "type": "user"}],
            b.actor.scope,
            f"{b.actor.ref['name']} signed in ({method})",
            metadata={"method": method, "mfa": method != "password"},
        )

    def logout(self, b: _Burst) -> _Json:
        return self.ev(
            b,
            "user.logout",
            "info",
            [{"id": b.actor.ref["id"], "name": b.actor.ref["name"], "type": "user"}],
            b.actor.scope,
            f"{b.actor.ref['name']} signed out",
            metadata={"session_minutes": max(1, (self.t - b.started) // 60_000_000)},
        )

    def login_failure(self, b: _Burst, reason: str, locked: bool) -> _Json:
        name = b.actor.ref["name"]
        desc = (
            f"Account of {name} locked after repeated failed sign-ins from {b.ip}"
            if locked
            else f"Failed sign-in as {b.actor.ref['email']}: {reason}"
        )
        return self.ev(
            b,
            "user.login",
            "warning" if locked else "notice",
            [{"id": b.actor.ref["id"], "name": name, "type": "user"}],
            b.actor.scope,
            desc,
            metadata={"attempt": b.idx, "method": "password"},
            reason=reason,
        )

    # -- mining farm -----------------------------------------------------------------

    def _rack(self, b: _Burst) -> _Rack:
        racks = self.w.racks.get(b.actor.scope)
        return self.pick(racks if racks else self.w.all_racks)

    @staticmethod
    def _rack_target(k: _Rack) -> _Json:
        return {"id": k.id, "name": f"Rack {k.label} ({k.farm})", "type": "rack"}

    @staticmethod
    def _miner_target(k: _Rack, slot: int) -> _Json:
        return {
            "id": f"{k.id}-{slot:02d}",
            "name": f"{k.label}-{slot:02d} {k.model}",
            "type": "miner",
        }

    def _a_miner_reboot(self, b: _Burst) -> _Json:
        k = self._rack(b)
        if self.r() < 0.55:
            slot = 1 + int(self.r() * k.miners)
            targets = [self._miner_target(k, slot), self._rack_target(k)]
            desc = f"Rebooted miner {k.label}-{slot:02d} in rack {k.label}"
            count = 1
        else:
            count = 4 + int(self.r() * (k.miners - 4))
            first = 1 + int(self.r() * (k.miners - count + 1))
            targets = [self._rack_target(k)]
            targets += [self._miner_target(k, s) for s in range(first, first + min(count, 12))]
            desc = f"Rebooted {count} miners in rack {k.label}"
        reason = None
        if self.fails(0.06):
            reason = self.pick(
                (
                    "miner unreachable: no response on port 4028 after 30 s",
                    "reboot refused: firmware update in progress",
                    "PDU outlet did not respond",
                )
            )
        return self.ev(
            b,
            "miner.reboot",
            "info",
            targets,
            k.farm,
            desc,
            metadata={
                "rack": k.label,
                "count": count,
                "model": k.model,
                "trigger": self.pick(("manual", "manual", "low hashrate", "chip errors")),
            },
            reason=reason,
        )

    def _a_miner_pool_change(self, b: _Burst) -> _Json:
        k = self._rack(b)
        old = self.rack_pool[k.id]
        new = (old + 1 + int(self.r() * (len(_POOLS) - 1))) % len(_POOLS)
        reason = "pool rejected worker credentials" if self.fails(0.05) else None
        if reason is None:
            self.rack_pool[k.id] = new
        changes = [{"field": "pool_url", "old": _POOLS[old], "new": _POOLS[new]}]
        if (old == 4) != (new == 4):  # the own pool names workers by farm, public pools by rack
            by_rack, by_farm = f"hashvale.{k.label.lower()}", f"{k.farm}.{k.label.lower()}"
            changes.append(
                {
                    "field": "worker",
                    "old": by_farm if old == 4 else by_rack,
                    "new": by_farm if new == 4 else by_rack,
                }
            )
        return self.ev(
            b,
            "miner.pool.change",
            "notice",
            [self._rack_target(k)],
            k.farm,
            f"Switched {k.miners} miners in rack {k.label} to {_POOLS[new].split('//')[1]}",
            changes,
            {"rack": k.label, "miners": k.miners, "coin": "BTC"},
            reason,
        )

    def _a_miner_firmware_update(self, b: _Burst) -> _Json:
        k = self._rack(b)
        versions = _FIRMWARE[k.model]
        old = self.rack_fw[k.id]
        rollback = old == len(versions) - 1
        new = old - 1 if rollback else old + 1
        reason = None
        if self.fails(0.07):
            reason = self.pick(
                (
                    "firmware image checksum mismatch",
                    "3 miners rebooted during flashing; rolled back",
                )
            )
        else:
            self.rack_fw[k.id] = new
        return self.ev(
            b,
            "miner.firmware.update",
            "notice",
            [self._rack_target(k)],
            k.farm,
            f"{'Rolled back' if rollback else 'Updated'} firmware on {k.miners} {k.model} miners"
            f" in rack {k.label} to {versions[new]}",
            [{"field": "firmware", "old": versions[old], "new": versions[new]}],
            {"rack": k.label, "model": k.model, "miners": k.miners, "firmware": versions[new]},
            reason,
        )

    def _a_rack_power_set(self, b: _Burst) -> _Json:
        k = self._rack(b)
        old = self.rack_power[k.id]
        if self.r() < 0.06:
            new, severity = 0, "critical"
            desc = f"Powered off rack {k.label} at {k.farm} ({old} kW)"
        else:
            delta = self.pick((-12, -8, -5, 5, 8, 10))
            new = old + delta if old + delta >= 20 else old - delta
            severity = "notice"
            desc = f"Set power limit of rack {k.label} to {new} kW"
        self.rack_power[k.id] = new if new else k.power_kw
        return self.ev(
            b,
            "rack.power.set",
            severity,
            [self._rack_target(k)],
            k.farm,
            desc,
            [{"field": "power_limit_kw", "old": old, "new": new}],
            {"rack": k.label, "pdu": f"pdu-{k.label.lower()}-a", "feed": self.pick(("A", "B"))},
        )

    def _a_miner_overheat(self, b: _Burst) -> _Json:
        k = self.pick(self.w.all_racks)
        slot = 1 + int(self.r() * k.miners)
        temp = round(88.0 + self.r() * 9.0, 1)
        severity = "critical" if temp >= 96.0 else "warning"
        return self.ev(
            b,
            "miner.overheat",
            severity,
            [self._miner_target(k, slot), self._rack_target(k)],
            k.farm,
            f"Miner {k.label}-{slot:02d} chip temperature {temp} °C (limit 90 °C)",
            metadata={
                "rack": k.label,
                "temperature_c": temp,
                "threshold_c": 90,
                "fan_rpm": 5800 + int(self.r() * 900),
                "model": k.model,
            },
        )

    def _a_miner_pool_failover(self, b: _Burst) -> _Json:
        k = self.pick(self.w.all_racks)
        old = self.rack_pool[k.id]
        new = 4 if old != 4 else 0
        self.rack_pool[k.id] = new
        return self.ev(
            b,
            "miner.pool.failover",
            "warning",
            [self._rack_target(k)],
            k.farm,
            f"Rack {k.label} failed over to the backup pool after"
            f" {2 + int(self.r() * 6)} min without accepted shares",
            [{"field": "pool_url", "old": _POOLS[old], "new": _POOLS[new]}],
            {"rack": k.label, "rejected_pct": round(self.r() * 40 + 10, 1)},
        )

    def _a_pool_payout_run(self, b: _Burst) -> _Json:
        clients = 3 + int(self.r() * 9)
        btc = round(0.2 + self.r() * 2.4, 8)
        reason = "hot wallet balance below payout total" if self.fails(0.04) else None
        return self.ev(
            b,
            "pool.payout.run",
            "info",
            [{"id": "job-payouts-daily", "name": "Daily client payouts", "type": "job"}],
            "finance",
            f"Paid out {btc} BTC to {clients} hosting clients",
            metadata={
                "clients": clients,
                "amount_btc": btc,
                "network_fee_sat": 1200 + int(self.r() * 9000),
            },
            reason=reason,
        )

    def _a_client_bill_update(self, b: _Burst) -> _Json:
        c = self.pick(self.w.hosting_clients)
        old = self.bill[c.id]
        new = old + self.pick((-1, 1, 1)) * (500 + int(self.r() * 40_000))
        if new < 10_000:
            new = old + 5_000
        self.bill[c.id] = new
        rates = ("0.047", "0.049", "0.052", "0.055")
        kwh = int(self.r() * len(rates))
        changes = [{"field": "amount", "old": _money(old), "new": _money(new)}]
        if self.r() < 0.3:
            changes.append(
                {"field": "rate_usd_kwh", "old": rates[kwh], "new": rates[(kwh + 1) % len(rates)]}
            )
        return self.ev(
            b,
            "client.bill.update",
            "info",
            [
                {"id": f"bill-{c.id}-{self.ym}", "name": f"{c.name} {self.ym}", "type": "bill"},
                {"id": c.id, "name": c.name, "type": "client"},
            ],
            "finance",
            f"Updated {self.ym} hosting bill of {c.name}:"
            f" {_money_text(old)} → {_money_text(new)} USD",
            changes,
            {
                "currency": "USD",
                "period": self.ym,
                "note": self.pick(
                    ("curtailment credit", "extra rack", "metering correction", "late fee")
                ),
            },
        )

    def _a_hosting_invoice_create(self, b: _Burst) -> _Json:
        c = self.pick(self.w.hosting_clients)
        self.invoice_no += 1
        inv = f"HV-{self.ym}-{self.invoice_no:05d}"
        amount = self.bill[c.id]
        return self.ev(
            b,
            "invoice.create",
            "info",
            [
                {"id": inv, "name": f"Invoice {inv}", "type": "invoice"},
                {"id": c.id, "name": c.name, "type": "client"},
            ],
            "finance",
            f"Issued invoice {inv} to {c.name} for {_money_text(amount)} USD",
            metadata={"amount": _money(amount), "currency": "USD", "due_days": 14},
        )

    def _a_hosting_payment(self, b: _Burst) -> _Json:
        c = self.pick(self.w.hosting_clients)
        amount = self.bill[c.id]
        reason = "amount does not match any open invoice" if self.fails(0.05) else None
        return self.ev(
            b,
            "payment.record",
            "info",
            [{"id": c.id, "name": c.name, "type": "client"}],
            "finance",
            f"Recorded payment of {_money_text(amount)} USD from {c.name}",
            metadata={
                "amount": _money(amount),
                "currency": "USD",
                "method": self.pick(("wire", "wire", "USDT")),
                "reference": f"TX{self.bits(32):08X}",
            },
            reason=reason,
        )

    # -- ISP billing -----------------------------------------------------------------

    @staticmethod
    def _client_target(c: _Rec) -> _Json:
        return {"id": c.id, "name": c.name, "type": "client"}

    def _a_payment_record(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        fee = _ISP_PLANS[self.plan[c.id]][1]
        months = self.pick((1, 1, 1, 2, 3))
        reason = None
        if self.fails(0.04):
            reason = self.pick(("duplicate transaction id", "amount does not match open invoice"))
        return self.ev(
            b,
            "payment.record",
            "info",
            [self._client_target(c)],
            "billing",
            f"Recorded payment of {_money_text(fee * months)} PLN from {c.name}",
            metadata={
                "amount": _money(fee * months),
                "currency": "PLN",
                "method": self.pick(("bank_transfer", "cash", "card")),
                "invoice": f"FV/{self.ym.replace('-', '/')}/{int(self.r() * 9000) + 1000:05d}",
            },
            reason=reason,
        )

    def _a_payment_gateway(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        fee = _ISP_PLANS[self.plan[c.id]][1]
        reason = "signature verification failed" if self.fails(0.01) else None
        return self.ev(
            b,
            "payment.record",
            "info",
            [self._client_target(c)],
            "billing",
            f"Online payment of {_money_text(fee)} PLN from {c.name}",
            metadata={
                "amount": _money(fee),
                "currency": "PLN",
                "method": self.pick(("blik", "card", "pbl")),
                "provider_txn": f"P24-{self.bits(40):010d}",
            },
            reason=reason,
        )

    def _a_client_plan_change(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        old = self.plan[c.id]
        new = (old + 1 + int(self.r() * (len(_ISP_PLANS) - 1))) % len(_ISP_PLANS)
        self.plan[c.id] = new
        (op, of), (np_, nf) = _ISP_PLANS[old], _ISP_PLANS[new]
        return self.ev(
            b,
            "client.plan.change",
            "info",
            [self._client_target(c)],
            b.actor.scope,
            f"Changed plan of {c.name} from {op} to {np_}",
            [
                {"field": "plan", "old": op, "new": np_},
                {"field": "monthly_fee", "old": _money(of), "new": _money(nf)},
            ],
            {"city": c.extra[1], "effective": "next_cycle" if self.r() < 0.7 else "immediately"},
        )

    def _a_client_account_create(self, b: _Burst) -> _Json:
        self.account_no += 1 + int(self.r() * 5)
        name = _pl_name(self.pick)
        plan, fee = self.pick(_ISP_PLANS)
        city = self.pick(_ISP_CITIES)
        acc = f"acc-{self.account_no}"
        return self.ev(
            b,
            "client.account.create",
            "info",
            [{"id": acc, "name": name, "type": "client"}],
            b.actor.scope,
            f"Created account {acc} for {name} ({plan}, {city})",
            [
                {"field": "plan", "old": None, "new": plan},
                {"field": "status", "old": None, "new": "active"},
            ],
            {
                "plan": plan,
                "monthly_fee": _money(fee),
                "city": city,
                "address": f"{self.pick(_STREETS)} {1 + int(self.r() * 120)}",
                "connection": self.pick(("FTTH", "FTTH", "LTE", "Ethernet")),
            },
        )

    def _a_client_suspend(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        self.suspended.add(c.id)
        days = 30 + int(self.r() * 60)
        return self.ev(
            b,
            "client.suspend",
            "notice",
            [self._client_target(c)],
            "billing",
            f"Suspended {c.name} for non-payment ({days} days overdue)",
            [{"field": "status", "old": "active", "new": "suspended"}],
            {
                "overdue_days": days,
                "balance": _money(-_ISP_PLANS[self.plan[c.id]][1] * (days // 30)),
            },
        )

    def _a_client_restore(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        self.suspended.discard(c.id)
        return self.ev(
            b,
            "client.restore",
            "info",
            [self._client_target(c)],
            "support",
            f"Restored service for {c.name} after payment",
            [{"field": "status", "old": "suspended", "new": "active"}],
            {"ticket": f"SUP-{20_000 + int(self.r() * 9000)}"},
        )

    def _a_client_contact_update(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        fld = self.pick(("phone", "email", "billing_address"))
        if fld == "phone":
            old: Any = f"+48 6{int(self.r() * 1e8):08d}"
            new: Any = f"+48 5{int(self.r() * 1e8):08d}"
        elif fld == "email":
            base = _ascii(c.name).lower().replace(" ", ".")
            old, new = f"{base}@poczta.example", f"{base}@mail.example"
        else:
            number = 1 + int(self.r() * 120)
            old = f"{self.pick(_STREETS)} {number}"
            new = f"{self.pick(_STREETS)} {number + 1 + int(self.r() * 40)}"
        return self.ev(
            b,
            "client.contact.update",
            "info",
            [self._client_target(c)],
            "support",
            f"Updated {fld.replace('_', ' ')} of {c.name}",
            [{"field": fld, "old": old, "new": new}],
            {
                "ticket": f"SUP-{20_000 + int(self.r() * 9000)}",
                "channel": self.pick(("phone", "email", "chat")),
            },
        )

    @staticmethod
    def _router_target(rt: _Rec) -> _Json:
        return {"id": rt.id, "name": rt.name, "type": "router"}

    def _router_sync(self, b: _Burst, scope: str) -> _Json:
        rt = self.pick(self.w.routers)
        pop, model, ver = rt.extra
        reason = None
        if self.fails(0.05):
            reason = self.pick(
                (
                    "SNMP timeout after 10 s",
                    "RouterOS API: login failure for user 'billing'",
                    "connection reset by peer",
                )
            )
        sessions = 120 + int(self.r() * 600)
        return self.ev(
            b,
            "router.sync",
            "info",
            [self._router_target(rt)],
            scope,
            f"Synced {sessions} PPPoE accounts and queues to {rt.id}",
            metadata={
                "pop": pop,
                "model": model,
                "routeros": ver,
                "pppoe_sessions": sessions,
                "queues_changed": int(self.r() * 14),
            },
            reason=reason,
        )

    def _a_router_sync(self, b: _Burst) -> _Json:
        return self._router_sync(b, "noc")

    def _a_router_sync_manual(self, b: _Burst) -> _Json:
        return self._router_sync(b, "noc")

    def _a_router_reboot(self, b: _Burst) -> _Json:
        rt = self.pick(self.w.routers)
        reason = "router unreachable over management VLAN" if self.fails(0.05) else None
        return self.ev(
            b,
            "router.reboot",
            "warning",
            [self._router_target(rt)],
            "noc",
            f"Rebooted {rt.name}",
            metadata={
                "pop": rt.extra[0],
                "uptime_days": 3 + int(self.r() * 200),
                "ticket": f"NOC-{3000 + int(self.r() * 900)}",
            },
            reason=reason,
        )

    def _a_router_config_update(self, b: _Burst) -> _Json:
        rt = self.pick(self.w.routers)
        fld, old, new = self.pick(
            (
                ("qos_profile", "residential-v2", "residential-v3"),
                ("ntp_server", "10.20.0.1", "10.20.0.2"),
                ("dhcp_lease_time", "1h", "4h"),
                ("bgp_max_prefix", 1000, 2000),
                ("vlan_mgmt", 910, 911),
            )
        )
        return self.ev(
            b,
            "router.config.update",
            "notice",
            [self._router_target(rt)],
            "noc",
            f"Changed {fld} on {rt.id}",
            [{"field": fld, "old": old, "new": new}],
            {"pop": rt.extra[0], "change_ticket": f"CHG-{1200 + int(self.r() * 300)}"},
        )

    def _a_subscription_expire(self, b: _Burst) -> _Json:
        c = self.pick(self.w.isp_clients)
        plan = _ISP_PLANS[self.plan[c.id]][0]
        return self.ev(
            b,
            "subscription.expire",
            "info",
            [self._client_target(c)],
            "billing",
            f"Subscription {plan} of {c.name} expired",
            [{"field": "status", "old": "active", "new": "expired"}],
            {"plan": plan, "job": "expire-subscriptions", "grace_days": 7},
        )

    def _a_invoice_batch_generate(self, b: _Burst) -> _Json:
        isp = b.actor.org == "isp"
        count = 300 + int(self.r() * 60) if isp else len(self.w.hosting_clients)
        reason = None
        if self.fails(0.04):
            reason = (
                "tax rate missing for region 'opolskie'"
                if isp
                else "meter readings missing for farm-kz-2"
            )
        return self.ev(
            b,
            "invoice.batch.generate",
            "info",
            [
                {
                    "id": f"job-invoices-{self.ym}",
                    "name": f"Monthly invoices {self.ym}",
                    "type": "job",
                }
            ],
            "billing" if isp else "finance",
            f"Generated {count} invoices for {self.ym}",
            metadata={
                "invoices": count,
                "period": self.ym,
                "duration_ms": 800 + int(self.r() * 9000),
            },
            reason=reason,
        )

    # -- cluster platform ------------------------------------------------------------

    @staticmethod
    def _cluster_target(c: _Rec) -> _Json:
        return {"id": c.id, "name": c.name, "type": "cluster"}

    def _cluster(self, b: _Burst) -> _Rec:
        scope = b.actor.scope
        if scope.startswith("proj-") and self.r() < 0.8:
            own = [c for c in self.w.clusters if c.extra[0] == scope[5:]]
            if own:
                return self.pick(own)
        return self.pick(self.w.clusters)

    def _a_cluster_create(self, b: _Burst) -> _Json:
        project = b.actor.scope[5:] if b.actor.scope.startswith("proj-") else self.pick(_PROJECTS)
        self.next_cluster += 1
        purpose = self.pick(("preview", "loadtest", "sandbox", "feature"))
        name = f"{project}-{purpose}-{self.next_cluster}"
        cid = f"cls-{self.bits(24):06x}"
        region, pool = self.pick(_REGIONS), self.pick(_NODE_POOLS[:3])
        nodes = self.pick((2, 3, 3, 5))
        reason = None
        if self.fails(0.05):
            reason = self.pick(
                (
                    "subnet 10.96.0.0/16 overlaps an existing VPC",
                    f"quota exceeded: 64 vCPU limit in {region}",
                )
            )
        return self.ev(
            b,
            "cluster.create",
            "info",
            [{"id": cid, "name": name, "type": "cluster"}],
            f"proj-{project}",
            f"Created cluster {name} in {region} with {nodes} {pool} nodes",
            [{"field": "node_count", "old": None, "new": nodes}],
            {"region": region, "kubernetes": _K8S[-1], "node_pool": pool, "nodes": nodes},
            reason,
        )

    def _scale(self, b: _Burst, c: _Rec, manual: bool) -> _Json:
        old = self.nodes[c.id]
        step = self.pick((1, 1, 2, 3)) * (1 if self.r() < 0.55 or old <= 2 else -1)
        new = max(1, min(old + step, 40))
        if new == old:
            new = old - 1
        reason = None
        if step > 0 and self.fails(0.06):
            reason = self.pick(
                (
                    f"quota exceeded: 64 vCPU limit in {c.extra[1]}",
                    "node pool is being upgraded; retry later",
                )
            )
        else:
            self.nodes[c.id] = new
        trigger = (
            "manual"
            if manual
            else self.pick(("cpu > 80% for 10 min", "pending pods: 14", "cpu < 30% for 30 min"))
        )
        return self.ev(
            b,
            "cluster.scale",
            "info",
            [self._cluster_target(c)],
            f"proj-{c.extra[0]}",
            f"Scaled cluster {c.name} from {old} to {new} nodes",
            [{"field": "node_count", "old": old, "new": new}],
            {"region": c.extra[1], "node_pool": c.extra[2], "trigger": trigger},
            reason,
        )

    def _a_cluster_scale(self, b: _Burst) -> _Json:
        return self._scale(b, self._cluster(b), True)

    def _a_cluster_autoscale(self, b: _Burst) -> _Json:
        return self._scale(b, self.pick(self.w.clusters), False)

    def _a_cluster_delete(self, b: _Burst) -> _Json:
        c = self._cluster(b)
        prod = "prod" in c.name
        if not prod or self.r() < 0.4:
            name = f"{c.name.split('-')[0]}-preview-{int(self.r() * 90) + 10}"
            prod = False
        else:
            name = c.name
        reason = "cluster has deletion protection enabled" if prod and self.r() < 0.5 else None
        return self.ev(
            b,
            "cluster.delete",
            "critical" if prod else "warning",
            [{"id": c.id if prod else f"cls-{self.bits(24):06x}", "name": name, "type": "cluster"}],
            f"proj-{c.extra[0]}",
            f"Deleted cluster {name} and its {self.nodes[c.id]} nodes",
            metadata={
                "region": c.extra[1],
                "volumes_deleted": int(self.r() * 12),
                "confirmation": "typed cluster name",
            },
            reason=reason,
        )

    def _a_cluster_upgrade(self, b: _Burst) -> _Json:
        c = self._cluster(b)
        old = self.k8s[c.id]
        reason = "PodDisruptionBudget blocks node drain" if self.fails(0.06) else None
        if old < len(_K8S) - 1:
            fld, before, after = "kubernetes", _K8S[old], _K8S[old + 1]
            desc = f"Upgraded cluster {c.name} to Kubernetes {after}"
            if reason is None:
                self.k8s[c.id] = old + 1
        else:  # on the newest version: roll the node image instead
            image = self.image.get(c.id, 0)
            fld, before = "node_image", _NODE_IMAGES[image]
            after = _NODE_IMAGES[(image + 1) % len(_NODE_IMAGES)]
            desc = f"Rolled nodes of cluster {c.name} to image {after}"
            if reason is None:
                self.image[c.id] = (image + 1) % len(_NODE_IMAGES)
        return self.ev(
            b,
            "cluster.upgrade",
            "notice",
            [self._cluster_target(c)],
            f"proj-{c.extra[0]}",
            desc,
            [{"field": fld, "old": before, "new": after}],
            {"region": c.extra[1], "strategy": "surge", "max_surge": 1},
            reason,
        )

    def _a_config_profile_update(self, b: _Burst) -> _Json:
        p = self.pick(self.w.profiles)
        fld, values = self.pick(_PROFILE_FIELDS)
        old = self.profile_values.get((p.id, fld), values[0])
        new = self.pick([v for v in values if v != old])
        reason = None
        if fld == "max_pods" and new == 250 and self.r() < 0.5:
            reason = "validation failed: max_pods above 200 needs a /22 pod CIDR"
        else:
            self.profile_values[(p.id, fld)] = new
        severity = (
            "warning"
            if (fld, new) in (("audit_log", False), ("pod_security", "privileged"))
            else "info"
        )
        return self.ev(
            b,
            "config_profile.update",
            severity,
            [{"id": p.id, "name": p.name, "type": "config_profile"}],
            "platform",
            f"Changed {fld} of config profile {p.name} from {old} to {new}",
            [{"field": fld, "old": old, "new": new}],
            {"clusters_affected": 1 + int(self.r() * 6), "rollout": "next node replacement"},
            reason,
        )

    def _a_cluster_node_fail(self, b: _Burst) -> _Json:
        c = self.pick(self.w.clusters)
        node = f"{c.name}-{c.extra[2]}-{self.bits(20):05x}"
        return self.ev(
            b,
            "cluster.node.fail",
            "warning",
            [{"id": node, "name": node, "type": "node"}, self._cluster_target(c)],
            f"proj-{c.extra[0]}",
            f"Node {node} stopped reporting; replacement started",
            metadata={
                "region": c.extra[1],
                "last_heartbeat_s": 40 + int(self.r() * 200),
                "pods_evicted": int(self.r() * 40),
            },
        )

    def _a_certificate_renew(self, b: _Burst) -> _Json:
        c = self.pick(self.w.clusters)
        return self.ev(
            b,
            "certificate.renew",
            "info",
            [{"id": f"cert-{c.id}-api", "name": f"{c.name} API server", "type": "certificate"}],
            f"proj-{c.extra[0]}",
            f"Renewed API server certificate of {c.name}",
            [{"field": "not_after", "old": "in 14 days", "new": "in 365 days"}],
            {"issuer": "Kubeport internal CA", "key": "ECDSA P-256"},
        )

    def _a_backup_run(self, b: _Burst) -> _Json:
        c = self.pick(self.w.clusters)
        reason = None
        if self.fails(0.05):
            reason = "disk quota exceeded on backup target s3://kubeport-backups"
        gb = round(2 + self.r() * 180, 1)
        return self.ev(
            b,
            "backup.run",
            "warning" if reason else "info",
            [self._cluster_target(c)],
            f"proj-{c.extra[0]}",
            f"Backed up {c.name} ({gb} GB)",
            metadata={"size_gb": gb, "volumes": 1 + int(self.r() * 20), "schedule": "0 2 * * *"},
            reason=reason,
        )

    # -- CRM -------------------------------------------------------------------------

    @staticmethod
    def _contact_target(c: _Rec) -> _Json:
        return {"id": c.id, "name": c.name, "type": "contact"}

    def _a_contact_update(self, b: _Burst) -> _Json:
        c = self.pick(self.w.contacts)
        fld = self.pick(("phone", "job_title", "lifecycle_stage", "owner", "email"))
        if fld == "phone":
            number = int(self.r() * 50_000)
            old: Any = f"+44 7700 9{number:05d}"
            new: Any = f"+44 7700 9{number + 1 + int(self.r() * 49_000):05d}"
        elif fld == "job_title":
            old, new = self.pick(
                (
                    ("Office Manager", "Operations Director"),
                    ("Buyer", "Head of Procurement"),
                    ("CFO", "CEO"),
                    ("IT Lead", "CTO"),
                )
            )
        elif fld == "lifecycle_stage":
            old, new = self.pick(
                (("lead", "opportunity"), ("opportunity", "customer"), ("customer", "churned"))
            )
        elif fld == "owner":
            old, new = self._colleague(b).ref["name"], b.actor.ref["name"]
        else:
            old, new = c.extra[1], c.extra[1].replace("@", ".work@")
        return self.ev(
            b,
            "contact.update",
            "info",
            [self._contact_target(c)],
            b.actor.scope,
            f"Updated {fld.replace('_', ' ')} of {c.name} ({c.extra[0]})",
            [{"field": fld, "old": old, "new": new}],
            {"company": c.extra[0]},
        )

    def _a_contact_create(self, b: _Burst) -> _Json:
        first, last, company = self.pick(_EN_FIRST), self.pick(_EN_LAST), self.pick(_COMPANIES)
        name = f"{first} {last}"
        return self.ev(
            b,
            "contact.create",
            "info",
            [{"id": f"ct-{49_000 + self.bits(16)}", "name": name, "type": "contact"}],
            b.actor.scope,
            f"Added contact {name} at {company}",
            metadata={
                "company": company,
                "source": self.pick(("web form", "trade show", "referral", "import")),
            },
        )

    def _a_contact_import(self, b: _Burst) -> _Json:
        rows = 20 + int(self.r() * 400)
        reason = "CSV column 'email' missing in 3 rows" if self.fails(0.04) else None
        return self.ev(
            b,
            "contact.import",
            "info",
            [{"id": "list-newsletter", "name": "Newsletter sign-ups", "type": "list"}],
            "sales",
            f"Imported {rows} contacts from the marketing platform",
            metadata={
                "rows": rows,
                "duplicates_skipped": int(self.r() * 30),
                "source": "newsletter",
            },
            reason=reason,
        )

    def _a_contact_bulk_delete(self, b: _Burst) -> _Json:
        count = self.pick((12, 40, 85, 230, 640, 1800))
        company = self.pick(_COMPANIES)
        return self.ev(
            b,
            "contact.bulk_delete",
            "critical" if count >= 500 else "warning",
            [{"id": "contacts", "name": "Contacts", "type": "dataset"}],
            b.actor.scope,
            f'Deleted {count} contacts matching company:"{company}"',
            metadata={"count": count, "filter": f'company:"{company}"', "recoverable_days": 30},
        )

    def _a_deal_stage_change(self, b: _Burst) -> _Json:
        d = self.pick(self.w.deals)
        old = self.stage[d.id]
        if old >= 4:  # closed: the pool is small, so it comes back as a new opportunity
            old = 0
        new = old + 1 if old < 3 else self.pick((4, 4, 5))
        self.stage[d.id] = new
        amount = int(d.extra[0]) * 100
        return self.ev(
            b,
            "deal.stage.change",
            "info",
            [{"id": d.id, "name": d.name, "type": "deal"}],
            "sales",
            f"Moved deal {d.name} from {_STAGES[old]} to {_STAGES[new]}",
            [{"field": "stage", "old": _STAGES[old], "new": _STAGES[new]}],
            {"amount": _money(amount), "currency": "GBP", "pipeline": "New business"},
        )

    def _a_ticket_close(self, b: _Burst) -> _Json:
        c = self.pick(self.w.contacts)
        tid = f"TCK-{70_000 + int(self.r() * 20_000)}"
        return self.ev(
            b,
            "ticket.close",
            "info",
            [
                {
                    "id": tid,
                    "name": self.pick(
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
                self._contact_target(c),
            ],
            "support",
            f"Closed ticket {tid} for {c.name}",
            [{"field": "status", "old": "open", "new": "closed"}],
            {"resolution_hours": round(0.5 + self.r() * 70, 1), "csat": self.pick((3, 4, 5, 5))},
        )

    def _a_service_restart(self, b: _Burst) -> _Json:
        svc = self.pick(("search-indexer", "mail-worker", "api-gateway", "report-renderer"))
        return self.ev(
            b,
            "service.restart",
            "notice",
            [{"id": f"svc-{svc}", "name": svc, "type": "service"}],
            "platform",
            f"Restarted {svc} after health check failures",
            metadata={
                "failed_checks": 3,
                "downtime_s": 4 + int(self.r() * 40),
                "host": f"app-{1 + int(self.r() * 6)}",
            },
        )

    def _a_nightly_export(self, b: _Burst) -> _Json:
        rows = 40_000 + int(self.r() * 8000)
        return self.ev(
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

    # -- gaming back office ----------------------------------------------------------

    @staticmethod
    def _player_target(p: _Rec) -> _Json:
        return {"id": p.id, "name": p.name, "type": "player"}

    def _a_player_balance_adjust(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        old = self.balance[p.id]
        delta = self.pick((1, 1, 1, -1)) * self.pick(
            (500, 1000, 2500, 5000, 10_000, 25_000, 600_000)
        )
        if old + delta < 0:
            delta = -delta
        new = old + delta
        self.balance[p.id] = new
        code = self.pick(("goodwill", "game malfunction", "duplicate deposit", "manual correction"))
        return self.ev(
            b,
            "player.balance.adjust",
            "warning" if abs(delta) >= 500_000 else "info",
            [self._player_target(p)],
            b.actor.scope,
            f"Adjusted balance of {p.name} by {'+' if delta >= 0 else '-'}"
            f"{_money_text(abs(delta))} EUR ({code})",
            [{"field": "balance", "old": _money(old), "new": _money(new)}],
            {
                "amount": _money(delta),
                "currency": "EUR",
                "reason_code": code,
                "ticket": f"SUP-{48_000 + int(self.r() * 9000)}",
            },
        )

    def _a_bonus_manual_assign(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        code, cents = self.pick(
            (
                ("VIP-RELOAD-50", 5000),
                ("WELCOME-BACK-20", 2000),
                ("BDAY-25", 2500),
                ("HIGHROLLER-500", 50_000),
                ("FREESPINS-100", 0),
            )
        )
        reason = "bonus exceeds per-player weekly cap" if self.fails(0.05) else None
        return self.ev(
            b,
            "bonus.manual_assign",
            "notice" if cents >= 50_000 else "info",
            [
                self._player_target(p),
                {"id": f"bonus-{code.lower()}", "name": code, "type": "bonus"},
            ],
            "bonuses",
            f"Assigned bonus {code} to {p.name}",
            metadata={
                "bonus_code": code,
                "amount": _money(cents),
                "currency": "EUR",
                "wagering": self.pick((20, 30, 35, 40)),
            },
            reason=reason,
        )

    def _a_bonus_cancel(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        return self.ev(
            b,
            "bonus.cancel",
            "info",
            [self._player_target(p)],
            "bonuses",
            f"Cancelled active bonus of {p.name}",
            [{"field": "bonus_status", "old": "active", "new": "cancelled"}],
            {"reason_code": self.pick(("abuse suspected", "player request", "wrong bonus"))},
        )

    def _a_bonus_campaign_run(self, b: _Burst) -> _Json:
        players = 200 + int(self.r() * 3000)
        return self.ev(
            b,
            "bonus.campaign.run",
            "info",
            [{"id": "camp-weekend-reload", "name": "Weekend reload", "type": "campaign"}],
            "bonuses",
            f"Weekend reload campaign credited {players} players",
            metadata={"players": players, "amount_each": "10.00", "currency": "EUR"},
        )

    def _a_withdrawal_approve(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        cents = int(self.r() ** 3 * 1_600_000) + 2000
        over = cents > 1_000_000
        reason = None
        if self.fails(0.05):
            reason = self.pick(
                (
                    "payment provider declined: insufficient merchant balance",
                    "player KYC not verified",
                )
            )
        wid = f"wd-{self.bits(32):08x}"
        md: _Json = {
            "amount": _money(cents),
            "currency": "EUR",
            "method": self.pick(("bank_transfer", "skrill", "card", "trustly")),
            "limit": "10000.00",
            "over_limit": over,
        }
        if over:
            md["second_approver"] = self.pick(self.w.staff["gaming"][:3]).ref["email"]
        return self.ev(
            b,
            "withdrawal.approve",
            "critical" if over else "info",
            [
                {"id": wid, "name": f"Withdrawal {_money_text(cents)} EUR", "type": "withdrawal"},
                self._player_target(p),
            ],
            "payments",
            f"Approved withdrawal of {_money_text(cents)} EUR for {p.name}"
            + (" above the 10,000 EUR limit" if over else ""),
            [{"field": "status", "old": "pending", "new": "approved"}],
            md,
            reason,
        )

    def _a_withdrawal_reject(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        cents = int(self.r() ** 2 * 500_000) + 2000
        why = self.pick(
            (
                "kyc_incomplete",
                "bonus wagering not met",
                "payment method mismatch",
                "multi-accounting suspected",
            )
        )
        return self.ev(
            b,
            "withdrawal.reject",
            "notice",
            [
                {
                    "id": f"wd-{self.bits(32):08x}",
                    "name": f"Withdrawal {_money_text(cents)} EUR",
                    "type": "withdrawal",
                },
                self._player_target(p),
            ],
            "payments",
            f"Rejected withdrawal of {_money_text(cents)} EUR for {p.name}: {why}",
            [{"field": "status", "old": "pending", "new": "rejected"}],
            {"amount": _money(cents), "currency": "EUR", "reject_reason": why},
        )

    def _block(self, b: _Burst, rule: str, score: float) -> _Json:
        p = self.pick(self.w.players)
        self.blocked.add(p.id)
        return self.ev(
            b,
            "player.block",
            "warning",
            [self._player_target(p)],
            "risk",
            f"Blocked player {p.name}: {rule}",
            [{"field": "status", "old": "active", "new": "blocked"}],
            {"rule": rule, "score": score, "country": p.extra[0]},
        )

    def _a_player_block(self, b: _Burst) -> _Json:
        return self._block(
            b,
            self.pick(("self-exclusion request", "chargeback", "bonus abuse")),
            round(self.r(), 2),
        )

    def _a_risk_block(self, b: _Burst) -> _Json:
        return self._block(
            b,
            self.pick(("multi-accounting", "device fingerprint match", "velocity")),
            round(0.8 + self.r() * 0.19, 2),
        )

    def _a_player_unblock(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        self.blocked.discard(p.id)
        return self.ev(
            b,
            "player.unblock",
            "notice",
            [self._player_target(p)],
            "risk",
            f"Unblocked player {p.name} after review",
            [{"field": "status", "old": "blocked", "new": "active"}],
            {"review": f"RISK-{500 + int(self.r() * 400)}"},
        )

    def _a_player_kyc_verify(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        reason = "document expired" if self.fails(0.08) else None
        return self.ev(
            b,
            "player.kyc.verify",
            "info",
            [self._player_target(p)],
            "risk",
            f"Verified identity documents of {p.name}",
            [{"field": "kyc_level", "old": 1, "new": 2}],
            {
                "documents": self.pick(
                    (["passport"], ["id_card", "utility_bill"], ["passport", "bank_statement"])
                ),
                "country": p.extra[0],
            },
            reason,
        )

    def _a_deposit_record(self, b: _Burst) -> _Json:
        p = self.pick(self.w.players)
        cents = self.pick((1000, 2000, 2500, 5000, 10_000, 20_000, 50_000))
        self.balance[p.id] += cents
        reason = "3-D Secure authentication failed" if self.fails(0.03) else None
        return self.ev(
            b,
            "payment.record",
            "info",
            [self._player_target(p)],
            "payments",
            f"Deposit of {_money_text(cents)} EUR by {p.name}",
            metadata={
                "amount": _money(cents),
                "currency": "EUR",
                "method": self.pick(("card", "trustly", "skrill", "apple_pay")),
                "psp_reference": f"PSP{self.bits(48):012X}",
            },
            reason=reason,
        )

    def _a_database_failover(self, b: _Burst) -> _Json:
        return self.ev(
            b,
            "database.failover",
            "critical",
            [{"id": "db-wallet-primary", "name": "wallet database", "type": "database"}],
            "backoffice",
            "Wallet database failed over to the standby replica",
            metadata={
                "old_primary": "db-wallet-1",
                "new_primary": "db-wallet-2",
                "lag_bytes": int(self.r() * 4096),
                "downtime_s": 6 + int(self.r() * 20),
            },
        )

    def _a_disk_space_low(self, b: _Burst) -> _Json:
        pct = 85 + int(self.r() * 12)
        return self.ev(
            b,
            "disk.space.low",
            "warning",
            [{"id": "host-game-log-2", "name": "game-log-2", "type": "host"}],
            "backoffice",
            f"Disk /var/lib/postgresql on game-log-2 is {pct}% full",
            metadata={
                "used_pct": pct,
                "free_gb": round((100 - pct) * 4.8, 1),
                "mount": "/var/lib/postgresql",
            },
        )

    # -- shared: staff admin, views, exports -------------------------------------------

    def _colleague(self, b: _Burst) -> _Actor:
        """Someone else in the actor's company."""
        staff = self.w.staff.get(b.actor.org) or self.w.staff["crm"]
        i = int(self.r() * len(staff))
        return staff[i] if staff[i] is not b.actor else staff[(i + 1) % len(staff)]

    @staticmethod
    def _user_target(a: _Actor) -> _Json:
        return {"id": a.ref["id"], "name": a.ref["name"], "type": "user"}

    def _a_role_assign(self, b: _Burst) -> _Json:
        u = self._colleague(b)
        old = self.roles.get(u.ref["id"], "operator" if u.team != "admin" else "admin")
        new = self.pick(_ROLES[1:5]) if self.r() < 0.96 else "owner"
        if new == old:
            new = "viewer" if old != "viewer" else "support"
        was = f"was {old}" if old else "had no role"
        reason = None
        if new in ("admin", "owner") and self.fails(0.08):
            reason = "insufficient privileges: only owners may grant admin"
        else:
            self.roles[u.ref["id"]] = new
        severity = "critical" if new == "owner" else "notice" if new == "admin" else "info"
        return self.ev(
            b,
            "role.assign",
            severity,
            [self._user_target(u), {"id": f"role-{new}", "name": new.title(), "type": "role"}],
            b.actor.scope,
            f"Gave {u.ref['name']} the {new} role ({was})",
            [{"field": "role", "old": old or None, "new": new}],
            {"ticket": f"IAM-{100 + int(self.r() * 400)}", "mfa_confirmed": True},
            reason,
        )

    def _a_role_revoke(self, b: _Burst) -> _Json:
        u = self._colleague(b)
        old = self.roles.get(u.ref["id"], "operator") or "viewer"
        new = "viewer" if old != "viewer" else ""  # "": no role left, no access
        self.roles[u.ref["id"]] = new
        return self.ev(
            b,
            "role.revoke",
            "notice",
            [self._user_target(u), {"id": f"role-{old}", "name": old.title(), "type": "role"}],
            b.actor.scope,
            f"Revoked the {old} role from {u.ref['name']}",
            [{"field": "role", "old": old, "new": new or None}],
            {"ticket": f"IAM-{100 + int(self.r() * 400)}"},
        )

    def _a_user_create(self, b: _Burst) -> _Json:
        name, _country = self.pick(self.w.new_hires)
        org = b.actor.org if b.actor.org in _ORGS else "crm"
        _company, domain, style, *_ = _ORGS[org]
        email = _email(name, style, domain)
        role = self.pick(("viewer", "support", "operator"))
        return self.ev(
            b,
            "user.create",
            "notice",
            [{"id": f"usr_{self.bits(40):010x}", "name": name, "type": "user"}],
            b.actor.scope,
            f"Invited {name} <{email}> as {role}",
            [
                {"field": "email", "old": None, "new": email},
                {"field": "role", "old": None, "new": role},
            ],
            {"invite_expires_h": 72},
        )

    def _a_user_disable(self, b: _Burst) -> _Json:
        u = self._colleague(b)
        return self.ev(
            b,
            "user.disable",
            "notice",
            [self._user_target(u)],
            b.actor.scope,
            f"Disabled account of {u.ref['name']}",
            [{"field": "status", "old": "active", "new": "disabled"}],
            {
                "sessions_revoked": 1 + int(self.r() * 3),
                "reason_code": self.pick(("leaver", "long leave", "security review")),
            },
        )

    def _a_user_password_reset(self, b: _Burst) -> _Json:
        u = self._colleague(b)
        return self.ev(
            b,
            "user.password.reset",
            "info",
            [self._user_target(u)],
            b.actor.scope,
            f"Sent a password reset link to {u.ref['email']}",
            metadata={"method": "email_link", "expires_min": 30},
        )

    def _a_api_key_create(self, b: _Burst) -> _Json:
        name = self.pick(
            ("CI deploys", "Grafana read-only", "Billing export", "Terraform", "Zapier")
        )
        scopes = (
            ["read"] if "read" in name.lower() or name == "Billing export" else ["read", "write"]
        )
        return self.ev(
            b,
            "api_key.create",
            "notice",
            [{"id": f"key_live_{self.bits(24):06x}", "name": name, "type": "api_key"}],
            b.actor.scope,
            f'Created API key "{name}" with scopes {", ".join(scopes)}',
            metadata={"scopes": scopes, "expires_in_days": self.pick((30, 90, 365))},
        )

    def _a_page_view(self, b: _Burst) -> _Json:
        org = b.actor.org if b.actor.org in _ORGS else self.pick(self.w.orgs)
        path = self.pick(_PATHS[org])
        target: _Json
        if "{" in path:
            if org == "mining":
                k = self._rack(b)
                c = self.pick(self.w.hosting_clients)
                path = path.format(farm=k.farm, rack=k.label, hc=c.id)
                target = (
                    self._rack_target(k)
                    if "rack" in path
                    else {"id": c.id, "name": c.name, "type": "client"}
                )
            elif org == "isp":
                c = self.pick(self.w.isp_clients)
                rt = self.pick(self.w.routers)
                path = path.format(acc=c.id, rtr=rt.id)
                target = self._router_target(rt) if "routers" in path else self._client_target(c)
            elif org == "cloud":
                cl = self._cluster(b)
                path = path.format(proj=cl.extra[0], cls=cl.id)
                target = (
                    self._cluster_target(cl)
                    if "clusters" in path
                    else {
                        "id": f"proj-{cl.extra[0]}",
                        "name": cl.extra[0].title(),
                        "type": "project",
                    }
                )
            elif org == "crm":
                ct, d = self.pick(self.w.contacts), self.pick(self.w.deals)
                path = path.format(ct=ct.id, deal=d.id)
                target = (
                    self._contact_target(ct)
                    if "contacts" in path
                    else {"id": d.id, "name": d.name, "type": "deal"}
                )
            else:
                p = self.pick(self.w.players)
                path = path.format(plr=p.id)
                target = self._player_target(p)
        else:
            target = {"id": path, "name": path, "type": "page"}
        reason = None
        status = 200
        if self.fails(0.02):
            reason = f"forbidden: role '{self.pick(('support', 'viewer'))}' lacks {org}.read"
            status = 403
        return self.ev(
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
                "duration_ms": 20 + int(self.r() * 400),
            },
            reason=reason,
        )

    def _a_record_export(self, b: _Burst) -> _Json:
        org = b.actor.org
        dataset, label, filt = {
            "mining": ("hosting_bills", "Hosting bills", f"period:{self.ym}"),
            "isp": ("clients", "Clients", f"city:{self.pick(_ISP_CITIES)} status:active"),
            "cloud": ("usage", "Usage", f"period:{self.ym}"),
            "crm": ("contacts", "Contacts", "stage:customer region:UK"),
            "gaming": ("transactions", "Player transactions", "type:withdrawal amount>1000"),
        }.get(org, ("audit_trail", "Audit trail", f"after:{self.ym}-01 category:admin"))
        rows = int(self.r() ** 2 * 60_000) + 12
        reason = None
        if rows > 50_000 and self.r() < 0.5:
            reason = "export exceeds 50,000 rows; narrow the filter"
        fmt = self.pick(("csv", "csv", "xlsx"))
        return self.ev(
            b,
            "record.export",
            "notice" if rows > 10_000 else "info",
            [{"id": dataset, "name": label, "type": "dataset"}],
            b.actor.scope,
            f"Exported {rows:,} rows of {label.lower()} as {fmt.upper()}",
            metadata={"format": fmt, "rows": rows, "filter": filt},
            reason=reason,
        )


# --------------------------------------------------------------------------------------
# The generator.
# --------------------------------------------------------------------------------------


def demo_events(
    count: int, *, seed: int = 7, end_us: int | None = None, span_days: float = 30.0
) -> Iterator[dict[str, Any]]:
    """Yield ``count`` demo events (``EventIn`` inputs as JSON-compatible dicts), in
    ascending ``occurred_at`` order, spread over ``span_days`` ending at ``end_us``
    (microseconds since the epoch; default: now). Deterministic for ``seed`` and
    ``end_us``. No server-owned fields and no ``idempotency_key`` are set."""
    if count < 0:
        raise ValueError("count must not be negative")
    if not span_days > 0 or math.isinf(span_days):
        raise ValueError("span_days must be a positive number")
    if end_us is None:
        end_us = now_us()
    start_us = end_us - int(span_days * _DAY)
    if start_us < 0:
        raise ValueError("the span must not start before 1970")
    return _generate(count, seed, start_us, end_us)


def _generate(count: int, seed: int, start_us: int, end_us: int) -> Iterator[_Json]:
    if count == 0:
        return
    master = Random(seed)
    plan_seed = master.getrandbits(64)
    time_rng = Random(master.getrandbits(64))
    run = _Run(master.getrandbits(64))

    # Count the bursts that hold ``count`` events, then replay the same plan.
    plan = Random(plan_seed)
    planned = bursts = 0
    while planned < count:
        planned += _burst_plan(plan)[1]
        bursts += 1
    plan = Random(plan_seed)

    bounds, cum = _warp_table(start_us, end_us)
    total = cum[-1]
    last_bucket = len(bounds) - 2
    trand = time_rng.random
    rng = run.r
    log = math.log

    def burst_start(left: int, rest: float) -> tuple[int, float]:
        # Ascending uniform order statistics, one at a time (``rest`` is 1 - the last),
        # mapped through the activity curve (monotone, so the order is kept).
        rest *= trand() ** (1.0 / left)
        target = (1.0 - rest) * total
        i = min(bisect_right(cum, target) - 1, last_bucket)
        a, b = bounds[i], bounds[i + 1]
        span = cum[i + 1] - cum[i]
        frac = (target - cum[i]) / span if span > 0 else 0.0
        return a + int(min(frac, 1.0) * (b - a)), rest

    heap: list[tuple[int, int, _Burst]] = []
    left = bursts
    rest = 1.0
    next_start, rest = burst_start(left, rest)
    serial = 0
    day = -1
    prefix = ""
    emitted = 0
    while emitted < count:
        if left and (not heap or next_start <= heap[0][0]):
            kind, size = _burst_plan(plan)
            serial += 1
            heapq.heappush(heap, (next_start, serial, run.new_burst(kind, size, next_start)))
            left -= 1
            if left:
                next_start, rest = burst_start(left, rest)
            continue
        t, order, burst = heapq.heappop(heap)
        if t > end_us:
            t = end_us
        if t // _DAY != day:
            day = t // _DAY
            prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
            run.ym = prefix[:7]
        rem = t - day * _DAY
        secs, micros = divmod(rem, _SECOND)
        run.ts = f"{prefix}{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{micros:06d}Z"
        run.t = t
        yield run.next_event(burst)
        emitted += 1
        if burst.idx < burst.size:
            kind = burst.kind
            if kind == _SESSION:
                gap = 2.0 + -log(1.0 - rng()) * 50.0
            elif kind == _MACHINE:
                gap = 0.05 + rng() * 4.0
            else:
                gap = 0.8 + rng() * 3.0
            heapq.heappush(heap, (t + int(gap * _SECOND), order, burst))
