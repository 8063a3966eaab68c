// The logs page: facets and histogram (fetched after the first results are shown),
// paging by cursor as the table scrolls, the live tail, and the search form's
// conveniences. The page's URL holds the search; every fetch sends it as it is.
"use strict";

(function () {
  const state = JSON.parse(document.getElementById("logs-state").textContent);
  const form = document.getElementById("search-form");
  const table = document.getElementById("events");
  const tbody = table ? table.querySelector("tbody") : null;
  const FACET_PARAM = { category: "category", action: "action", actor: "actor_id",
    target_type: "target_type", result: "result", severity: "severity", ip: "ip" };
  const FACET_LABEL = { category: "Category", action: "Action", actor: "Actor",
    target_type: "Target type", result: "Result", severity: "Severity", ip: "IP" };
  const withSearch = (path, extra) => {
    const parts = [state.search, extra].filter(Boolean).join("&");
    return parts ? `${path}?${parts}` : path;
  };
  const text = (tag, value, cls) => {
    const el = document.createElement(tag);
    el.textContent = value == null || value === "" ? "—" : String(value);
    if (cls) el.className = cls;
    return el;
  };

  // -- rows (the same cells as the server's template) ----------------------------------
  function eventRow(e) {
    const tr = document.createElement("tr");
    tr.className = `sev-${e.severity}`;
    tr.dataset.id = e.id;
    const time = document.createElement("td");
    time.className = "c-time";
    time.appendChild(Trailbook.timeElement(e.occurred_at));
    tr.appendChild(time);
    const actor = text("td", e.actor.name || e.actor.email || e.actor.id, "c-actor");
    actor.title = e.actor.email || e.actor.id || "";
    tr.appendChild(actor);
    const action = document.createElement("td");
    action.className = "c-action";
    const link = document.createElement("a");
    link.href = "/events/" + encodeURIComponent(e.id);
    link.textContent = e.action;
    action.appendChild(link);
    if (state.show_category) {
      action.appendChild(document.createTextNode(" "));
      action.appendChild(text("span", e.category, "badge cat"));
    }
    tr.appendChild(action);
    const target = document.createElement("td");
    target.className = "c-target";
    const first = (e.targets || [])[0];
    if (first) {
      target.appendChild(text("span", first.type, "ttype"));
      target.appendChild(document.createTextNode(" " + (first.name || first.id)));
      if (e.targets.length > 1) {
        target.appendChild(document.createTextNode(" "));
        target.appendChild(text("small", `+${e.targets.length - 1}`, "muted"));
      }
    } else { target.textContent = "—"; }
    tr.appendChild(target);
    const result = document.createElement("td");
    result.className = "c-result";
    result.appendChild(text("span", e.result, `result ${e.result === "failure" ? "failure" : "success"}`));
    tr.appendChild(result);
    tr.appendChild(text("td", (e.source || {}).ip, "c-ip"));
    tr.appendChild(text("td", e.scope, "c-scope"));
    return tr;
  }

  function dropEmptyState() {
    const empty = document.getElementById("no-results");
    if (empty) empty.remove();
  }

  // -- paging by cursor as the table scrolls -------------------------------------------
  let nextCursor = state.next_cursor;
  let loading = false;
  const nextLink = document.getElementById("next-page");

  async function loadMore() {
    if (!nextCursor || loading || !tbody) return;
    loading = true;
    if (nextLink) nextLink.textContent = "Loading…";
    try {
      const cursor = "cursor=" + encodeURIComponent(nextCursor) + "&limit=" + state.page_size;
      const page = await Trailbook.api("GET", withSearch("/api/v1/events", cursor));
      for (const e of page.events) tbody.appendChild(eventRow(e));
      nextCursor = page.next_cursor;
      document.getElementById("total").textContent =
        `${tbody.rows.length}${nextCursor ? "+" : ""} shown`;
    } catch (e) {
      Trailbook.toast(e.message, true);
    } finally {
      loading = false;
      if (nextLink) {
        if (nextCursor) {
          nextLink.textContent = "Older events";
          nextLink.href = withSearch("/logs", "cursor=" + encodeURIComponent(nextCursor));
        } else { nextLink.remove(); }
      }
    }
  }

  if (nextLink && !state.paged && "IntersectionObserver" in window) {
    nextLink.addEventListener("click", (ev) => { ev.preventDefault(); loadMore(); });
    new IntersectionObserver((entries) => {
      if (entries.some((en) => en.isIntersecting)) loadMore();
    }, { rootMargin: "400px" }).observe(nextLink);
  }

  // -- the search form ---------------------------------------------------------------
  const preset = document.getElementById("time-preset");
  const grid = form.querySelector(".filtergrid");
  const sinceLocal = document.getElementById("since-local");
  const untilLocal = document.getElementById("until-local");
  const since = document.getElementById("since");
  const until = document.getElementById("until");
  const toLocalInput = (iso) => {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  };
  if (since.value) sinceLocal.value = toLocalInput(since.value);
  if (until.value) untilLocal.value = toLocalInput(until.value);
  function showCustom(on) {
    grid.classList.toggle("show-custom", on);
    if (on) document.getElementById("filters").open = true;
  }
  showCustom(preset.value === "custom");
  preset.addEventListener("change", () => {
    if (preset.value === "custom") { showCustom(true); sinceLocal.focus(); return; }
    since.value = ""; until.value = "";
    form.requestSubmit();
  });

  form.addEventListener("submit", () => {
    if (preset.value === "custom") {
      since.value = sinceLocal.value ? new Date(sinceLocal.value).toISOString() : "";
      until.value = untilLocal.value ? new Date(untilLocal.value).toISOString() : "";
      preset.disabled = true;
    } else { since.value = ""; until.value = ""; }
    // Leave empty fields out, so the URL holds only what the search uses.
    for (const el of form.elements) {
      if (el.name && !el.disabled && el.value === "") el.disabled = true;
    }
  });

  function go(params) {
    const query = params.toString();
    location.href = query ? `/logs?${query}` : "/logs";
  }

  function addFilter(name, value) {
    const params = new URLSearchParams(state.search);
    if (name === "category") params.delete("category");
    if (![...params.getAll(name)].includes(value)) params.append(name, value);
    go(params);
  }

  // -- facets and histogram ----------------------------------------------------------
  const facetsBox = document.getElementById("facets");
  function renderFacets(facets) {
    facetsBox.textContent = "";
    for (const [field, facet] of Object.entries(facets)) {
      if (!facet.values.length) continue;
      const box = document.createElement("section");
      box.className = "facet";
      box.dataset.field = field;
      box.appendChild(text("h3", FACET_LABEL[field] || field));
      const list = document.createElement("ul");
      const clickable = FACET_PARAM[field] && !(state.masked && field === "ip");
      for (const v of facet.values) {
        const li = document.createElement("li");
        const label = v.value === null ? "(none)" : v.value;
        if (clickable && v.value !== null) {
          const b = document.createElement("button");
          b.type = "button";
          b.textContent = label;
          b.title = `Only ${FACET_PARAM[field]} = ${label}`;
          b.addEventListener("click", () => addFilter(FACET_PARAM[field], v.value));
          li.appendChild(b);
        } else { li.appendChild(text("span", label, "plain")); }
        li.appendChild(text("span", v.count.toLocaleString(), "count"));
        list.appendChild(li);
      }
      box.appendChild(list);
      if (facet.sampled) box.appendChild(text("p", "counted over the newest 10,000", "muted small"));
      facetsBox.appendChild(box);
    }
    if (!facetsBox.children.length) facetsBox.appendChild(text("p", "Nothing to count.", "muted small"));
    facetsBox.setAttribute("aria-busy", "false");
  }

  const SVG = "http://www.w3.org/2000/svg";
  function renderHistogram(h) {
    const host = document.getElementById("histogram");
    host.textContent = "";
    if (!h || !h.buckets.length) { host.hidden = true; return; }
    const width = host.clientWidth || 800, height = host.clientHeight || 96, pad = 14;
    const max = Math.max(1, ...h.buckets.map((b) => b.count));
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    const step = width / h.buckets.length;
    const start = Date.parse(h.from), end = Date.parse(h.to);
    h.buckets.forEach((b, i) => {
      const barH = b.count ? Math.max(2, (height - pad - 4) * b.count / max) : 0;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("class", "bar");
      rect.setAttribute("x", String(i * step + 0.5));
      rect.setAttribute("width", String(Math.max(1, step - 1)));
      rect.setAttribute("y", String(height - pad - barH));
      rect.setAttribute("height", String(barH));
      const tip = document.createElementNS(SVG, "title");
      tip.textContent = `${Trailbook.localTime(b.start)}: ${b.count.toLocaleString()}`;
      rect.appendChild(tip);
      svg.appendChild(rect);
    });
    for (const [x, anchor, iso] of [[2, "start", h.from], [width - 2, "end", h.to]]) {
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("class", "axis");
      label.setAttribute("x", String(x));
      label.setAttribute("y", String(height - 3));
      label.setAttribute("text-anchor", anchor);
      label.textContent = Trailbook.localTime(iso);
      svg.appendChild(label);
    }
    const brush = document.createElementNS(SVG, "rect");
    brush.setAttribute("class", "brush");
    brush.setAttribute("y", "0");
    brush.setAttribute("height", String(height - pad));
    brush.setAttribute("width", "0");
    svg.appendChild(brush);
    host.appendChild(svg);
    host.setAttribute("aria-label", `Events over time, ${Trailbook.localTime(h.from)} to ${Trailbook.localTime(h.to)}; drag to narrow the time range`);

    // Brushing: drag across the bars to search that time range.
    const xOf = (ev) => {
      const box = svg.getBoundingClientRect();
      return Math.min(width, Math.max(0, (ev.clientX - box.left) * width / box.width));
    };
    let from = null;
    svg.addEventListener("pointerdown", (ev) => {
      from = xOf(ev);
      svg.setPointerCapture(ev.pointerId);
      brush.setAttribute("x", String(from));
      brush.setAttribute("width", "0");
    });
    svg.addEventListener("pointermove", (ev) => {
      if (from === null) return;
      const x = xOf(ev);
      brush.setAttribute("x", String(Math.min(from, x)));
      brush.setAttribute("width", String(Math.abs(x - from)));
    });
    svg.addEventListener("pointerup", (ev) => {
      if (from === null) return;
      const x = xOf(ev), lo = Math.min(from, x), hi = Math.max(from, x);
      from = null;
      if (hi - lo < 3) { brush.setAttribute("width", "0"); return; }
      const at = (px) => new Date(start + (end - start) * px / width).toISOString();
      const params = new URLSearchParams(state.search);
      params.delete("last"); params.delete("since"); params.delete("until");
      params.set("since", at(lo));
      params.set("until", at(hi));
      go(params);
    });
  }

  async function loadSummary() {
    if (state.error) { facetsBox.textContent = ""; return; }
    try {
      const summary = await Trailbook.api("GET", withSearch("/api/v1/facets", "budget_ms=800"));
      renderFacets(summary.facets);
      renderHistogram(summary.histogram);
      const total = summary.total;
      const shown = tbody ? tbody.rows.length : 0;
      document.getElementById("total").textContent =
        `${total.exact ? "" : "about "}${total.count.toLocaleString()} events` +
        (shown ? ` · ${shown} shown` : "");
    } catch (e) {
      facetsBox.textContent = "";
      facetsBox.appendChild(text("p", `Facets unavailable: ${e.message}`, "muted small"));
    }
  }

  // -- live tail -----------------------------------------------------------------------
  const liveButton = document.getElementById("live-toggle");
  const liveStatus = document.getElementById("live-status");
  let stream = null, arrived = 0;
  function setLive(on) {
    liveButton.setAttribute("aria-pressed", on ? "true" : "false");
    liveButton.textContent = on ? "❚❚ Pause" : "▶ Live";
    liveStatus.hidden = false;
    liveStatus.textContent = on ? `Live: waiting for new events… (${arrived} so far)`
      : (arrived ? `Paused. ${arrived} new events arrived while live.` : "Paused.");
  }
  function startLive() {
    if (!tbody) return;
    stream = new EventSource(withSearch("/api/v1/events/stream"));
    stream.addEventListener("events", (msg) => {
      const batch = JSON.parse(msg.data).events || [];
      dropEmptyState();
      for (const e of batch) {
        const row = eventRow(e);
        row.classList.add("fresh");
        tbody.insertBefore(row, tbody.firstChild);
      }
      arrived += batch.length;
      setLive(true);
    });
    stream.addEventListener("error", () => {
      if (stream && stream.readyState === EventSource.CLOSED) {
        liveStatus.textContent = "Live tail stopped (signed out or the server went away).";
        liveButton.setAttribute("aria-pressed", "false");
        liveButton.textContent = "▶ Live";
        stream = null;
      }
    });
    setLive(true);
  }
  function stopLive() {
    if (stream) stream.close();
    stream = null;
    setLive(false);
  }
  liveButton.addEventListener("click", () => (stream ? stopLive() : startLive()));
  if (state.error) liveButton.disabled = true;

  // -- saving the search ---------------------------------------------------------------
  // The page's search is its URL: "query" is the query language, the rest are the
  // filter parameters, kept as lists (a parameter may repeat).
  const saveButton = document.getElementById("save-search");
  if (saveButton) {
    saveButton.addEventListener("click", async () => {
      const search = new URLSearchParams(state.search);
      const query = search.get("query") || "";
      const name = prompt("Name this search (only you see your saved searches):",
        query.slice(0, 100));
      if (name === null || !name.trim()) return;
      const params = {};
      for (const [key, value] of search) {
        if (key === "query" || key === "cursor") continue;
        (params[key] = params[key] || []).push(value);
      }
      saveButton.disabled = true;
      try {
        await Trailbook.api("POST", "/api/v1/saved-searches", { name: name.trim(), query, params });
        location.reload();
      } catch (e) {
        if (e.message !== "signed out") Trailbook.toast(e.message, true);
        saveButton.disabled = false;
      }
    });
  }

  // Exports write times in the viewer's own zone (CSV and XLSX; JSON keeps the
  // stored documents exactly, so that they verify).
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    for (const link of document.querySelectorAll("a[data-export]")) {
      link.href += "&tz=" + encodeURIComponent(zone);
    }
  }

  // "/" focuses the query box, as in most log viewers.
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "/" && !ev.target.closest("input, textarea, select")) {
      ev.preventDefault();
      document.getElementById("query").focus();
    }
  });

  loadSummary();
})();
