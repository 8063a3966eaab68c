"""JSON views over Product: each save, delete and bulk update is audited by the
Trailbook app's signals and AuditedManager; nothing here calls Trailbook itself."""

import json
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from shop.models import Product


def _body(request: Any) -> dict[str, Any]:
    try:
        found = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _json(product: Product) -> dict[str, Any]:
    return {"id": product.pk, "name": product.name, "price": str(product.price),
            "stock": product.stock}


def health(request: Any) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@csrf_exempt
def products(request: Any) -> HttpResponse:
    if request.method == "POST":
        data = _body(request)
        product = Product.objects.create(name=data.get("name", "?"),
                                         price=Decimal(str(data.get("price", "0"))),
                                         stock=int(data.get("stock", 0)))
        return JsonResponse(_json(product), status=201)
    return JsonResponse({"products": [_json(p) for p in Product.objects.order_by("pk")]})


@csrf_exempt
def product(request: Any, product_id: int) -> HttpResponse:
    found = Product.objects.filter(pk=product_id).first()
    if found is None:
        return JsonResponse({"error": "no such product"}, status=404)
    if request.method == "DELETE":
        found.delete()
        return HttpResponse(status=204)
    if request.method in ("PATCH", "POST"):
        data = _body(request)
        for name in ("name", "stock"):
            if name in data:
                setattr(found, name, data[name])
        if "price" in data:
            found.price = Decimal(str(data["price"]))
        found.save()
    return JsonResponse(_json(found))


@csrf_exempt
def reprice(request: Any) -> HttpResponse:
    """Raise every price by a percentage in one UPDATE: one changeset event."""
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    percent = Decimal(str(_body(request).get("percent", "10")))
    count = Product.objects.all().update(price=F("price") * (1 + percent / 100))
    return JsonResponse({"updated": count})
