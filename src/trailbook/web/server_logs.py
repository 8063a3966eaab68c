"""The server logs page (/admin/logs): Trailbook's own log files, the last records of
one of them at or above a level (read on the server, shown without script), download
links, deleting rotated copies and a form for the levels and the rotation (those call
the JSON API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from trailbook.errors import TrailbookError
from trailbook.logs.areas import AREAS, LEVELS
from trailbook.model.timefmt import format_us
from trailbook.service.app import Trailbook
from trailbook.web.guard import PageRoute, page_principal
from trailbook.web.render import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LINE_CHOICES = (50, 200, 1000, 5000)


@router.get("/admin/logs")
async def server_logs_page(request: Request, file: str = "application.log",
                           level: str = "TRACE", lines: int = 200) -> Response:
    principal = await page_principal(request, "logs.read")
    tb: Trailbook = request.app.state.trailbook
    level = level.upper() if level.upper() in LEVELS else "TRACE"
    lines = lines if lines in LINE_CHOICES else 200

    def work() -> dict[str, Any]:
        shown = tb.server_logs.overview(principal)
        names = [f.name for f in shown.files]
        chosen = file if file in names else (names[0] if names else "")
        records: list[Any] = []
        problem = ""
        if chosen:
            try:
                records = tb.server_logs.tail(principal, chosen, lines, level)
            except TrailbookError as exc:
                problem = exc.one_line()
        return {
            "files": [{"name": f.name, "area": f.area, "live": f.live, "size": f.size,
                       "modified": format_us(int(f.modified * 1_000_000))}
                      for f in shown.files],
            "config": shown.config, "folder": str(shown.folder), "chosen": chosen,
            "records": records, "problem": problem,
        }

    shown = await run_in_threadpool(work)
    return render(request, "server_logs.html", principal, active="server-logs",
                  title="Server logs", areas=list(AREAS), levels=list(LEVELS),
                  level=level, lines=lines, line_choices=LINE_CHOICES,
                  can_manage=principal.can("logs.delete"), **shown)
