// The retention page: the policy form sends PUT /api/v1/retention/policies/<category>
// with the days as a number (or null for forever); the purge runs are read from
// GET /api/v1/retention/runs (an empty table when that fails), and "Run now" posts a
// run and shows what it did. Values are put into the page as text, never as markup.
(() => {
  "use strict";
  const form = document.getElementById("set-policy");
  if (!form) return;
  const days = form.elements.keep_days;
  const forever = form.elements.forever;

  function showForever() {
    days.disabled = forever.checked;
    days.required = !forever.checked;
  }
  forever.addEventListener("change", showForever);
  showForever();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".form-error");
    error.hidden = true;
    const category = form.elements.category.value;
    const body = { keep_days: forever.checked ? null : Number(days.value) };
    const button = form.querySelector('[type="submit"]');
    button.disabled = true;
    try {
      await Trailbook.api("PUT", "/api/v1/retention/policies/" +
        (category === "*" ? "%2A" : encodeURIComponent(category)), body);
      location.reload();
    } catch (e) {
      if (e.message !== "signed out") { error.textContent = e.message; error.hidden = false; }
    } finally {
      button.disabled = false;
    }
  });

  const runsBody = document.querySelector("#runs tbody");

  function cell(row, content) {
    const td = document.createElement("td");
    if (content instanceof Node) td.append(content); else td.textContent = content;
    row.append(td);
  }

  function showRuns(runs) {
    runsBody.replaceChildren();
    if (!runs.length) {
      const row = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 4;
      td.className = "muted";
      td.textContent = "No purge runs yet.";
      row.append(td);
      runsBody.append(row);
      return;
    }
    for (const run of runs) {
      const row = document.createElement("tr");
      if (run.id) row.dataset.run = run.id;
      const at = run.created_at || run.started_at || run.finished_at;
      cell(row, at ? Trailbook.timeElement(at) : "—");
      cell(row, run.events === undefined ? "—" : Number(run.events).toLocaleString("en"));
      cell(row, run.first_seq === undefined ? "—" : `${run.first_seq}–${run.last_seq}`);
      cell(row, run.archive || "—");
      runsBody.append(row);
    }
  }

  async function loadRuns() {
    try {
      const data = await Trailbook.api("GET", "/api/v1/retention/runs");
      showRuns((data && data.runs) || []);
    } catch (e) {
      showRuns([]);
    }
  }
  loadRuns();

  const runNow = document.getElementById("run-now");
  runNow.addEventListener("click", async () => {
    if (runNow.dataset.confirm && !confirm(runNow.dataset.confirm)) return;
    runNow.disabled = true;
    try {
      const report = (await Trailbook.api("POST", "/api/v1/retention/runs")) || {};
      if (report.error) {
        Trailbook.toast("Retention run failed: " + report.error, true);
      } else {
        const held = report.held ? `; ${report.held} kept by legal holds` : "";
        Trailbook.toast(`Retention run done: ${Number(report.purged || 0).toLocaleString("en")} events removed${held}`);
      }
      await loadRuns();
    } catch (e) {
      if (e.message !== "signed out") Trailbook.toast(e.message, true);
    } finally {
      runNow.disabled = false;
    }
  });
})();
