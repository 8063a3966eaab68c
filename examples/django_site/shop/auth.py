"""Demo authentication: ``Authorization: Bearer <name>-token`` signs in user <name>.
A real site uses django.contrib.auth's AuthenticationMiddleware instead."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser, User

TOKENS = {"alice-token": "alice", "bob-token": "bob"}


class TokenAuthMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        name = TOKENS.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if name:
            request.user, _ = User.objects.get_or_create(
                username=name, defaults={"email": f"{name}@example.com"})
        else:
            request.user = AnonymousUser()
        return self.get_response(request)
