"""The world the demo happens in: every thing events point at (racks, hosting and ISP
clients, routers, clusters, config profiles, contacts, deals, players), the staff and
machines as ``Actor`` records, and the attackers. ``build_world`` makes it once per
process from a fixed seed; nothing in it changes while events are generated (what does
change lives in ``run.Run``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from random import Random
from typing import Any

from trailbook.service.demo.actors import (
    ATTACK_COUNTRIES,
    BOTS,
    NEW_HIRES,
    ORGS,
    STAFF,
    UA_ATTACK,
    UA_DESKTOP,
    UA_MOBILE,
    Actor,
    Job,
    office_hours,
)
from trailbook.service.demo.text import email_address, slug


@dataclass(frozen=True, slots=True)
class Rack:
    """A rack of miners at a farm."""

    id: str
    label: str
    farm: str
    model: str
    miners: int
    power_kw: int


@dataclass(frozen=True, slots=True)
class Record:
    """A thing events point at: id, display name, and a few attributes."""

    id: str
    name: str
    extra: tuple[Any, ...] = ()


@dataclass(slots=True)
class World:
    staff: dict[str, list[Actor]] = field(default_factory=dict)
    jobs: dict[str, list[Job]] = field(default_factory=dict)
    orgs: tuple[str, ...] = ()
    org_cum: list[float] = field(default_factory=list)
    staff_cum_by_hour: list[list[float]] = field(default_factory=list)
    racks: dict[str, list[Rack]] = field(default_factory=dict)
    all_racks: list[Rack] = field(default_factory=list)
    hosting_clients: list[Record] = field(default_factory=list)
    isp_clients: list[Record] = field(default_factory=list)
    routers: list[Record] = field(default_factory=list)
    clusters: list[Record] = field(default_factory=list)
    profiles: list[Record] = field(default_factory=list)
    contacts: list[Record] = field(default_factory=list)
    deals: list[Record] = field(default_factory=list)
    players: list[Record] = field(default_factory=list)
    attackers: list[tuple[str, str, str]] = field(default_factory=list)
    new_hires: list[tuple[str, str]] = field(default_factory=list)
    auditor: Actor | None = None


# What the records are drawn from, by back office.
_FARMS = {
    "farm-kz-1": ("Ekibastuz", "AB"),
    "farm-kz-2": ("Pavlodar", "CD"),
    "farm-se-1": ("Boden", "H"),
}
_MINER_MODELS = ("Antminer S19j Pro", "Antminer S21", "Whatsminer M50S", "Avalon A1366")
_HOSTING_CLIENTS = (
    "Aral Hash LLP", "Steppe Compute LLP", "Borealis Hash AB", "Tengri Digital Ltd",
    "Altyn Blocks LLP", "Saryarka Hashworks", "Polar Joule AB", "Irtysh Data LLP",
    "Baltic Sats OU", "Karaganda Compute", "Midnight Sun Mining AB", "Nomad Hash Ltd",
)  # fmt: skip
ISP_PLANS = (
    ("Fiber 150", 5999), ("Fiber 300", 7999), ("Fiber 600", 9999), ("Fiber 1000", 12999),
    ("Business 500", 24900), ("LTE 50", 4999),
)  # fmt: skip
ISP_CITIES = ("Wrocław", "Opole", "Legnica", "Wałbrzych", "Świdnica", "Oleśnica", "Brzeg")
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


def polish_name(pick: Callable[[Sequence[Any]], Any]) -> str:
    female = pick((True, False))
    first = pick(_PL_FIRST_F if female else _PL_FIRST_M)
    return f"{first} {pick(_PL_LAST)[1 if female else 0]}"


PROJECTS = ("atlas", "orion", "vega", "lyra")
REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "ap-southeast-1")
NODE_POOLS = ("standard-4", "standard-8", "highmem-8", "gpu-a100")
_CLUSTER_KINDS = ("prod-eu", "prod-us", "staging", "dev", "batch", "ml-gpu", "canary")
_PROFILES = ("default-hardened", "ml-gpu", "batch-spot", "pci-restricted", "dev-relaxed")

EN_FIRST = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Grace",
    "Liam", "Chloe", "Ethan", "Sophie", "Ryan", "Aoife", "Conor", "Niamh", "Aisha", "Ravi",
)  # fmt: skip
EN_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts", "Byrne",
    "Kelly", "Ryan", "Doyle", "Patel", "Khan", "Clarke", "Hughes", "Price", "Turner",
)  # fmt: skip
COMPANIES = (
    "Harbor Logistics", "Greenfield Dental", "Northgate Insurance", "Pinecrest Foods",
    "Bluewater Marine", "Oakridge Legal", "Summit Facilities", "Riverside Veterinary",
    "Copperleaf Interiors", "Westbrook Academy", "Kestrel Engineering", "Lumen Optics",
    "Thistle & Rose Bakery", "Granite Peak Outdoor", "Silverline Couriers", "Meadow Health",
)  # fmt: skip
_PRODUCTS = ("Pro plan", "Enterprise plan", "Support add-on", "Onboarding package", "Seats")

_NICK_A = (
    "Lucky", "Neon", "Silent", "Crimson", "Golden", "Rapid", "Frost", "Shadow", "Cosmic",
    "Wild", "Iron", "Velvet", "Atomic", "Lunar", "Royal", "Misty",
)  # fmt: skip
_NICK_B = (
    "Falcon", "Viking", "Tiger", "Ace", "Phoenix", "Wolf", "Joker", "Raven", "Spinner",
    "Baron", "Comet", "Lynx", "Maverick", "Nova", "Hunter", "Panda",
)  # fmt: skip
_PLAYER_COUNTRIES = ("DE", "FI", "NO", "CA", "NZ", "IE", "AT", "BR", "JP", "CL")


def cumulative(weights: Sequence[float]) -> list[float]:
    """Running totals of ``weights``, for weighted picks by bisection."""
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


@cache
def build_world() -> World:
    """The world, the same in every run and every process (its seed is fixed)."""
    r = Random(0x7A11B00C)
    w = World()
    for org, (_company, domain, style, net4, net6, _weight, _tz) in ORGS.items():
        people: list[Actor] = []
        for n, (name, team, scope, country) in enumerate(STAFF[org]):
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
            uas = [r.choice(UA_DESKTOP)]
            if r.random() < 0.35:
                uas.append(r.choice(UA_MOBILE))
            ref: dict[str, Any] = {
                "id": f"usr_{r.getrandbits(40):010x}",
                "name": name,
                "email": email_address(name, style, domain),
                "type": "user",
            }
            people.append(Actor(ref, org, team, scope, tuple(ips), tuple(uas), country))
        w.staff[org] = people
        jobs: list[Job] = []
        for bid, bname, btype, action, repeatable, _bw, ua, host in BOTS[org]:
            ip = f"10.{net4}.200.{host}" if r.random() < 0.6 else f"fd00:{net6:x}::{host:x}"
            ref = {"id": bid, "name": bname, "type": btype}
            actor = Actor(ref, org, "machine", "", (ip,), (ua,), STAFF[org][0][3])
            jobs.append(Job(actor, action, repeatable))
        w.jobs[org] = jobs
    w.orgs = tuple(ORGS)
    w.org_cum = cumulative([v[5] for v in ORGS.values()])
    w.staff_cum_by_hour = [
        cumulative([v[5] * office_hours((hour + v[6]) % 24) for v in ORGS.values()])
        for hour in range(24)
    ]
    w.auditor = Actor(
        {"id": "usr_ext_ledger01", "name": "Rachel Kim", "email": "r.kim@ledgerwise.example",
         "type": "user"},
        "audit", "audit", "audit", ("198.51.100.23", "2001:db8:ab::23"), (UA_DESKTOP[2],), "GB",
    )  # fmt: skip

    for farm, (_city, rows) in _FARMS.items():
        racks: list[Rack] = []
        for row in rows:
            for num in range(1, 13 if len(rows) > 1 else 9):
                label = f"{row}{num}"
                model = _MINER_MODELS[r.randrange(len(_MINER_MODELS))]
                miners = r.choice((24, 30, 32, 36))
                racks.append(Rack(f"{farm}-{label.lower()}", label, farm, model, miners,
                                   miners * r.choice((3, 3, 4)) + r.randrange(0, 8)))  # fmt: skip
        w.racks[farm] = racks
        w.all_racks.extend(racks)
    w.hosting_clients = [
        Record(f"hc-{2040 + i * 7}", name, (r.randrange(180_000, 2_400_000),))
        for i, name in enumerate(_HOSTING_CLIENTS)
    ]
    w.isp_clients = []
    for i in range(400):
        name = polish_name(r.choice)
        if r.random() < 0.12:
            name = f"{r.choice(_PL_LAST)[0]} {r.choice(('Sp. z o.o.', 'S.C.', 'Serwis', 'Studio'))}"
        w.isp_clients.append(
            Record(f"acc-{550_000 + r.randrange(0, 90_000)}-{i}", name,
                 (r.randrange(len(ISP_PLANS)), r.choice(ISP_CITIES)))
        )  # fmt: skip
    w.routers = []
    for i, pop in enumerate(_POPS * 4):
        model, ver = _ROUTER_MODELS[r.randrange(len(_ROUTER_MODELS))]
        rid = f"rtr-{pop.lower()}-{i // len(_POPS) + 1:02d}"
        name = f"{pop} edge {i // len(_POPS) + 1} ({model})"
        w.routers.append(Record(rid, name, (pop, model, ver)))
    w.clusters = []
    for project in PROJECTS:
        for kind in r.sample(_CLUSTER_KINDS, 3):
            region = REGIONS[1] if "eu" in kind else r.choice(REGIONS)
            w.clusters.append(
                Record(f"cls-{r.getrandbits(24):06x}", f"{project}-{kind}",
                     (project, region, r.choice(NODE_POOLS), r.choice((3, 3, 4, 5, 6, 8, 12))))
            )  # fmt: skip
    w.profiles = [Record(f"cfg-{r.getrandbits(20):05x}", name) for name in _PROFILES]
    w.contacts = []
    for i in range(300):
        first, last = r.choice(EN_FIRST), r.choice(EN_LAST)
        company = r.choice(COMPANIES)
        w.contacts.append(
            Record(f"ct-{48_000 + i * 3 + r.randrange(3)}", f"{first} {last}",
                 (company, f"{first.lower()}.{last.lower()}@{slug(company)}.example"))
        )  # fmt: skip
    w.deals = []
    for i in range(120):
        company = r.choice(COMPANIES)
        w.deals.append(
            Record(f"deal-{9100 + i}", f"{company} — {r.choice(_PRODUCTS)}",
                 (r.randrange(3, 120) * 500, r.randrange(0, 4)))
        )  # fmt: skip
    w.players = []
    for _ in range(500):
        digits = str(r.randrange(1, 99)) if r.random() < 0.6 else ""
        nick = f"{r.choice(_NICK_A)}{r.choice(_NICK_B)}{digits}"
        w.players.append(
            Record(f"plr-{r.randrange(10_000_000, 19_999_999)}", nick,
                 (r.choice(_PLAYER_COUNTRIES), int(r.paretovariate(1.3) * 4_000)))
        )  # fmt: skip
    w.attackers = [
        (
            f"198.51.100.{r.randrange(1, 255)}"
            if r.random() < 0.7
            else f"2001:db8:bad:{r.randrange(1, 0xFFF):x}::{r.randrange(2, 0xFF):x}",
            r.choice(UA_ATTACK),
            r.choice(ATTACK_COUNTRIES),
        )
        for _ in range(24)
    ]
    w.new_hires = list(NEW_HIRES)
    return w
