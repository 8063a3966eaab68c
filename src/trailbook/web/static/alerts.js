// The alerts page: the new-channel form shows the fields of the chosen kind and posts
// them as the channel's config; "Send test" posts to the channel's test action and
// says whether the message arrived.
(() => {
  "use strict";
  const form = document.getElementById("add-channel");
  if (!form) return;
  const kind = document.getElementById("channel-kind");

  function showKind() {
    for (const set of form.querySelectorAll("fieldset[data-kind]")) {
      set.hidden = set.dataset.kind !== kind.value;
    }
  }
  kind.addEventListener("change", showKind);
  showKind();

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const error = form.querySelector(".form-error");
    error.hidden = true;
    const fields = form.querySelector(`fieldset[data-kind="${kind.value}"]`);
    const config = {};
    for (const el of fields.querySelectorAll("input, select")) {
      if (el.value === "") continue;
      if (el.name === "to") config.to = el.value.split(",").map((s) => s.trim()).filter(Boolean);
      else if (el.name === "port") config.port = Number(el.value);
      else config[el.name] = el.value;
    }
    const button = form.querySelector('[type="submit"]');
    button.disabled = true;
    try {
      await Trailbook.api("POST", "/api/v1/alerts/channels",
        { name: form.elements.name.value, kind: kind.value, config });
      location.reload();
    } catch (e) {
      if (e.message !== "signed out") { error.textContent = e.message; error.hidden = false; }
    } finally {
      button.disabled = false;
    }
  });

  for (const button of document.querySelectorAll("[data-test-channel]")) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const outcome = await Trailbook.api("POST",
          `/api/v1/alerts/channels/${button.dataset.testChannel}/test`);
        if (outcome.delivered) Trailbook.toast("Test message delivered");
        else Trailbook.toast("Not delivered: " + outcome.error, true);
      } catch (e) {
        if (e.message !== "signed out") Trailbook.toast(e.message, true);
      } finally {
        button.disabled = false;
      }
    });
  }
})();
