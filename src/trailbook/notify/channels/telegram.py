"""Telegram through a bot: config ``{bot_token, chat_id}``; the message is posted to
``{telegram_api_url}/bot{token}/sendMessage`` as plain text (no parse mode, so event
texts need no escaping). Telegram's answer says ``ok``; a 429 carries the wait in
``parameters.retry_after``, which is honoured."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson

from trailbook.notify.channels.common import ConfigReader, one_line
from trailbook.notify.channels.http import failure, parse_retry_after, post_json
from trailbook.notify.message import Message
from trailbook.settings import Settings

FIELDS = ("bot_token", "chat_id")
SECRETS = ("bot_token",)
TEXT_LIMIT = 4096  # Telegram's limit for a message's text
_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
_CHAT_ID = re.compile(r"-?\d{1,20}")
_CHANNEL = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")


def validate(raw: Any) -> dict[str, Any]:
    reader = ConfigReader(raw, FIELDS)
    token = reader.secret("bot_token")
    if token is not None and not _TOKEN.fullmatch(token):
        reader.fail("config.bot_token", "not a bot token (123456789:ABC..., from @BotFather)")
    chat_id: int | str | None = None
    value = reader.raw.get("chat_id")
    if value is None or value == "":
        reader.fail("config.chat_id", "required")
    elif isinstance(value, int) and not isinstance(value, bool):
        chat_id = value
    elif isinstance(value, str) and _CHAT_ID.fullmatch(value.strip()):
        chat_id = int(value.strip())
    elif isinstance(value, str) and _CHANNEL.fullmatch(value.strip()):
        chat_id = value.strip()
    else:
        reader.fail("config.chat_id", "a chat id (a number such as -1001234567890) or "
                    "a channel's @username")
    reader.done("telegram")
    return {"bot_token": token, "chat_id": chat_id}


def text(message: Message) -> str:
    """The title, then the message's text, cut to Telegram's limit (the link, last,
    is kept)."""
    whole = f"{message.title}\n{message.text}"
    if len(whole) <= TEXT_LIMIT:
        return whole
    tail = f"…\n{message.link}"
    return whole[: TEXT_LIMIT - len(tail)] + tail


async def send(config: dict[str, Any], message: Message, delivery_id: str,
               settings: Settings) -> None:
    url = f"{settings.telegram_api_url}/bot{config['bot_token']}/sendMessage"
    payload = {"chat_id": config["chat_id"], "text": text(message),
               "disable_web_page_preview": True}
    response = await post_json(url, payload, settings, receiver="Telegram")
    answer = _answer(response)
    status = response.status_code
    if 200 <= status < 300 and answer.get("ok") is not False:
        return
    if 200 <= status < 300:  # {"ok": false} with a 2xx status: its error_code counts
        code = answer.get("error_code")
        status = code if isinstance(code, int) and not 200 <= code < 300 else 400
    description = answer.get("description")
    detail = one_line(str(description)) if description else one_line(response.text)
    reason = f"Telegram answered {status}" + (f": {detail}" if detail else "")
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    parameters = answer.get("parameters")
    if isinstance(parameters, dict):
        wait = parameters.get("retry_after")
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0:
            retry_after = float(wait)
    raise failure(status, reason, retry_after)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
