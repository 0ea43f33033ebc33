// Sanad portal: the one script. It only uploads documents with a progress bar; every page
// works without it (the form then posts as usual). It never sees a token: the session is
// in HttpOnly cookies, and the CSRF token is the form's own hidden field.
"use strict";

function showUploadErrors(form, body) {
  form.querySelectorAll(".field-error.js").forEach((node) => node.remove());
  Object.entries(body.errors || {}).forEach(([name, message]) => {
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`) || form.querySelector('[name="file"]');
    const error = document.createElement("p");
    error.className = "field-error js";
    error.id = `${control.id}-error-js`;
    error.textContent = message;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", error.id);
    control.closest(".field").classList.add("has-error");
    control.insertAdjacentElement("afterend", error);
  });
  (body.general || []).forEach((message) => {
    const alert = document.createElement("div");
    alert.className = "alert field-error js";
    alert.setAttribute("role", "alert");
    alert.textContent = message;
    form.prepend(alert);
  });
  const first = form.querySelector("[aria-invalid='true']");
  if (first) first.focus();
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form.js-upload") || !window.FormData) return;
  event.preventDefault();
  const box = form.querySelector(".upload-progress");
  const bar = box.querySelector("progress");
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("Accept", "application/json");
  request.upload.addEventListener("progress", (progress) => {
    if (progress.lengthComputable) bar.value = Math.round((100 * progress.loaded) / progress.total);
  });
  request.addEventListener("load", () => {
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (_) { body = {}; }
    if (request.status < 300 && body.redirect) {
      // The same page again (only the #fragment differs) must be loaded anew, not scrolled.
      const target = new URL(body.redirect, window.location.href);
      const here = window.location;
      if (target.pathname === here.pathname && target.search === here.search) here.reload();
      else here.assign(target.href);
      return;
    }
    box.hidden = true;
    showUploadErrors(form, body);
  });
  request.addEventListener("error", () => { box.hidden = true; form.submit(); });
  box.hidden = false;
  bar.value = 0;
  request.send(new FormData(form));
});
