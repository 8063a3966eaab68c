"""Slack through an incoming webhook: config ``{webhook_url}``; the message is posted
as JSON ``{text, blocks}`` (a header, the event lines, a link to the console).

The webhook URL is the secret (anyone holding it may post): it is shown as scheme
and host only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from trailbook.notify.channels.common import ConfigReader
from trailbook.notify.channels.http import check_response, post_json
from trailbook.notify.message import Message
from trailbook.settings import Settings

FIELDS = ("webhook_url",)
URL_SECRETS = ("webhook_url",)  # masked as scheme://host/********
HEADER_LIMIT = 150  # Slack's limit for a header block's text
SECTION_LIMIT = 3000  # and for a section's


def validate(raw: Any) -> dict[str, Any]:
    reader = ConfigReader(raw, FIELDS)
    url = reader.url("webhook_url")
    reader.done("slack")
    return {"webhook_url": url}


def escape(text: str) -> str:
    """Text safe inside Slack's markup: ``&``, ``<`` and ``>`` escaped, so an event
    cannot smuggle in links or mentions such as ``<!channel>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def payload(message: Message) -> dict[str, Any]:
    """The JSON Slack receives: plain ``text`` (shown in notifications) and blocks."""
    lines = message.text.splitlines()
    if len(lines) > 1 and lines[-1] == message.link:
        lines = lines[:-1]  # the link goes in the context block
    body = escape("\n".join(lines) or message.title)
    link = escape(message.link).replace("|", "%7C")
    context = f"{escape(message.severity)} · tenant {escape(message.tenant)}"
    return {
        "text": escape(f"{message.title}\n{message.text}"),
        "blocks": [
            {"type": "header",
             "text": {"type": "plain_text", "text": _cut(message.title, HEADER_LIMIT)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(body, SECTION_LIMIT)}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"{context} · <{link}|Open in Trailbook>"}]},
        ],
    }


async def send(config: dict[str, Any], message: Message, delivery_id: str,
               settings: Settings) -> None:
    url = str(config["webhook_url"])
    receiver = f"Slack webhook at {urlsplit(url).hostname}"
    response = await post_json(url, payload(message), settings, receiver=receiver)
    check_response(response, receiver)
