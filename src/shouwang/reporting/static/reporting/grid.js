// The declaration grid: Enter in a row confirms it (its "confirmed" box) and moves to the next
// row's temperature; on the last row it moves to the save button, where Enter saves. So a
// member whose values are as yesterday costs one keystroke.
(function () {
  "use strict";
  var form = document.getElementById("grid");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll("tr.grid-row"));
  var save = form.querySelector("[data-testid=grid-save]");
  function confirm(row) {
    var ok = row.querySelector("input.ok");
    if (ok) { ok.checked = true; }
    row.classList.add("confirmed");
  }
  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.target === save) { return; }
    var row = event.target.closest ? event.target.closest("tr.grid-row") : null;
    if (!row) { return; }
    event.preventDefault();
    confirm(row);
    var next = rows[rows.indexOf(row) + 1];
    if (next) {
      var field = next.querySelector("input.t");
      field.focus();
      field.select();
    } else if (save) {
      save.focus();
    }
  });
  form.addEventListener("change", function (event) {
    var row = event.target.closest ? event.target.closest("tr.grid-row") : null;
    if (row && !event.target.classList.contains("ok")) { confirm(row); }
  });
  if (rows.length) {
    var first = rows[0].querySelector("input.t");
    first.focus();
    first.select();
  }
})();
