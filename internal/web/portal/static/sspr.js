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
  // Live password checklist and strength meter: the server's own rules,
  // asked as the person types (the same rules refuse the form without JS).
  var pw = document.getElementById("password");
  var list = document.getElementById("rules");
  if (pw && list && window.fetch) {
    var meter = document.getElementById("meter");
    var label = document.getElementById("strength-label");
    var box = document.getElementById("strength");
    var texts = document.getElementById("state-texts");
    var passText = texts ? texts.content.querySelector("[data-pass]").textContent : "";
    var failText = texts ? texts.content.querySelector("[data-fail]").textContent : "";
    var timer = null, seq = 0;
    var render = function (res) {
      var byID = {};
      (res.checks || []).forEach(function (c) { byID[c.id] = c; });
      list.querySelectorAll("li[data-id]").forEach(function (li) {
        var c = byID[li.getAttribute("data-id")];
        if (!c || !pw.value) { li.removeAttribute("data-state"); li.querySelector(".state").textContent = ""; return; }
        var state = c.waived ? "waived" : (c.passed ? "pass" : (c.optional ? "" : "fail"));
        if (state) { li.setAttribute("data-state", state); } else { li.removeAttribute("data-state"); }
        li.querySelector(".state").textContent = c.passed ? passText : failText;
      });
      if (box) {
        box.hidden = !pw.value;
        meter.value = res.score || 0;
        label.textContent = res.score_label || "";
      }
    };
    var check = function () {
      var mine = ++seq;
      if (!pw.value) { render({ checks: [] }); return; }
      fetch("/reset/password/check", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ password: pw.value })
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (res) { if (res && mine === seq) { render(res); } })
        .catch(function () { /* the form still works; the server checks on submit */ });
    };
    pw.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 150);
    });
  }
})();
