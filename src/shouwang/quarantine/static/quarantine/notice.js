// The notice's print button (a file, not an onclick attribute: the CSP allows no inline script).
"use strict";
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () {
    window.print();
  });
});
