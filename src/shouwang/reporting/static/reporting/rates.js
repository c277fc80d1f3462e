// The reporting rate, live: the figures are fetched again every 5 s (counts only, no names).
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box) { return; }
  function refresh() {
    fetch(box.getAttribute("data-live"), { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        box.querySelector("[data-testid=rate-value]").textContent = data.rate;
        box.querySelector("[data-testid=rate-reported]").textContent = data.reported;
        data.organisations.forEach(function (org) {
          var row = document.querySelector("tr[data-org='" + org.id + "']");
          if (!row) { return; }
          var reported = row.querySelector("[data-cell=reported]");
          var rate = row.querySelector("[data-cell=rate]");
          var missing = row.querySelector("[data-testid=missing]");
          if (reported) { reported.textContent = org.reported + " / " + org.members; }
          if (rate) { rate.textContent = org.rate; }
          if (missing) { missing.textContent = Math.max(org.members - org.reported, 0); }
        });
      })
      .catch(function () { /* offline for a moment: the next round tries again */ });
  }
  window.setInterval(refresh, 5000);
})();
