"""The Django app in this process (settings configured once, the example's ``shop``
app on a temporary SQLite file), with events captured in memory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from integrations.conftest import EXAMPLES
from trailbook.sdk.testing import Captured, capture

django = pytest.importorskip("django")


@pytest.fixture(scope="module", autouse=True)
def django_ready(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from django.conf import settings

    if not settings.configured:
        sys.path.insert(0, str(EXAMPLES / "django_site"))
        from trailbook.sdk import Client

        settings.configure(
            SECRET_KEY="tests", USE_TZ=True, ALLOWED_HOSTS=["testserver"],
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
            ROOT_URLCONF="site_config.urls",
            INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                            "trailbook.integrations.django", "shop"],
            MIDDLEWARE=["shop.auth.TokenAuthMiddleware",
                        "trailbook.integrations.django.middleware.TrailbookMiddleware"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                                   "NAME": str(tmp_path_factory.mktemp("dj") / "db.sqlite3")}},
            TRAILBOOK={"CLIENT": Client("http://127.0.0.1:9", "tb_unused", spool=False),
                       "MODELS": ["shop", "auth.User"], "TRUSTED_PROXIES": ["127.0.0.1"],
                       "SKIP_PATHS": ["/health"]},
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    yield
    # Its sender would go on retrying the unreachable address (with random jitter)
    # through every later test of the run.
    settings.TRAILBOOK["CLIENT"].close(timeout=0.1)


@pytest.fixture
def events() -> Iterator[Captured]:
    from shop.models import Product

    Product.objects.all().delete()
    with capture() as captured:
        yield captured


def product(**fields: Any) -> Any:
    from shop.models import Product

    values = {"name": "Lamp", "price": Decimal("10.00"), "stock": 1, **fields}
    return Product.objects.create(**values)


def test_create_update_delete_with_changes(events: Captured) -> None:
    lamp = product()
    lamp.price = Decimal("12.50")
    lamp.stock = 1  # unchanged: not in the diff
    lamp.save()
    lamp.save()  # nothing changed: no event
    pk = str(lamp.pk)
    lamp.delete()
    assert events.actions == ["shop.product.create", "shop.product.update",
                              "shop.product.delete"]
    created, updated, deleted = events
    assert created["targets"] == [{"type": "shop.product", "id": pk, "name": "Lamp"}]
    assert {c["field"]: c["new"] for c in created["changes"]} == \
        {"name": "Lamp", "price": "10.00", "stock": 1}
    assert updated["changes"] == [{"field": "price", "old": "10.00", "new": "12.50"}]
    assert {c["field"]: c["old"] for c in deleted["changes"]} == \
        {"name": "Lamp", "price": "12.50", "stock": 1}
    # Outside a request the system is the actor.
    assert created["actor"]["type"] == "system"


def test_queryset_update_is_one_changeset(events: Captured) -> None:
    from django.db.models import F
    from shop.models import Product

    items = [product(name=f"P{n}", price=Decimal(n)) for n in range(1, 4)]
    events.clear()
    assert Product.objects.filter(pk__in=[p.pk for p in items]).update(
        price=F("price") * 2) == 3
    event = events.one("shop.product.bulk_update")
    assert len(events) == 1
    assert [t["id"] for t in event["targets"]] == [str(p.pk) for p in items]
    assert {c["field"]: (c["old"], c["new"]) for c in event["changes"]} == {
        f"shop.product:{p.pk}.price": (f"{n}.00", f"{2 * n}.00")
        for n, p in enumerate(items, start=1)}
    assert event["metadata"]["changeset"]["count"] == 3
    assert event["action_type"] == "update"


def test_big_changeset_is_split_into_parts_naming_every_target(events: Captured) -> None:
    from shop.models import Product

    made = Product.objects.bulk_create(
        [Product(name=f"B{n}", price=Decimal("1.00"), stock=n) for n in range(150)])
    created = events.find("shop.product.bulk_create")
    assert sum(len(e["targets"]) for e in created) == 150
    assert len({e["metadata"]["changeset"]["id"] for e in created}) == 1
    assert [e["metadata"]["changeset"]["part"] for e in created] == \
        list(range(1, len(created) + 1))
    events.clear()
    for item in made:
        item.stock += 1
    Product.objects.bulk_update(made, ["stock"])
    updated = events.find("shop.product.bulk_update")
    assert {t["id"] for e in updated for t in e["targets"]} == {str(p.pk) for p in made}
    assert all(len(e["targets"]) <= 64 and len(e["changes"]) <= 256 for e in updated)
    events.clear()
    assert Product.objects.all().delete()[0] == 150
    deleted = events.find("shop.product.bulk_delete")
    assert events.actions == ["shop.product.bulk_delete"] * len(deleted)
    assert sum(len(e["targets"]) for e in deleted) == 150


def test_changeset_helper_and_rollback(events: Captured) -> None:
    from django.db import transaction

    from trailbook.integrations.django import changeset

    with changeset("shop.catalogue.import", description="nightly import"):
        product(name="A")
        product(name="B").delete()
    event = events.one("shop.catalogue.import")
    assert len(events) == 1
    assert event["description"] == "nightly import"
    assert event["metadata"]["changeset"]["operations"] == {
        "shop.product.create": 2, "shop.product.delete": 1}
    events.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        product(name="C")
        raise RuntimeError("rolled back")
    assert events == []


def test_masked_and_system_fields(events: Captured) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("dora", "dora@example.com", "secret-one")
    user.set_password("secret-two")
    user.save()
    created, updated = events.find("auth.user.*")
    assert {c["field"]: c["new"] for c in created["changes"]}["password"] == "***"
    assert updated["changes"] == [{"field": "password", "old": "***", "new": "***"}]
    user.delete()


def test_middleware_context_access_and_proxies(events: Captured) -> None:
    from django.test import Client as DjangoClient

    http = DjangoClient(REMOTE_ADDR="127.0.0.1")
    answer = http.post("/products", data={"name": "Desk", "price": "99.00"},
                       content_type="application/json",
                       headers={"Authorization": "Bearer alice-token",
                                "X-Forwarded-For": "1.1.1.1, 203.0.113.5",
                                "User-Agent": "dj-test", "X-Request-ID": "req-dj"})
    assert answer.status_code == 201
    assert answer.headers["X-Request-ID"] == "req-dj"
    http.get("/health")
    created = events.one("shop.product.create")
    access = events.one("http.request")
    for event in (created, access):
        assert event["actor"]["name"] == "alice"
        assert event["actor"]["email"] == "alice@example.com"
        assert event["source"]["ip"] == "203.0.113.5"
        assert event["source"]["user_agent"] == "dj-test"
        assert event["request_id"] == "req-dj"
    assert access["metadata"]["path"] == "/products"
    assert access["metadata"]["status"] == 201
    events.clear()
    untrusted = DjangoClient(REMOTE_ADDR="198.51.100.7")
    untrusted.get("/products", headers={"X-Forwarded-For": "203.0.113.5"})
    access = events.one("http.request")
    assert access["source"]["ip"] == "198.51.100.7"
    assert access["actor"]["id"] == "anonymous"


def test_async_middleware(events: Captured) -> None:
    import asyncio

    from django.http import HttpResponse
    from django.test import RequestFactory

    from trailbook.integrations.django.middleware import TrailbookMiddleware
    from trailbook.sdk import current_context

    async def view(request: Any) -> HttpResponse:
        return HttpResponse(current_context().ip or "")

    request = RequestFactory().get("/async", REMOTE_ADDR="198.51.100.9")
    request.user = None
    response = asyncio.run(TrailbookMiddleware(view)(request))
    assert response.content == b"198.51.100.9"
    assert events.one("http.request")["metadata"]["path"] == "/async"


def test_settings_are_checked() -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    from trailbook.integrations.django.conf import config

    with override_settings(TRAILBOOK={"MODLES": ["shop"]}), \
            pytest.raises(ImproperlyConfigured, match="MODLES"):
        config()
    with override_settings(TRAILBOOK={"TRUSTED_PROXIES": ["proxy.local"]}), \
            pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        config()
    assert config().skip_paths is not None
