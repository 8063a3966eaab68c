// The event page: its forms (tags, comments) are wired by common.js; this keeps the raw
// JSON and the diff readable and lets the tag box take a leading '#'.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const tag = document.getElementById("tag-input");
  if (tag) {
    tag.addEventListener("input", () => {
      if (tag.value.startsWith("#")) tag.value = tag.value.slice(1);
    });
  }
});
