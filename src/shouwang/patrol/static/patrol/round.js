// A round stepped with the keyboard: O = OK, F = finding (then 1-5 picks the category,
// Enter records it, Escape closes), N = next checkpoint, L = live view.
(function () {
  "use strict";
  var form = document.getElementById("finding-form");
  function typing(target) {
    return target && (target.tagName === "INPUT" && target.type !== "radio" || target.tagName === "TEXTAREA");
  }
  function click(key) {
    var el = document.querySelector('[data-key="' + key + '"]');
    if (el) { el.click(); return true; }
    return false;
  }
  var opener = document.getElementById("finding-open");
  if (opener && form) {
    opener.addEventListener("click", function () {
      form.hidden = false;
      var first = form.querySelector('input[name="category"]');
      if (first) { first.focus(); }
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      if (event.key === "Escape" && form) { form.hidden = true; event.target.blur(); }
      return;
    }
    var key = event.key.toLowerCase();
    if (form && !form.hidden) {
      if (key >= "1" && key <= "5") {
        var radios = form.querySelectorAll('input[name="category"]');
        var pick = radios[Number(key) - 1];
        if (pick) { pick.checked = true; pick.focus(); event.preventDefault(); }
        return;
      }
      if (key === "enter") { event.preventDefault(); form.requestSubmit(); return; }
      if (key === "escape") { form.hidden = true; return; }
      return;
    }
    if ((key === "o" || key === "enter") && click("o")) { event.preventDefault(); }
    else if (key === "f" && click("f")) { event.preventDefault(); }
    else if ((key === "n" || key === "arrowright") && click("n")) { event.preventDefault(); }
    else if (key === "l" && click("l")) { event.preventDefault(); }
  });
})();
