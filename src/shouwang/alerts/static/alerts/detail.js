/* One alert's page: the call buttons reveal the number (audited) and dial it; when the live
 * stream reports a change to this alert, the page reloads, unless the person is typing, in which
 * case a banner offers the reload. */
(function () {
  "use strict";

  var live = window.ShouwangAlerts;
  var root = document.querySelector("[data-alert]");
  if (!root) return;
  var id = Number(root.dataset.alert);
  var banner = root.querySelector(".live-banner");

  function busy() {
    var focused = document.activeElement;
    var typing = focused && /^(TEXTAREA|INPUT|SELECT)$/.test(focused.tagName);
    var filled = Array.prototype.some.call(root.querySelectorAll("textarea"), function (t) {
      return t.value.trim() !== "";
    });
    return typing || filled;
  }

  live.connect({
    snapshot: function () {},
    alert: function (p) {
      if (p.id !== id) return;
      if (busy()) {
        banner.hidden = false;
      } else {
        window.location.reload();
      }
    },
  });

  root.querySelectorAll('form[data-action="call"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      live.post(form).then(function (result) {
        if (!result.ok) {
          window.alert((result.data.errors || [live.config.text.failed]).join("\n"));
          return;
        }
        var line = root.querySelector('[data-f="phone"]');
        line.hidden = false;
        line.textContent = "";
        var link = document.createElement("a");
        link.href = "tel:" + result.data.tel;
        link.textContent = result.data.tel;
        link.dataset.testid = "tel";
        line.appendChild(link);
        window.location.href = "tel:" + result.data.tel;
      });
    });
  });
})();
