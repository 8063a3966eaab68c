// The exports page: while a job is queued or running, its progress is read from the
// API every second and shown in place; when one ends, the page reloads to show its
// downloads (or its error).
(() => {
  "use strict";
  const table = document.getElementById("jobs");
  if (!table || table.dataset.jobsPoll !== "on") return;
  const number = new Intl.NumberFormat();

  function size(bytes) {
    const units = ["Bytes", "kB", "MB", "GB", "TB"];
    let value = bytes, unit = 0;
    while (value >= 1000 && unit < units.length - 1) { value /= 1000; unit += 1; }
    return (unit ? value.toFixed(1) : String(value)) + " " + units[unit];
  }

  async function poll() {
    let answer;
    try {
      answer = await Trailbook.api("GET", "/api/v1/exports/jobs");
    } catch (e) {
      if (e.message === "signed out") return;
      setTimeout(poll, 5000);
      return;
    }
    let ended = false;
    for (const job of answer.jobs) {
      const row = table.querySelector(`tr[data-job="${job.id}"]`);
      if (!row) continue;
      if (row.dataset.state !== job.state && !["queued", "running"].includes(job.state)) {
        ended = true;
      }
      row.querySelector('[data-field="state"]').textContent = job.state;
      const bar = row.querySelector('[data-field="progress"]');
      if (job.percent !== null) bar.value = job.percent;
      row.querySelector('[data-field="rows"]').textContent =
        number.format(job.rows) + (job.total !== null ? " of " + number.format(job.total) : "") + " rows";
      row.querySelector('[data-field="bytes"]').textContent = size(job.bytes);
    }
    if (ended) { location.reload(); return; }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
