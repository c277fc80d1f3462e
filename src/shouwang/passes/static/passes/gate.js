// The guard's gate page. Online, every code goes to the server (the authority: revocations,
// quarantine). When the server cannot be reached, the code is verified here with the keys and
// deny-lists fetched at the last sync, the scan is queued, and the queue is uploaded when the
// network returns (each scan has its own id, so a retried upload is stored once).
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("gate-config").textContent);
  const C = window.SWCodec;
  const T = config.text;
  const $ = (id) => document.getElementById(id);
  const input = $("scan-input");
  const compoundSelect = $("compound");
  const gateName = $("gate-name");
  const csrf = document.querySelector("#gate input[name=csrfmiddlewaretoken]").value;
  const QUEUE_KEY = "shouwang.gate.queue";
  const SYNC_EVERY_MS = 60 * 1000;
  const FLUSH_EVERY_MS = 15 * 1000;
  const ONLINE_TIMEOUT_MS = 2500;
  const STALE_AFTER_MS = 15 * 60 * 1000;
  const PASS_CLAIM = -70000;
  let direction = "in";

  // --- settings kept on this device ---------------------------------------------------------
  const saved = (key, fallback) => localStorage.getItem("shouwang.gate." + key) || fallback;
  compoundSelect.value = saved("compound", compoundSelect.value);
  if (!compoundSelect.value) compoundSelect.selectedIndex = 0;
  gateName.value = saved("name", "");
  compoundSelect.addEventListener("change", () => {
    localStorage.setItem("shouwang.gate.compound", compoundSelect.value);
    sync();
  });
  gateName.addEventListener("change", () => localStorage.setItem("shouwang.gate.name", gateName.value));
  document.querySelectorAll("[data-direction]").forEach((button) => {
    button.addEventListener("click", () => {
      direction = button.dataset.direction;
      document.querySelectorAll("[data-direction]").forEach((b) =>
        b.setAttribute("aria-pressed", String(b === button)));
      input.focus();
    });
  });
  const compoundId = () => Number(compoundSelect.value);

  function scanId() {
    // crypto.getRandomValues works on plain http too (randomUUID does not).
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- the lists of the last sync -----------------------------------------------------------
  const listKey = () => "shouwang.gate.lists." + compoundId();
  function lists() {
    try { return JSON.parse(localStorage.getItem(listKey()) || "null"); } catch (e) { return null; }
  }

  async function sync() {
    try {
      const answer = await fetch(`${config.sync}?compound_id=${compoundId()}`, {
        credentials: "same-origin", cache: "no-store",
      });
      if (answer.ok) {
        const body = await answer.json();
        body.fetched_at = Date.now();
        localStorage.setItem(listKey(), JSON.stringify(body));
      }
    } catch (e) { /* offline: keep what we have */ }
    showFreshness();
  }

  function showFreshness() {
    const got = lists();
    const box = $("freshness");
    if (!got) {
      box.textContent = T.no_lists;
      box.classList.add("stale");
    } else {
      const minutes = Math.floor((Date.now() - got.fetched_at) / 60000);
      box.textContent = `${T.lists} ${T.ago.replace("%(n)s", minutes)} · ` +
        `${new Date(got.fetched_at).toLocaleString()} · ` +
        T.counts.replace("%(keys)s", got.keys.length).replace("%(denied)s", got.revoked.length);
      box.dataset.fetchedAt = String(got.fetched_at);
      box.classList.toggle("stale", Date.now() - got.fetched_at > STALE_AFTER_MS);
    }
    const queued = queue().length;
    $("queue").textContent = queued ? T.queued.replace("%(n)s", queued) : "";
    $("queue").dataset.count = String(queued);
  }

  // --- the queue of scans verified offline --------------------------------------------------
  function queue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function setQueue(items) { localStorage.setItem(QUEUE_KEY, JSON.stringify(items)); showFreshness(); }

  let flushing = false;
  async function flush() {
    if (flushing) return;
    const items = queue();
    if (!items.length) return;
    flushing = true;
    try {
      const byCompound = new Map();
      for (const item of items) {
        if (!byCompound.has(item.compound_id)) byCompound.set(item.compound_id, []);
        byCompound.get(item.compound_id).push(item);
      }
      for (const [compound, scans] of byCompound) {
        const answer = await fetch(config.scans, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ compound_id: compound, scans: scans.map(({ compound_id, ...s }) => s) }),
        });
        if (answer.ok || answer.status === 422 || answer.status === 404) {
          // Stored (or refused for good: retrying the same bytes would not help).
          const done = new Set(scans.map((s) => s.scan_id));
          setQueue(queue().filter((s) => !done.has(s.scan_id)));
        }
      }
    } catch (e) { /* still offline */ }
    flushing = false;
    showFreshness();
  }

  // --- offline verification -----------------------------------------------------------------
  function b64urlToBytes(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }
  const keyCache = new Map();
  async function importKey(jwk) {
    if (!keyCache.has(jwk.kid + jwk.x)) {
      keyCache.set(jwk.kid + jwk.x, crypto.subtle.importKey(
        "jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]));
    }
    return keyCache.get(jwk.kid + jwk.x);
  }

  async function verifyOffline(code) {
    const deny = (reason, name = "") => ({ allowed: false, reason, name });
    const got = lists();
    if (code.startsWith("SWD:")) return deny("needs_network");
    // No keys yet, or no WebCrypto (plain http outside localhost): nothing to verify with.
    if (!got || !window.crypto || !crypto.subtle) return deny("needs_network");
    if (!code.startsWith(got.prefix)) return deny("malformed");
    let message;
    try {
      let decoded = C.cborDecode(await C.inflate(C.base45Decode(code.slice(got.prefix.length))));
      if (decoded instanceof C.Tag) {
        if (decoded.tag !== 18) throw new Error("not COSE_Sign1");
        decoded = decoded.value;
      }
      if (!Array.isArray(decoded) || decoded.length !== 4) throw new Error("not COSE_Sign1");
      message = decoded;
    } catch (e) {
      return deny("malformed");
    }
    const [protectedBytes, unprotected, payload, signature] = message;
    if (!(protectedBytes instanceof Uint8Array) || !(payload instanceof Uint8Array) ||
        !(signature instanceof Uint8Array)) return deny("malformed");
    let kid = unprotected instanceof Map ? unprotected.get(4) : undefined;
    if (!kid && protectedBytes.length) {
      try { const h = C.cborDecode(protectedBytes); kid = h instanceof Map ? h.get(4) : undefined; } catch (e) { /* none */ }
    }
    if (!(kid instanceof Uint8Array)) return deny("malformed");
    const kidText = new TextDecoder().decode(kid);
    const jwk = got.keys.find((k) => k.kid === kidText);
    if (!jwk) return deny((got.retired_keys || []).includes(kidText) ? "retired_key" : "forged");
    let good = false;
    try {
      const key = await importKey(jwk);
      good = await crypto.subtle.verify({ name: "Ed25519" }, key, signature,
        C.sigStructure(protectedBytes, payload));
    } catch (e) { good = false; }
    if (!good) return deny("forged");
    let claims, inner, passId;
    try {
      claims = C.cborDecode(payload);
      inner = claims.get(PASS_CLAIM);
      const cti = claims.get(7);
      if (claims.get(1) !== "shouwang" || !(inner instanceof Map) || !(cti instanceof Uint8Array)) throw new Error();
      passId = cti.reduce((n, b) => n * 256 + b, 0);
    } catch (e) {
      return deny("malformed");
    }
    const name = String(inner.get(1) || "");
    const now = Date.now() / 1000;
    // The same order as the server's answer.
    if (got.revoked.includes(passId)) return deny("revoked", name);
    if (got.suspended.includes(passId)) return deny("suspended", name);
    if (claims.has(4) && claims.get(4) <= now) return deny("expired", name);
    if (claims.has(5) && claims.get(5) > now) return deny("not_yet_valid", name);
    if (!(inner.get(2) || []).includes(got.compound.id)) return deny("wrong_compound", name);
    if (got.dynamic.includes(passId)) return deny("stale", name);
    if (got.quarantine.includes(passId)) return deny("quarantine", name);
    if ((got.quarantine_visits || []).includes(passId)) return deny("quarantine_visit", name);
    // An approved visit to a household under home quarantine: in, with who approved it and why.
    const approval = (got.approved_visits || {})[String(passId)];
    if (approval !== undefined) return { allowed: true, reason: "approved_visit", name, approval };
    return { allowed: true, reason: "ok", name };
  }

  // --- one scan -----------------------------------------------------------------------------
  async function verifyOnline(code, id, method) {
    const control = new AbortController();
    const timer = setTimeout(() => control.abort(), ONLINE_TIMEOUT_MS);
    try {
      const answer = await fetch(config.verify, {
        method: "POST",
        credentials: "same-origin",
        signal: control.signal,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({
          code, scan_id: id, direction, compound_id: compoundId(), gate: gateName.value, method,
        }),
      });
      if (answer.status >= 500) return null; // the server is there but broken: verify here
      if (answer.status === 401 || answer.status === 403) {
        return { allowed: false, reason: "", name: "", message: T.relogin };
      }
      if (!answer.ok) return { allowed: false, reason: "", name: "", message: T.error };
      return await answer.json();
    } catch (e) {
      return null; // unreachable
    } finally {
      clearTimeout(timer);
    }
  }

  async function handle(code, method) {
    code = code.trim();
    if (!code) return;
    const id = scanId();
    const at = new Date().toISOString();
    let verdict = await verifyOnline(code, id, method);
    let offline = false;
    if (verdict === null) {
      offline = true;
      verdict = await verifyOffline(code);
      setQueue([...queue(), {
        scan_id: id, code, at, direction, allowed: verdict.allowed, reason: verdict.reason,
        gate: gateName.value, compound_id: compoundId(),
      }]);
    } else {
      flush();
    }
    show(verdict, offline);
  }

  let hideTimer = null;
  function show(verdict, offline) {
    const box = $("verdict");
    box.classList.remove("allowed", "denied");
    box.classList.add("show", verdict.allowed ? "allowed" : "denied");
    box.dataset.reason = verdict.reason;
    box.dataset.offline = String(offline);
    $("verdict-word").textContent = verdict.allowed ? T.allowed : T.denied;
    $("verdict-name").textContent = verdict.name || "";
    $("verdict-reason").textContent = config.reasons[verdict.reason] || verdict.message || verdict.reason;
    $("verdict-offline").textContent = offline ? T.offline : "";
    $("verdict-approval").textContent = verdict.approval || "";
    const row = document.createElement("li");
    row.textContent = `${new Date().toLocaleTimeString()} · ${T.directions[direction] || direction} · ` +
      `${verdict.allowed ? "✔" : "✖"} ${verdict.name || ""} · ` +
      `${config.reasons[verdict.reason] || verdict.message || verdict.reason}` +
      (offline ? ` · ${T.offline}` : "");
    $("recent").prepend(row);
    while ($("recent").children.length > 10) $("recent").lastChild.remove();
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, verdict.allowed ? 2500 : 5000);
    input.focus();
  }
  function hide() { $("verdict").classList.remove("show"); input.focus(); }
  $("verdict").addEventListener("click", hide);

  // A keyboard-wedge scanner types the code and presses Enter.
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const code = input.value;
    input.value = "";
    handle(code, "scanner");
  });
  // Keep the scanner's keystrokes landing in the field.
  document.addEventListener("click", (event) => {
    if (!event.target.closest("select, input, button, label, a")) input.focus();
  });

  // --- camera (where the browser can read QR codes itself) ----------------------------------
  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    const button = $("camera-button");
    button.hidden = false;
    let stream = null;
    let last = { code: "", at: 0 };
    button.addEventListener("click", async () => {
      if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; $("camera").hidden = true; return; }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      } catch (e) { alert(T.no_camera); return; }
      const video = $("camera-video");
      video.srcObject = stream;
      $("camera").hidden = false;
      await video.play();
      const detector = new BarcodeDetector({ formats: ["qr_code"] });
      const look = async () => {
        if (!stream) return;
        try {
          for (const found of await detector.detect(video)) {
            const now = Date.now();
            if (found.rawValue !== last.code || now - last.at > 3000) {
              last = { code: found.rawValue, at: now };
              handle(found.rawValue, "camera");
            }
          }
        } catch (e) { /* a frame that could not be read */ }
        setTimeout(look, 200);
      };
      look();
    });
  }

  // --- a photo, read on the server ----------------------------------------------------------
  $("photo-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    try {
      // Grey pixels as a PGM image: the server reads the code with zxing-cpp, no image library.
      const bitmap = await createImageBitmap(file);
      const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height));
      const w = Math.round(bitmap.width * scale), h = Math.round(bitmap.height * scale);
      const canvas = document.createElement("canvas");
      canvas.width = w; canvas.height = h;
      const context = canvas.getContext("2d");
      context.drawImage(bitmap, 0, 0, w, h);
      const rgba = context.getImageData(0, 0, w, h).data;
      const header = new TextEncoder().encode(`P5 ${w} ${h} 255\n`);
      const pgm = new Uint8Array(header.length + w * h);
      pgm.set(header);
      for (let i = 0; i < w * h; i++) {
        pgm[header.length + i] = (rgba[i * 4] * 299 + rgba[i * 4 + 1] * 587 + rgba[i * 4 + 2] * 114) / 1000;
      }
      const form = new FormData();
      form.append("image", new Blob([pgm], { type: "image/x-portable-graymap" }), "photo.pgm");
      form.append("compound_id", String(compoundId()));
      form.append("direction", direction);
      form.append("gate", gateName.value);
      const answer = await fetch(config.photo, {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf }, body: form,
      });
      if (answer.ok) show(await answer.json(), false);
      else alert(T.photo_failed);
    } catch (e) {
      alert(T.photo_failed);
    }
  });

  window.addEventListener("online", () => { sync(); flush(); });
  setInterval(sync, SYNC_EVERY_MS);
  setInterval(flush, FLUSH_EVERY_MS);
  setInterval(showFreshness, 30 * 1000);
  sync().then(flush);
  input.focus();
})();
