"""Email over SMTP (aiosmtplib): config ``{host, port, security, username?, password?,
from, to}``. ``security``: "none" (plain), "starttls" (upgrade, required) or "tls"
(TLS from the start); the port defaults to 25, 587 or 465 accordingly.

The mail has the plain text as its body and a simple HTML alternative in which every
text from an event is escaped. ``Message-ID`` is ``<delivery id@trailbook>`` and the
header ``X-Trailbook-Delivery`` repeats the id, so a retried delivery is recognisable.

SMTP answers are classified by their code: 4xx is temporary (retry), 5xx permanent;
no connection, a dropped one, a TLS failure or a timeout is retried; a server that
lacks what the config needs (STARTTLS, AUTH) is a permanent failure."""

from __future__ import annotations

import html
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib

from trailbook.notify.channels.common import (
    ConfigReader,
    DeliveryFailed,
    address_problem,
    host_problem,
    one_line,
)
from trailbook.notify.message import Message
from trailbook.settings import Settings

FIELDS = ("host", "port", "security", "username", "password", "from", "to")
SECRETS = ("password",)
SECURITY = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
MAX_RECIPIENTS = 50
SEVERITY_COLOURS = {"info": "#4b5563", "notice": "#1d4ed8", "warning": "#b45309",
                    "critical": "#b91c1c"}


def validate(raw: Any) -> dict[str, Any]:
    reader = ConfigReader(raw, FIELDS)
    host = reader.text("host", max_length=253, check=host_problem)
    security = reader.choice("security", SECURITY, "starttls")
    port = reader.integer("port", DEFAULT_PORTS[security], 1, 65535)
    username = reader.text("username", required=False, max_length=320)
    password = reader.secret("password", required=False)
    if password is not None and username is None:
        reader.fail("config.username", "required with a password")
    if username is not None and password is None and not reader.present("password"):
        reader.fail("config.password", "required with a username")
    sender = reader.text("from", max_length=254, check=address_problem)
    recipients = _recipients(reader)
    reader.done("email")
    out: dict[str, Any] = {"host": host, "port": port, "security": security,
                           "from": sender, "to": recipients}
    if username is not None:
        out["username"] = username
        out["password"] = password
    return out


def _recipients(reader: ConfigReader) -> list[str]:
    value = reader.raw.get("to")
    if isinstance(value, str):  # "a@example.com, b@example.com"
        value = [part for part in value.split(",") if part.strip()]
    if not value:
        reader.fail("config.to", "required: at least one address")
        return []
    if not isinstance(value, list):
        reader.fail("config.to", "must be a list of addresses")
        return []
    if len(value) > MAX_RECIPIENTS:
        reader.fail("config.to", f"at most {MAX_RECIPIENTS} addresses")
        return []
    out: list[str] = []
    for index, item in enumerate(value):
        problem = (address_problem(item.strip()) if isinstance(item, str)
                   else "must be a string")
        if problem:
            reader.fail(f"config.to.{index}", f"{problem}: {one_line(str(item), 80)!r}")
        elif item.strip() not in out:
            out.append(item.strip())
    return out


def subject(message: Message) -> str:
    """The Subject: severity and title, on one line."""
    return one_line(f"[Trailbook {message.severity}] {message.title}", 250)


def plain_body(message: Message) -> str:
    return f"{message.title}\n\n{message.text}\n\n-- \nTrailbook alerts, tenant {message.tenant}\n"


def html_body(message: Message) -> str:
    """The HTML alternative: every text it shows is escaped."""
    e = html.escape
    colour = SEVERITY_COLOURS.get(message.severity, SEVERITY_COLOURS["info"])
    parts = [
        "<!DOCTYPE html><html><body style=\"font-family: sans-serif; color: #111827\">",
        f"<p style=\"color: {colour}; font-weight: bold; margin: 0\">"
        f"{e(message.severity.upper())}</p>",
        f"<h2 style=\"margin: 4px 0 12px\">{e(message.title)}</h2>",
    ]
    if message.events:
        parts.append("<ul>")
        for event in message.events:
            item = f"<a href=\"{e(event.link)}\">{e(event.line())}</a>"
            if event.description:
                item += f"<br><span style=\"color: #4b5563\">{e(event.description)}</span>"
            parts.append(f"<li style=\"margin-bottom: 6px\">{item}</li>")
        parts.append("</ul>")
        if message.count > len(message.events):
            parts.append(f"<p>… and {message.count - len(message.events)} more</p>")
    else:
        lines = [line for line in message.text.splitlines() if line != message.link]
        parts.append("".join(f"<p>{e(line)}</p>" for line in lines))
    parts += [
        f"<p><a href=\"{e(message.link)}\">Open in Trailbook</a></p>",
        f"<p style=\"color: #6b7280; font-size: small\">Trailbook alerts, tenant "
        f"{e(message.tenant)}</p></body></html>",
    ]
    return "\n".join(parts)


def build(config: dict[str, Any], message: Message, delivery_id: str) -> EmailMessage:
    """The mail for ``message``, ready to send."""
    mail = EmailMessage()
    mail["Subject"] = subject(message)
    mail["From"] = str(config["from"])
    mail["To"] = ", ".join(config["to"])
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{delivery_id}@trailbook>"
    mail["X-Trailbook-Delivery"] = delivery_id
    mail.set_content(plain_body(message))
    mail.add_alternative(html_body(message), subtype="html")
    return mail


async def send(config: dict[str, Any], message: Message, delivery_id: str,
               settings: Settings) -> None:
    security = config.get("security", "starttls")
    host, port = str(config["host"]), int(config["port"])
    where = f"SMTP server {host}:{port}"
    mail = build(config, message, delivery_id)
    try:
        await aiosmtplib.send(
            mail, sender=str(config["from"]), recipients=list(config["to"]),
            hostname=host, port=port,
            username=config.get("username"), password=config.get("password"),
            use_tls=security == "tls", start_tls=security == "starttls",
            timeout=settings.alert_smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        reason = "; ".join(f"{r.recipient}: {r.code} {one_line(r.message, 100)}"
                           for r in exc.recipients)
        raise DeliveryFailed(f"{where} refused every recipient: {reason}",
                             permanent=all(code >= 500 for code in codes)) from None
    except aiosmtplib.SMTPResponseException as exc:
        text = f"{where} answered {exc.code}: {one_line(exc.message)}"
        raise DeliveryFailed(text, permanent=exc.code >= 500) from None
    except TimeoutError:  # aiosmtplib's timeouts included
        raise DeliveryFailed(f"{where} did not answer within "
                             f"{settings.alert_smtp_timeout_seconds:g} s") from None
    except OSError as exc:  # refused, reset, dropped; TLS failures
        reason = one_line(str(exc)) or type(exc).__name__
        raise DeliveryFailed(f"could not deliver through {where}: {reason}") from None
    except aiosmtplib.SMTPException as exc:  # the server lacks STARTTLS, AUTH...
        reason = one_line(str(exc)) or type(exc).__name__
        raise DeliveryFailed(f"{where}: {reason}", permanent=True) from None
