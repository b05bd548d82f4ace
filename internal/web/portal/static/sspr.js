// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Show-password toggle: revealed only when scripts run, since it needs them.
  var box = document.getElementById("reveal");
  if (box) {
    box.closest(".reveal").hidden = false;
    box.addEventListener("change", function () {
      document.querySelectorAll("input[data-reveal]").forEach(function (el) {
        el.type = box.checked ? "text" : "password";
      });
    });
  }
  // Move focus to the error summary so screen readers announce it first.
  var err = document.getElementById("form-error");
  if (err) { err.focus(); }
  // Keep a code field to digits as people type or paste "123 456".
  var code = document.getElementById("code");
  if (code) {
    code.addEventListener("input", function () {
      var digits = code.value.replace(/[^0-9]/g, "");
      if (digits !== code.value) { code.value = digits; }
    });
  }
})();
