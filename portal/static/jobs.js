// Follows a background job: polls its status and moves the progress bar; reloads the page when the job
// ends so the server renders the result. Without JavaScript the page refreshes itself (noscript meta).
(function () {
  "use strict";
  var box = document.querySelector("[data-job-status]");
  if (!box) { return; }
  var url = box.getAttribute("data-job-status");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-job-message]");
  var pct = box.querySelector("[data-job-percent]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) { setTimeout(poll, 5000); return; }
        if (bar) { bar.value = job.progress; }
        if (pct) { pct.textContent = job.progress + "%"; }
        if (text) { text.textContent = job.message || ""; }
        if (job.state === "succeeded" || job.state === "failed") { window.location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
}());
