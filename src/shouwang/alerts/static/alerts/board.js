/* The town's alert board: the filtered table is fetched again (at most once a second) when the
 * live stream reports a change, so the server's filters and scoping decide what is shown. New
 * rows flash; a new alert beeps. */
(function () {
  "use strict";

  var live = window.ShouwangAlerts;
  var holder = document.getElementById("board-rows");
  var known = {};
  var timer = null;
  var first = true;

  function rows() {
    return holder.querySelectorAll("[data-testid=board-row]");
  }

  rows().forEach(function (row) { known[row.dataset.id] = true; });

  function refresh() {
    timer = null;
    var query = holder.dataset.query;
    var url = window.location.pathname + "?" + (query ? query + "&" : "") + "partial=1";
    var page = new URLSearchParams(window.location.search).get("page");
    if (page) url += "&page=" + encodeURIComponent(page);
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        holder.innerHTML = html;
        rows().forEach(function (row) {
          if (!known[row.dataset.id]) {
            known[row.dataset.id] = true;
            row.classList.add("fresh");
          }
        });
      });
  }

  function soon() {
    if (timer === null) timer = window.setTimeout(refresh, 300);
  }

  live.connect({
    snapshot: function () {
      if (first) {
        first = false; // the page was rendered just now
        return;
      }
      soon();
    },
    alert: function (p) {
      if (p.reason === "opened" && p.status === "open") live.beep(2);
      soon();
    },
  });
})();
