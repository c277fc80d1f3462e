// The print button of the printed-pass page (no inline handlers: the CSP forbids them).
"use strict";
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
