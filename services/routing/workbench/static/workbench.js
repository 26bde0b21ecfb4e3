// The workbench keeps a queue current without reloading under someone's hands: it asks
// the service every 15 seconds, and at once when the page comes back into view, whether
// the list changed (data-state-url); when it did,
// it reloads, unless the person is filling a form or has ticked tickets, in which case it
// says so and lets them reload. It also offers "select all" for bulk actions.
(function () {
  "use strict";
  var POLL_MS = 15000;
  var busy = false;
  document.addEventListener("input", function () { busy = true; });
  document.addEventListener("change", function () { busy = true; });

  function poll() {
    var body = document.body, url = body.getAttribute("data-state-url");
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || answer.state === body.getAttribute("data-state")) return;
        if (busy) { document.getElementById("changed").hidden = false; }
        else { window.location.reload(); }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.getAttribute("data-state-url")) {
      setInterval(poll, POLL_MS);
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "visible") poll();
      });
    }
    var all = document.getElementById("select-all");
    if (all) {
      all.hidden = false;
      all.addEventListener("click", function () {
        document.querySelectorAll('input[name="ticket"]').forEach(function (box) { box.checked = true; });
        busy = true;
      });
    }
  });
})();
