"""/api/v1/users, /api/v1/roles, /api/v1/permissions and /api/v1/api-keys: managing
staff, roles and API keys. Every change is audited in the tenant's ``admin`` category."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import authenticate, caller, request_context
from trailbook.api.render import JsonResponse
from trailbook.service.access.permissions import PERMISSIONS, RoleSpec
from trailbook.service.access.principal import Principal
from trailbook.service.app import Trailbook
from trailbook.store.records import ApiKey, User

router = APIRouter(prefix="/api/v1", tags=["staff, roles and API keys"])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=40)
    password: str | None = Field(default=None, max_length=1024, description=(
        "leave out to have a one-time password made (returned once)"))


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=40)
    disabled: bool | None = None


class NewRole(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=40)
    permissions: list[str] = Field(max_length=50)
    categories: list[str] = Field(default_factory=list, max_length=200)


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permissions: list[str] | None = Field(default=None, max_length=50)
    categories: list[str] | None = Field(default=None, max_length=200)


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    scopes: list[str] = Field(max_length=5)
    expires_at: str | None = Field(default=None, max_length=40)


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "disabled": user.disabled_at is not None, "disabled_at": user.disabled_at,
            "must_change_password": user.must_change_password,
            "created_at": user.created_at, "last_login_at": user.last_login_at}


def role_json(role: RoleSpec) -> dict[str, Any]:
    return {"name": role.name, "builtin": role.builtin, "description": role.description,
            "permissions": sorted(role.permissions), "categories": list(role.categories)}


def key_json(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "scopes": list(key.scopes),
            "created_at": key.created_at, "expires_at": key.expires_at,
            "last_used_at": key.last_used_at, "revoked_at": key.revoked_at}


def _tb(request: Request) -> Trailbook:
    tb: Trailbook = request.app.state.trailbook
    return tb


async def _staff_manager(request: Request) -> Principal:
    return await authenticate(request, "users.manage")


# -- users ---------------------------------------------------------------------------


@router.get("/users", summary="The tenant's staff users (needs users.manage)")
async def list_users(request: Request) -> JsonResponse:
    principal = await _staff_manager(request)
    found = await run_in_threadpool(_tb(request).users.all, principal.tenant)
    return JsonResponse({"users": [user_json(u) for u in found]})


@router.post("/users", status_code=201, summary="Add a staff user (needs users.manage)")
async def add_user(request: Request, body: NewUser) -> JsonResponse:
    principal = await _staff_manager(request)
    context = request_context(request)
    user, issued = await run_in_threadpool(
        lambda: _tb(request).users.add(principal.tenant, body.email, body.name, body.role,
                                       body.password, by=principal, context=context))
    out = user_json(user)
    if issued:
        out["one_time_password"] = issued
    return JsonResponse(out, status_code=201)


@router.get("/users/{user_id}", summary="One staff user (needs users.manage)")
async def get_user(request: Request, user_id: int) -> JsonResponse:
    principal = await _staff_manager(request)
    user = await run_in_threadpool(_tb(request).users.get, principal.tenant, user_id)
    return JsonResponse(user_json(user))


@router.patch("/users/{user_id}", summary="Change a user's name or role, or disable or "
              "enable them (needs users.manage)")
async def change_user(request: Request, user_id: int, body: UserChange) -> JsonResponse:
    principal = await _staff_manager(request)
    context = request_context(request)
    user = await run_in_threadpool(
        lambda: _tb(request).users.update(principal.tenant, user_id, name=body.name,
                                          role=body.role, disabled=body.disabled,
                                          by=principal, context=context))
    return JsonResponse(user_json(user))


@router.post("/users/{user_id}/reset-password", summary="Give a user a new one-time "
             "password, returned once; their sessions end (needs users.manage)")
async def reset_password(request: Request, user_id: int) -> JsonResponse:
    principal = await _staff_manager(request)
    context = request_context(request)
    issued = await run_in_threadpool(
        lambda: _tb(request).users.reset_password(principal.tenant, user_id, by=principal,
                                                  context=context))
    return JsonResponse({"one_time_password": issued})


# -- roles ---------------------------------------------------------------------------


@router.get("/permissions", summary="Every permission a role can hold")
async def list_permissions(request: Request) -> JsonResponse:
    await caller(request)
    return JsonResponse({"permissions": [{"name": n, "description": d}
                                         for n, d in PERMISSIONS.items()]})


@router.get("/roles", summary="Built-in and custom roles (needs users.manage or "
            "roles.manage)")
async def list_roles(request: Request) -> JsonResponse:
    principal = await caller(request)
    if not (principal.can("users.manage") or principal.can("roles.manage")):
        principal.require("roles.manage")
    found = await run_in_threadpool(_tb(request).roles.all, principal.tenant)
    return JsonResponse({"roles": [role_json(r) for r in found]})


@router.post("/roles", status_code=201, summary="Create a custom role (needs roles.manage)")
async def create_role(request: Request, body: NewRole) -> JsonResponse:
    principal = await authenticate(request, "roles.manage")
    context = request_context(request)
    role = await run_in_threadpool(
        lambda: _tb(request).roles.create(principal.tenant, body.name, body.permissions,
                                          body.categories, by=principal, context=context))
    return JsonResponse(role_json(role), status_code=201)


@router.patch("/roles/{name}", summary="Change a custom role (needs roles.manage)")
async def change_role(request: Request, name: str, body: RoleChange) -> JsonResponse:
    principal = await authenticate(request, "roles.manage")
    context = request_context(request)
    role = await run_in_threadpool(
        lambda: _tb(request).roles.update(principal.tenant, name, body.permissions,
                                          body.categories, by=principal, context=context))
    return JsonResponse(role_json(role))


@router.delete("/roles/{name}", status_code=204,
               summary="Delete a custom role no user holds (needs roles.manage)")
async def delete_role(request: Request, name: str) -> Response:
    principal = await authenticate(request, "roles.manage")
    context = request_context(request)
    await run_in_threadpool(lambda: _tb(request).roles.delete(
        principal.tenant, name, by=principal, context=context))
    return Response(status_code=204)


# -- API keys ------------------------------------------------------------------------


async def _key_manager(request: Request) -> Principal:
    # No scope grants keys.manage: an API key is refused here, told to sign in.
    return await authenticate(request, "keys.manage")


@router.get("/api-keys", summary="The tenant's API keys, never their secrets "
            "(needs keys.manage)")
async def list_keys(request: Request) -> JsonResponse:
    principal = await _key_manager(request)
    found = await run_in_threadpool(_tb(request).keys.for_tenant, principal.tenant)
    return JsonResponse({"api_keys": [key_json(k) for k in found]})


@router.post("/api-keys", status_code=201, summary="Make an API key; its secret is in "
             "this answer only (needs keys.manage)")
async def create_key(request: Request, body: NewKey) -> JsonResponse:
    principal = await _key_manager(request)
    context = request_context(request)
    key, secret = await run_in_threadpool(
        lambda: _tb(request).keys.create(principal.tenant, body.name, tuple(body.scopes),
                                         body.expires_at, by=principal, context=context))
    return JsonResponse({**key_json(key), "secret": secret}, status_code=201)


@router.delete("/api-keys/{key_id}", status_code=204,
               summary="Revoke an API key (needs keys.manage)")
async def revoke_key(request: Request, key_id: int) -> Response:
    principal = await _key_manager(request)
    context = request_context(request)
    await run_in_threadpool(lambda: _tb(request).keys.revoke(
        principal.tenant, key_id, by=principal, context=context))
    return Response(status_code=204)
