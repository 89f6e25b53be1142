// The progress bar of a bulk award: polls the batch's status every two seconds until its jobs
// are done (no inline script: the CSP allows only our files).
(function () {
  "use strict";
  var card = document.querySelector(".bulk-progress[data-status-url]");
  if (!card || card.getAttribute("data-state") === "done" || !window.fetch) {
    return;
  }
  var bar = card.querySelector("progress");
  var summary = card.querySelector(".bulk-summary");
  function poll() {
    fetch(card.getAttribute("data-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (status) {
        bar.max = status.total;
        bar.value = status.processed;
        bar.textContent = status.percent + " %";
        summary.textContent = status.summary;
        ["total", "issued", "already_held", "invited"].forEach(function (name) {
          var cell = card.querySelector('[data-figure="' + name + '"]');
          if (cell) { cell.textContent = status[name]; }
        });
        if (status.state !== "done") { window.setTimeout(poll, 2000); }
      }, function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}());
