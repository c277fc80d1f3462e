// "Copy all links" on the bulk-issue result: the clipboard API where the page is trusted
// (https, localhost), else the old select-and-copy, which works over plain http too.
"use strict";
document.querySelectorAll("[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const area = document.getElementById(button.dataset.copy);
    let done = false;
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(area.value);
        done = true;
      } catch (error) {
        done = false;
      }
    }
    if (!done) {
      area.closest("details").open = true;
      area.select();
      done = document.execCommand("copy");
    }
    if (done) button.textContent = button.dataset.copied;
  });
});
