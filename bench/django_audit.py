"""Django model auditing: Trailbook's Django integration versus django-auditlog.

    .venv/bin/python bench/django_audit.py --changes 100000

The same small app (examples/django_site's ``shop.Product``) on the same engine
(SQLite, WAL) makes ``--changes`` model changes through the ORM, one ``save()`` or
``delete()`` per change: 40 % creates, 40 % updates (two fields), 20 % deletes, in
transactions of ``--per-transaction`` changes, as a batch job would. Variants, each in
a fresh process:

- ``none``: no auditing (the floor);
- ``trailbook``: ``trailbook.integrations.django`` with a real ``trailbook.Client``
  sending to a real local ``trailbook serve`` (started here, on a temporary folder);
  "delivered" adds the time until every event is stored on the server (``flush()``);
- ``auditlog``: django-auditlog (``auditlog.register(Product)``), which writes a
  ``LogEntry`` row per change into the app's own database. It is NOT a Trailbook
  dependency: it is pip-installed with ``--target`` into this run's temporary folder.

Prints a Markdown table. The app, the Trailbook server and the client's sender thread
share the machine's cores."""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "examples" / "django_site"


# -- the child: one variant in its own process ----------------------------------------

def child(variant: str, changes: int, per_tx: int, work: Path, url: str, key: str) -> None:
    sys.path.insert(0, str(SITE))
    auditlog_dir = work / "auditlog-pkg"
    if variant == "auditlog":
        sys.path.append(str(auditlog_dir))  # after the venv: its own Django is not used
    import django
    from django.conf import settings

    apps = ["django.contrib.auth", "django.contrib.contenttypes", "shop"]
    extra: dict[str, Any] = {}
    client = None
    if variant == "trailbook":
        from trailbook.sdk import Client

        client = Client(url, key, spool_path=work / "spool.db")
        apps.append("trailbook.integrations.django")
        extra["TRAILBOOK"] = {"CLIENT": client, "MODELS": ["shop"], "LOG_REQUESTS": False}
    elif variant == "auditlog":
        apps.append("auditlog")
    settings.configure(
        SECRET_KEY="bench", USE_TZ=True, INSTALLED_APPS=apps,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3", "NAME": str(work / f"{variant}.sqlite3"),
            "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"},
        }},
        **extra,
    )
    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from shop.models import Product

    call_command("migrate", verbosity=0)
    if variant == "auditlog":
        from auditlog.registry import auditlog  # type: ignore[import-not-found]

        auditlog.register(Product)

    creates = changes * 2 // 5
    updates = changes * 2 // 5
    deletes = changes - creates - updates
    plan = ["create"] * creates + ["update"] * updates + ["delete"] * deletes
    alive: list[Any] = []
    started = time.perf_counter()
    for start in range(0, len(plan), per_tx):
        with transaction.atomic():
            for n, op in enumerate(plan[start:start + per_tx], start=start):
                if op == "create":
                    alive.append(Product.objects.create(
                        name=f"product {n}", price=Decimal("9.99"), stock=n % 50))
                elif op == "update":
                    item = alive[n % len(alive)]
                    item.price = Decimal(n % 1000) + Decimal("0.5")
                    item.stock = item.stock + 1
                    item.save()
                else:
                    alive.pop().delete()
    app_seconds = time.perf_counter() - started
    delivered = app_seconds
    if client is not None:
        assert client.flush(timeout=600), "the client could not deliver every event"
        delivered = time.perf_counter() - started
        client.close()
    records: int | None = None
    if variant == "auditlog":
        from auditlog.models import LogEntry  # type: ignore[import-not-found]

        records = LogEntry.objects.count()
    print(json.dumps({"variant": variant, "changes": len(plan), "app_seconds": app_seconds,
                      "delivered_seconds": delivered, "records": records}))


# -- the parent: install django-auditlog, start a server, run the variants -----------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(work: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(work / "server"),
           "TRAILBOOK_OWNER_EMAIL": "bench@example.com",
           "TRAILBOOK_OWNER_PASSWORD": "a bench owner password 1"}
    init = subprocess.run([sys.executable, "-m", "trailbook", "init", "--tenant", "bench"],
                          env=env, capture_output=True, text=True, check=True, timeout=120)
    key = next(line.strip() for line in init.stdout.splitlines()
               if line.strip().startswith("tb_"))
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "trailbook", "serve", "--port",
                                str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/api/v1/health", timeout=1.0)
            return process, url, key
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("trailbook serve did not start") from None
            time.sleep(0.2)


def stored_events(url: str, key: str) -> int:
    import httpx

    answer = httpx.get(f"{url}/api/v1/verify", headers={"Authorization": f"Bearer {key}"},
                       timeout=600)
    return int(answer.json()["last_seq"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--per-transaction", type=int, default=100)
    parser.add_argument("--variants", default="none,trailbook,auditlog")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--key", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.changes, args.per_transaction, Path(args.work), args.url,
              args.key)
        return

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    with tempfile.TemporaryDirectory(prefix="trailbook-django-bench-") as tmp:
        work = Path(tmp)
        if "auditlog" in variants:
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", "--target",
                            str(work / "auditlog-pkg"), "django-auditlog"], check=True)
        server, url, key = start_server(work)
        try:
            before = stored_events(url, key)
            results = []
            for variant in variants:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", variant, "--work", str(work),
                     "--changes", str(args.changes), "--per-transaction",
                     str(args.per_transaction), "--url", url, "--key", key],
                    capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    sys.exit(f"variant {variant} failed:\n{out.stderr}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                if variant == "trailbook":
                    result["records"] = stored_events(url, key) - before
                results.append(result)
        finally:
            server.terminate()
            server.wait(timeout=60)
        auditlog_version = _version(work / "auditlog-pkg")
    print_table(results, args, auditlog_version)


def _version(target: Path) -> str:
    found = sorted(target.glob("django_auditlog-*.dist-info"))
    return found[-1].name.removeprefix("django_auditlog-").removesuffix(".dist-info") \
        if found else "-"


def print_table(results: list[dict[str, Any]], args: argparse.Namespace,
                auditlog_version: str) -> None:
    import django

    print(f"Django {django.get_version()}, SQLite (WAL), Python {platform.python_version()}, "
          f"{os.cpu_count()} cores; {args.changes:,} changes in transactions of "
          f"{args.per_transaction}; django-auditlog {auditlog_version}\n")
    print("| variant | audit records | app time (s) | changes/s in the app "
          "| until stored (s) | changes/s until stored |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        records = "-" if r["records"] is None else f"{r['records']:,}"
        print(f"| {r['variant']} | {records} | {r['app_seconds']:.2f} | "
              f"{r['changes'] / r['app_seconds']:,.0f} | {r['delivered_seconds']:.2f} | "
              f"{r['changes'] / r['delivered_seconds']:,.0f} |")


if __name__ == "__main__":
    main()
