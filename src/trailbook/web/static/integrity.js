// The integrity page: show what "Verify now" found, then the page's own record of it.
"use strict";

document.addEventListener("trailbook:verified", (ev) => {
  const report = ev.detail;
  const box = document.getElementById("verify-result");
  box.textContent = "";
  const line = document.createElement("p");
  line.className = report.ok ? "ok" : "bad";
  line.textContent = report.ok
    ? `✓ Intact: ${report.events_checked.toLocaleString()} events and ${report.checkpoints_checked} signed checkpoints verified.`
    : `✗ ${report.problems.length} problem(s); the first at seq ${report.first_problem.seq}: ${report.first_problem.kind} — ${report.first_problem.detail}`;
  box.appendChild(line);
  box.hidden = false;
  setTimeout(() => location.reload(), 1500);
});
