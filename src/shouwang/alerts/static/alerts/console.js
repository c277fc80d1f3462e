/* The alert console on a worker's phone: the open and acknowledged alerts of their areas, kept
 * current by the live stream. A new alert is placed in order (not yet acknowledged first, then
 * the most severe, then the newest), beeps, buzzes and flashes. Acknowledge, call and resolve
 * post the card's own forms (which also work without this script).
 */
(function () {
  "use strict";

  var live = window.ShouwangAlerts;
  var config = live.config;
  var list = document.getElementById("alert-list");
  var template = document.getElementById("alert-card-template");
  var empty = document.getElementById("alert-empty");
  var count = document.querySelector("[data-testid=alert-count]");

  function cardOf(id) {
    return list.querySelector('.alert-card[data-id="' + id + '"]');
  }

  function sortKey(card) {
    return [
      card.dataset.status === "open" ? 0 : 1,
      -Number(card.dataset.severity || 0),
      -Date.parse(card.dataset.last || 0),
      -Number(card.dataset.id),
    ];
  }

  function before(a, b) {
    var ka = sortKey(a);
    var kb = sortKey(b);
    for (var i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i]) return ka[i] < kb[i];
    }
    return false;
  }

  function place(card) {
    var cards = list.querySelectorAll(".alert-card");
    for (var i = 0; i < cards.length; i++) {
      if (cards[i] !== card && before(card, cards[i])) {
        if (cards[i] !== card.nextElementSibling) list.insertBefore(card, cards[i]);
        return;
      }
    }
    if (card.parentNode !== list || card.nextElementSibling) list.appendChild(card);
  }

  function setText(card, field, text) {
    var el = card.querySelector('[data-f="' + field + '"]');
    if (el) el.textContent = text;
    return el;
  }

  function fill(card, p) {
    card.dataset.id = p.id;
    card.dataset.status = p.status;
    card.dataset.severity = p.severity;
    card.dataset.last = p.last_occurred_at || card.dataset.last || "";
    card.className = card.className
      .split(" ")
      .filter(function (c) { return c && !/^(sev|st)-/.test(c) && c !== "no-call"; })
      .concat(["sev-" + p.severity, "st-" + p.status])
      .concat(p.household_id || p.person_id ? [] : ["no-call"])
      .join(" ");
    setText(card, "severity_label", config.severities[String(p.severity)] || "");
    setText(card, "kind_label", config.kinds[p.kind] || p.kind);
    setText(card, "status_label", config.statuses[p.status] || p.status);
    setText(card, "title", p.title);
    if (p.last_occurred_at) {
      var when = setText(card, "last_occurred_at", live.shortTime(p.last_occurred_at));
      if (when) when.setAttribute("datetime", p.last_occurred_at);
    }
    setText(card, "occurrences", p.occurrences > 1 ? "×" + p.occurrences : "");
  }

  function build(p) {
    var card = template.content.firstElementChild.cloneNode(true);
    card.querySelectorAll("[href], [action]").forEach(function (el) {
      ["href", "action"].forEach(function (name) {
        var value = el.getAttribute(name);
        if (value) el.setAttribute(name, value.replace("__ID__", String(p.id)));
      });
    });
    return card;
  }

  function counted() {
    var n = list.querySelectorAll(".alert-card").length;
    count.textContent = String(n);
    count.dataset.n = String(n);
    empty.hidden = n > 0;
    document.title = (n ? "(" + n + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  }

  /* Returns the card, new or updated; null when the alert left the console. */
  function upsert(p) {
    var card = cardOf(p.id);
    if (p.status === "resolved") {
      if (card) card.remove();
      return null;
    }
    if (!card) card = build(p);
    fill(card, p);
    place(card);
    return card;
  }

  function alarm(card) {
    live.beep(2);
    live.vibrate();
    card.classList.remove("fresh");
    void card.offsetWidth; // restart the animation
    card.classList.add("fresh");
  }

  live.connect({
    snapshot: function (data) {
      var seen = {};
      var fresh = [];
      data.alerts.forEach(function (p) {
        seen[p.id] = true;
        var isNew = !cardOf(p.id);
        var card = upsert(p);
        if (card && isNew && data.resumed && p.status === "open") fresh.push(card);
      });
      list.querySelectorAll(".alert-card").forEach(function (card) {
        if (!seen[card.dataset.id]) card.remove();
      });
      if (fresh.length) alarm(fresh[0]);
      counted();
    },
    alert: function (p) {
      var card = upsert(p);
      if (card && live.alarming(p)) alarm(card);
      counted();
    },
  });

  function showPhone(card, tel) {
    var line = card.querySelector('[data-f="phone"]');
    if (!line) return;
    line.hidden = false;
    line.textContent = "";
    var link = document.createElement("a");
    link.href = "tel:" + tel;
    link.textContent = tel;
    link.dataset.testid = "tel";
    line.appendChild(link);
  }

  list.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest(".alert-card");
    var action = form.dataset.action;
    if (!card || !action) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    live
      .post(form)
      .then(function (result) {
        if (!result.ok) {
          var errors = (result.data && result.data.errors) || [config.text.failed];
          window.alert(errors.join("\n"));
          return;
        }
        if (action === "call") {
          showPhone(card, result.data.tel);
          window.location.href = "tel:" + result.data.tel;
        } else if (result.data.alert) {
          upsert(result.data.alert);
          counted();
        }
      })
      .catch(function () {
        window.alert(config.text.failed);
      })
      .then(function () {
        if (button) button.disabled = false;
      });
  });

  counted();
})();
