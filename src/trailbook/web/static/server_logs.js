// The server logs page: the levels and rotation form sends one PATCH with every area's
// level, the rotation size and the copies kept; the tail scrolls to its newest record.
(() => {
  "use strict";
  const tail = document.getElementById("tail");
  if (tail) tail.scrollTop = tail.scrollHeight;
  const form = document.getElementById("log-settings");
  if (!form || !form.querySelector('[type="submit"]')) return;

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".form-error");
    error.hidden = true;
    const body = { levels: {} };
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.name.startsWith("level.")) body.levels[el.name.slice(6)] = el.value;
      else if (el.value !== "") body[el.name] = Number(el.value);
    }
    const button = form.querySelector('[type="submit"]');
    button.disabled = true;
    try {
      await Trailbook.api("PATCH", "/api/v1/server-logs/settings", body);
      location.reload();
    } catch (e) {
      if (e.message !== "signed out") { error.textContent = e.message; error.hidden = false; }
    } finally {
      button.disabled = false;
    }
  });
})();
