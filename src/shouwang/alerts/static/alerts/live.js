/* The live side shared by the alert screens: the event stream, a beep, a buzz, posting a form.
 *
 * The stream (Server-Sent Events) sends a "snapshot" of the open alerts on every (re)connect and
 * an "alert" event for each change. EventSource reconnects by itself and sends Last-Event-ID.
 * The beep is made with the Web Audio API (no sound file); browsers allow sound only after the
 * person has touched the page once, so the first touch unlocks it.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("alert-config").textContent);
  var SOUND_KEY = "shouwang.alerts.sound";
  var audio = null;

  function audioContext() {
    if (audio === null) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    return audio;
  }

  function soundOn() {
    try {
      return window.localStorage.getItem(SOUND_KEY) !== "off";
    } catch (e) {
      return true;
    }
  }

  function unlock() {
    var ctx = soundOn() ? audioContext() : null;
    if (ctx && ctx.state === "suspended") ctx.resume();
  }
  document.addEventListener("pointerdown", unlock, { passive: true });
  document.addEventListener("keydown", unlock);

  function beep(times) {
    var count = Number(document.body.dataset.beeps || 0) + 1;
    document.body.dataset.beeps = String(count); // what the browser tests look at
    if (!soundOn()) return;
    var ctx = audioContext();
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume();
    var at = ctx.currentTime + 0.02;
    for (var i = 0; i < (times || 2); i++) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.2);
      at += 0.28;
    }
  }

  function vibrate() {
    if (navigator.vibrate) {
      try {
        navigator.vibrate([200, 100, 200]);
      } catch (e) {
        /* not allowed before the first touch: the beep and the flash remain */
      }
    }
  }

  function setupSoundToggle() {
    var button = document.querySelector(".sound-toggle");
    if (!button) return;
    function show() {
      button.textContent = soundOn() ? button.dataset.on : button.dataset.off;
      button.setAttribute("aria-pressed", soundOn() ? "true" : "false");
    }
    button.addEventListener("click", function () {
      try {
        window.localStorage.setItem(SOUND_KEY, soundOn() ? "off" : "on");
      } catch (e) {
        /* private mode: the toggle lasts for this page only */
      }
      show();
      if (soundOn()) {
        unlock();
        beep(1);
      }
    });
    show();
  }

  /* handlers: {snapshot(data), alert(payload)}; shows the connection state. */
  function connect(handlers) {
    var state = document.querySelector(".live-state");
    function show(name, text) {
      if (!state) return;
      state.dataset.state = name;
      state.textContent = text;
    }
    var source = new EventSource(config.stream);
    source.addEventListener("open", function () {
      show("live", config.text.live);
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        show("closed", config.text.closed); // e.g. logged out: the stream answered a login page
      } else {
        show("connecting", config.text.offline);
      }
    });
    source.addEventListener("snapshot", function (event) {
      show("live", config.text.live);
      handlers.snapshot(JSON.parse(event.data));
    });
    source.addEventListener("alert", function (event) {
      handlers.alert(JSON.parse(event.data));
    });
    return source;
  }

  /* POST a form with fetch; resolves to {ok, status, data}. The CSRF token is the form's. */
  function post(form, extra) {
    var body = new FormData(form);
    if (extra) Object.keys(extra).forEach(function (k) { body.set(k, extra[k]); });
    return fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response
        .json()
        .catch(function () { return {}; })
        .then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    });
  }

  var timeFormat = new Intl.DateTimeFormat("en-CA", {
    timeZone: config.timeZone,
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  });

  /* "03-02 10:05", as the server's template writes it (month-day hour:minute, local time). */
  function shortTime(iso) {
    var parts = {};
    timeFormat.formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    var hour = parts.hour === "24" ? "00" : parts.hour;
    return parts.month + "-" + parts.day + " " + hour + ":" + parts.minute;
  }

  function alarming(payload) {
    return payload.status === "open" && config.alarming.indexOf(payload.reason) >= 0;
  }

  setupSoundToggle();
  window.ShouwangAlerts = {
    config: config,
    beep: beep,
    vibrate: vibrate,
    connect: connect,
    post: post,
    shortTime: shortTime,
    alarming: alarming,
  };
})();
