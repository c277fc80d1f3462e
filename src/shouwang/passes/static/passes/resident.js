// The resident's dynamic pass: fetch the code of the current 30-second window and redraw it.
"use strict";
(function () {
  const box = document.getElementById("qr");
  if (!box || !box.dataset.url) return;
  async function refresh() {
    let wait = 5;
    try {
      const answer = await fetch(box.dataset.url, { cache: "no-store" });
      if (answer.status === 410) {
        location.reload(); // revoked, suspended or expired: the page shows why, without a code
        return;
      }
      if (answer.ok) {
        const body = await answer.json();
        box.innerHTML = body.svg; // SVG drawn by the server from the code: no user text in it
        box.dataset.code = body.code;
        wait = Math.max(1, body.seconds_left);
      }
    } catch (error) {
      // Offline: keep the last code; it stops working when its window ends.
    }
    setTimeout(refresh, wait * 1000);
  }
  refresh();
})();
