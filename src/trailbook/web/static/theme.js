// Applies the saved theme before the page paints (loaded in <head>, not deferred).
(function () {
  "use strict";
  try {
    var saved = localStorage.getItem("trailbook-theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.setAttribute("data-theme", saved);
    }
  } catch (e) { /* storage may be unavailable */ }
})();
