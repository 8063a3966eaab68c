// Shared by every page: theme switch, local times, and the forms and buttons that call
// the JSON API (with the session's CSRF token). Everything from events is put into the
// page as text (textContent), never as markup.
"use strict";

const Trailbook = (function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  const pad = (n, w = 2) => String(n).padStart(w, "0");

  function localTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function timeElement(iso) {
    const t = document.createElement("time");
    t.dateTime = iso;
    t.textContent = localTime(iso);
    t.title = `${iso} (shown in ${zone})`;
    return t;
  }

  function localizeTimes(root) {
    for (const t of (root || document).querySelectorAll("time[datetime]")) {
      if (t.dataset.local) continue;
      t.textContent = localTime(t.dateTime);
      t.title = `${t.dateTime} (shown in ${zone})`;
      t.dataset.local = "1";
    }
  }

  function toast(message, isError) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.classList.toggle("bad", !!isError);
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  // The API's one error shape: {"error": {"message", "details": [{"field", "reason"}]}}.
  function errorText(body, status) {
    const err = body && body.error;
    if (!err) return `Request failed (${status})`;
    const details = (err.details || []).map((d) => `${d.field}: ${d.reason}`).join("; ");
    return details ? `${err.message} (${details})` : err.message;
  }

  async function api(method, path, body) {
    const init = { method, headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
      credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    const text = await response.text();
    if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
    if (response.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(errorText(data, response.status));
    return data;
  }

  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled) continue;
      if (el.dataset.array !== undefined) {
        body[el.name] = body[el.name] || [];
        if (el.checked) body[el.name].push(el.value);
      } else if (el.type === "checkbox") {
        body[el.name] = el.checked;
      } else if (el.value !== "" || el.required) {
        body[el.name] = el.value;
      }
    }
    return body;
  }

  function showError(host, message) {
    const slot = host.querySelector(".form-error") ||
      host.closest("section, .card")?.querySelector(".form-error");
    if (slot) { slot.textContent = message; slot.hidden = false; } else { toast(message, true); }
  }

  function showSecret(label, value) {
    const box = document.getElementById("secret-box");
    const text = `${label}: ${value} — copy it now; it is not shown again.`;
    if (box) { box.textContent = text; box.hidden = false; box.scrollIntoView({ block: "center" }); }
    else { toast(text); }
  }

  async function run(host, method, path, body) {
    if (host.dataset.confirm && !confirm(host.dataset.confirm)) return;
    const then = host.dataset.then || "reload";
    const button = host.tagName === "FORM" ? host.querySelector('[type="submit"]') : host;
    if (button) button.disabled = true;
    try {
      const data = await api(method, path, body);
      if (then === "reload") { location.reload(); return; }
      if (then.startsWith("go:")) { location.href = then.slice(3); return; }
      if (then === "show:password" && data) {
        if (data.one_time_password || data.password) {
          showSecret(`One-time password for ${data.user ? data.user.email : data.email || "the user"}`,
            data.one_time_password || data.password);
        } else { location.reload(); return; }
      } else if (then === "show:secret" && data) {
        showSecret(`API key ${data.name}`, data.secret);
      } else if (then === "verify" && data) {
        document.dispatchEvent(new CustomEvent("trailbook:verified", { detail: data }));
      }
      if (host.tagName === "FORM" && then.startsWith("show:")) host.reset();
    } catch (e) {
      if (e.message !== "signed out") showError(host, e.message);
    } finally {
      if (button) button.disabled = false;
    }
  }

  function wire(root) {
    for (const host of (root || document).querySelectorAll("[data-api]")) {
      if (host.dataset.wired) continue;
      host.dataset.wired = "1";
      const [method, path] = host.dataset.api.split(" ");
      if (host.tagName === "FORM") {
        host.addEventListener("submit", (ev) => {
          ev.preventDefault();
          const slot = host.querySelector(".form-error");
          if (slot) slot.hidden = true;
          run(host, method, path, formBody(host));
        });
        for (const sel of host.querySelectorAll("[data-submit-on-change]")) {
          sel.addEventListener("change", () => host.requestSubmit());
        }
      } else {
        host.addEventListener("click", () => {
          const body = host.dataset.body ? JSON.parse(host.dataset.body) : undefined;
          run(host, method, path, body);
        });
      }
    }
  }

  // A click anywhere on an event row opens the event (the action cell holds the link,
  // which is what the keyboard reaches).
  function wireRows(root) {
    (root || document).addEventListener("click", (ev) => {
      const row = ev.target.closest("table.events tbody tr[data-id]");
      if (!row || ev.target.closest("a, button")) return;
      if (window.getSelection && String(window.getSelection())) return;
      const url = "/events/" + encodeURIComponent(row.dataset.id);
      if (ev.ctrlKey || ev.metaKey) window.open(url, "_blank"); else location.href = url;
    });
  }

  function wireTheme() {
    for (const b of document.querySelectorAll("[data-theme-toggle]")) {
      b.addEventListener("click", () => {
        const root = document.documentElement;
        const dark = root.getAttribute("data-theme") === "dark" ||
          (!root.hasAttribute("data-theme") && matchMedia("(prefers-color-scheme: dark)").matches);
        const next = dark ? "light" : "dark";
        root.setAttribute("data-theme", next);
        try { localStorage.setItem("trailbook-theme", next); } catch (e) { /* ignore */ }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    localizeTimes();
    wire();
    wireRows();
    wireTheme();
  });

  return { api, localTime, timeElement, localizeTimes, toast, errorText, wire };
})();
