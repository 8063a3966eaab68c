"""``settings.TRAILBOOK``, read once (and again when a test overrides it), and the
client the app logs through."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from trailbook.integrations._request import SkipPaths, SupportsLog
from trailbook.integrations.proxies import TrustedProxies

DEFAULTS: dict[str, Any] = {
    "URL": None,  # the Trailbook server
    "API_KEY": None,  # an API key with the ingest scope
    "CLIENT": None,  # or a ready client: an object with .log(), or its dotted path
    "CLIENT_OPTIONS": {},  # keyword arguments of trailbook.Client(URL, API_KEY, ...)
    "MODELS": (),  # "app_label.Model", "app_label", or "__all__"
    "EXCLUDE_FIELDS": (),  # "field" (any model) or "app_label.model.field": not recorded
    "MASK_FIELDS": ("password",),  # recorded as changed, values shown as "***"
    "CATEGORY": "general",  # category of model events
    "SYSTEM_ACTOR": {"id": "system", "type": "system", "name": "system"},
    "TRUSTED_PROXIES": (),
    "SKIP_PATHS": ("/health",),
    "LOG_REQUESTS": True,
}


@dataclass(frozen=True)
class Config:
    url: str | None
    api_key: str | None
    client: Any
    client_options: Mapping[str, Any]
    models: frozenset[str] | None  # lower-case labels/app labels; None: every model
    exclude_fields: frozenset[str]
    mask_fields: frozenset[str]
    category: str
    system_actor: Mapping[str, Any]
    trusted_proxies: TrustedProxies
    skip_paths: SkipPaths
    log_requests: bool


_lock = threading.Lock()
_config: Config | None = None
_client: SupportsLog | None = None


def _list(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    try:
        return tuple(str(item) for item in value)
    except TypeError:
        raise ImproperlyConfigured(f"TRAILBOOK[{name!r}] must be a list of strings") from None


def load() -> Config:
    raw = getattr(settings, "TRAILBOOK", {}) or {}
    unknown = set(raw) - set(DEFAULTS)
    if unknown:
        raise ImproperlyConfigured(f"unknown TRAILBOOK settings: {', '.join(sorted(unknown))}"
                                   f"; known: {', '.join(DEFAULTS)}")
    merged = {**DEFAULTS, **raw}
    models = merged["MODELS"]
    try:
        proxies = TrustedProxies.of(merged["TRUSTED_PROXIES"])
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRAILBOOK['TRUSTED_PROXIES']: {exc}") from None
    return Config(
        url=merged["URL"], api_key=merged["API_KEY"], client=merged["CLIENT"],
        client_options=dict(merged["CLIENT_OPTIONS"]),
        models=None if models == "__all__" else frozenset(
            m.lower() for m in _list(models, "MODELS")),
        exclude_fields=frozenset(f.lower() for f in _list(merged["EXCLUDE_FIELDS"],
                                                          "EXCLUDE_FIELDS")),
        mask_fields=frozenset(f.lower() for f in _list(merged["MASK_FIELDS"], "MASK_FIELDS")),
        category=str(merged["CATEGORY"]),
        system_actor=dict(merged["SYSTEM_ACTOR"]),
        trusted_proxies=proxies,
        skip_paths=SkipPaths(_list(merged["SKIP_PATHS"], "SKIP_PATHS")),
        log_requests=bool(merged["LOG_REQUESTS"]),
    )


def config() -> Config:
    global _config
    if _config is None:
        with _lock:
            if _config is None:
                _config = load()
    return _config


def get_client() -> SupportsLog:
    """The client of this Django project: ``TRAILBOOK["CLIENT"]`` if set, else one
    ``trailbook.Client(URL, API_KEY, **CLIENT_OPTIONS)`` made on first use."""
    global _client
    if _client is not None:
        return _client
    with _lock:
        if _client is None:
            _client = _make_client(config())
        return _client


def _make_client(conf: Config) -> SupportsLog:
    given = conf.client
    if isinstance(given, str):
        module, _, attr = given.rpartition(".")
        given = getattr(importlib.import_module(module), attr)
        if callable(given) and not hasattr(given, "log"):
            given = given()
    if given is not None:
        if not callable(getattr(given, "log", None)):
            raise ImproperlyConfigured("TRAILBOOK['CLIENT'] has no log() method")
        client: SupportsLog = given
        return client
    if not conf.url or not conf.api_key:
        raise ImproperlyConfigured("set TRAILBOOK['URL'] and TRAILBOOK['API_KEY'] "
                                   "(or TRAILBOOK['CLIENT'])")
    from trailbook.sdk.client import Client

    made: SupportsLog = Client(conf.url, conf.api_key, **conf.client_options)
    return made


def _reset(*, setting: str, **kwargs: Any) -> None:
    global _config, _client
    if setting == "TRAILBOOK":
        with _lock:
            _config = None
            _client = None


setting_changed.connect(_reset, dispatch_uid="trailbook.integrations.django.conf")
