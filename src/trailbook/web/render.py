"""Rendering pages: the Jinja2 environment (autoescaped), its filters, and the headers
every page carries (a Content-Security-Policy that allows no inline script)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from trailbook import __version__
from trailbook.model.timefmt import format_us
from trailbook.service.access.principal import Principal

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

# Scripts and styles come only from Trailbook's own /static; nothing inline can run,
# so an event that smuggles markup past escaping still cannot execute.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _pretty_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _cell(value: Any) -> str:
    """A JSON value as one line of text for a table cell (strings as they are)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _script_json(value: Any) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' left
    that could end the element early."""
    text = orjson.dumps(value).decode()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def _build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=ChainableUndefined,  # events leave optional fields out
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty_json"] = _pretty_json
    env.filters["cell"] = _cell
    env.filters["script_json"] = _script_json
    env.filters["rfc3339_us"] = format_us
    env.globals["version"] = __version__
    return env


ENVIRONMENT = _build_environment()


def nav_for(principal: Principal | None) -> list[tuple[str, str, str]]:
    """(path, label, key) of the pages this principal may open."""
    if principal is None:
        return []
    links = [("/logs", "Logs", "logs"), ("/access", "Access", "access")]
    if principal.can("events.export"):
        links.append(("/exports", "Exports", "exports"))
    if principal.can("users.manage"):
        links.append(("/admin/users", "Users", "users"))
    if principal.can("users.manage") or principal.can("roles.manage"):
        links.append(("/admin/roles", "Roles", "roles"))
    if principal.can("keys.manage"):
        links.append(("/admin/keys", "API keys", "keys"))
    if principal.can("integrity.verify"):
        links.append(("/admin/integrity", "Integrity", "integrity"))
    if principal.can("rules.manage"):
        links.append(("/admin/alerts", "Alerts", "alerts"))
    if principal.can("retention.manage"):
        links.append(("/admin/retention", "Retention", "retention"))
    if principal.can("logs.read"):
        links.append(("/admin/logs", "Server logs", "server-logs"))
    return links


def render(request: Request, template: str, principal: Principal | None, *,
           status: int = 200, active: str = "", title: str = "", **context: Any
           ) -> HTMLResponse:
    csrf = principal.session.csrf_token if principal and principal.session else ""
    body = ENVIRONMENT.get_template(template).render(
        request_path=request.url.path,
        principal=principal,
        user=principal.user if principal else None,
        tenant=principal.tenant.name if principal else "",
        csrf_token=csrf,
        nav=nav_for(principal),
        active=active,
        title=title,
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)
