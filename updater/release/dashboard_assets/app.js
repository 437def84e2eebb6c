// The dashboard's only script (the CSP allows no inline one): it mirrors
// the rollout slider's value and asks before a revert. The pages work
// without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const range = document.getElementById("rollout-percent");
  const out = document.getElementById("rollout-out");
  if (range && out) {
    range.addEventListener("input", () => { out.textContent = range.value + "%"; });
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (ev) => {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  }
});
