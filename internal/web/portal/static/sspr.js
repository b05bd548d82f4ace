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
  // Proof of work: solve the start form's puzzle before it is sent.
  var powForm = document.querySelector("form[data-pow-nonce]");
  if (powForm && typeof ssprPoW === "function") {
    powForm.addEventListener("submit", function (ev) {
      var sol = powForm.querySelector("input[name=pow_solution]");
      if (sol.value) { return; }
      ev.preventDefault();
      var btn = powForm.querySelector("button[type=submit]");
      if (btn) { btn.disabled = true; }
      ssprPoW(powForm.getAttribute("data-pow-nonce"), parseInt(powForm.getAttribute("data-pow-bits"), 10)).then(function (s) {
        sol.value = s;
        powForm.submit();
      });
    });
  }
  // Keep a code field to digits as people type or paste "123 456".
  var code = document.getElementById("code");
  if (code && code.getAttribute("inputmode") === "numeric") {
    code.addEventListener("input", function () {
      var digits = code.value.replace(/[^0-9]/g, "");
      if (digits !== code.value) { code.value = digits; }
    });
  }
  // A Duo push waits on the server until the phone answers: say so and
  // keep the button from sending a second push meanwhile.
  var push = document.getElementById("duo-push-form");
  if (push) {
    push.addEventListener("submit", function () {
      var b = document.getElementById("duo-push");
      var wait = document.getElementById("duo-push-wait");
      if (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); }
      if (wait) { wait.classList.add("notice"); }
    });
  }
  // Live password checklist and strength meter: the server's own rules,
  // asked as the person types (the same rules refuse the form without JS).
  // Rules shown only when broken (the breach list, common passwords) appear
  // as soon as the password breaks them, worded as what is wrong. A summary
  // is announced politely once typing pauses, not on every keystroke.
  var pw = document.getElementById("password");
  var list = document.getElementById("rules");
  var checklist = document.getElementById("checklist");
  if (pw && list && checklist && window.fetch) {
    var url = checklist.getAttribute("data-check-url");
    var login = document.getElementById("login");
    var meter = document.getElementById("meter");
    var label = document.getElementById("strength-label");
    var strength = document.getElementById("strength");
    var live = document.getElementById("rules-status");
    var texts = document.getElementById("state-texts");
    var text = function (name) {
      var el = texts ? texts.content.querySelector("[data-" + name + "]") : null;
      return el ? el.textContent : "";
    };
    var timer = null, announce = null, seq = 0;
    var say = function (msg) {
      clearTimeout(announce);
      announce = setTimeout(function () { if (live) { live.textContent = msg; } }, 1200);
    };
    var render = function (res) {
      var byID = {}, met = 0, total = 0, problems = [];
      (res.checks || []).forEach(function (c) { byID[c.id] = c; });
      list.querySelectorAll("li[data-id]").forEach(function (li) {
        var c = byID[li.getAttribute("data-id")];
        var hidden = li.getAttribute("data-hidden") === "1";
        var stateText = li.querySelector(".state");
        var textEl = li.querySelector(".text");
        if (!li.hasAttribute("data-text")) { li.setAttribute("data-text", textEl.textContent); }
        if (!c || !pw.value) {
          li.removeAttribute("data-state");
          stateText.textContent = "";
          textEl.textContent = li.getAttribute("data-text");
          if (hidden) { li.hidden = true; }
          return;
        }
        var failed = !c.passed && !c.optional;
        if (hidden) { li.hidden = !failed; }
        textEl.textContent = c.message || li.getAttribute("data-text");
        var state = c.waived ? "waived" : (c.passed ? "pass" : (c.optional ? "" : (c.problem ? "problem" : "fail")));
        if (state) { li.setAttribute("data-state", state); } else { li.removeAttribute("data-state"); }
        stateText.textContent = " " + (c.passed ? text("pass") : (c.problem ? text("problem") : text("fail")));
        if (!c.optional && !li.hidden) {
          total++;
          if (c.passed) { met++; }
        }
        if (failed && c.problem) { problems.push(c.message); }
      });
      if (strength) {
        strength.hidden = !pw.value;
        meter.value = res.score || 0;
        label.textContent = res.score_label || "";
      }
      if (!pw.value) { if (live) { live.textContent = ""; } return; }
      var msg = text("status").replace("{met}", met).replace("{total}", total);
      problems.forEach(function (p) { msg += " " + p + "."; });
      say(msg);
    };
    var check = function () {
      var mine = ++seq;
      if (!pw.value) { render({ checks: [] }); return; }
      var body = { password: pw.value };
      if (login) { body.login = login.value; }
      fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body)
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (res) { if (res && mine === seq) { render(res); } })
        .catch(function () { /* the form still works; the server checks on submit */ });
    };
    pw.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, 150);
    });
  }
  // Done page: while a sync target is still being updated, read the page
  // again every few seconds (what its "Check again" link does without
  // scripts) and swap the outcome list in place, announcing what changed.
  var sync = document.getElementById("sync-status");
  var syncLive = document.getElementById("sync-live");
  if (sync && sync.getAttribute("data-poll") && window.fetch && window.DOMParser) {
    var states = function (el) {
      var out = {};
      el.querySelectorAll("li[data-target]").forEach(function (li) { out[li.getAttribute("data-target")] = li; });
      return out;
    };
    var poll = function () {
      fetch(sync.getAttribute("data-poll"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.status === 410) {
            // The finished flow was deleted: stop asking, and say so.
            var gone = sync.getAttribute("data-gone");
            var again = document.getElementById("sync-again");
            if (again) { again.parentNode.textContent = gone; }
            if (syncLive) { syncLive.textContent = gone; }
            sync.removeAttribute("data-poll");
            return null;
          }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          var next = html ? new DOMParser().parseFromString(html, "text/html").getElementById("sync-status") : null;
          if (!next) { return; }
          var before = states(sync), changed = [];
          var after = states(next);
          Object.keys(after).forEach(function (k) {
            if (!before[k] || before[k].getAttribute("data-state") !== after[k].getAttribute("data-state")) {
              changed.push(after[k].textContent.replace(/\s+/g, " ").trim());
            }
          });
          sync.replaceWith(next);
          sync = next;
          if (changed.length && syncLive) { syncLive.textContent = changed.join(". "); }
          if (sync.getAttribute("data-poll")) { setTimeout(poll, 5000); }
        })
        .catch(function () { setTimeout(poll, 15000); });
    };
    setTimeout(poll, 5000);
  }
})();
// Passkeys (WebAuthn): creating one on the enrollment page and using one to
// verify (recovery and enrollment step-up). The server's options travel in
// the form's data-options attribute (the factor's prompt, as JSON); binary
// members are base64url both ways, the JSON go-webauthn reads. The answer
// goes back in the hidden response_json field of an ordinary form post.
(function () {
  "use strict";
  var b64url = {
    decode: function (s) {
      s = String(s).replace(/-/g, "+").replace(/_/g, "/");
      while (s.length % 4) { s += "="; }
      var bin = atob(s), out = new Uint8Array(bin.length);
      for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
      return out.buffer;
    },
    encode: function (buf) {
      if (!buf) { return null; }
      var bytes = new Uint8Array(buf), bin = "";
      for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    }
  };
  // options reads the WebAuthn options from a form's prompt: {"options":
  // {...}} (or {"options": {"publicKey": {...}}}).
  var options = function (form) {
    var prompt = JSON.parse(form.getAttribute("data-options") || "{}");
    var o = prompt && prompt.options !== undefined ? prompt.options : prompt;
    if (typeof o === "string") { o = JSON.parse(o); }
    return o && o.publicKey ? o.publicKey : o;
  };
  var decodeList = function (list) {
    (list || []).forEach(function (c) { c.id = b64url.decode(c.id); });
  };
  var common = function (cred) {
    return {
      id: cred.id,
      rawId: b64url.encode(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  };
  var create = function (o) {
    o.challenge = b64url.decode(o.challenge);
    o.user.id = b64url.decode(o.user.id);
    decodeList(o.excludeCredentials);
    return navigator.credentials.create({ publicKey: o }).then(function (cred) {
      var out = common(cred);
      out.response = {
        clientDataJSON: b64url.encode(cred.response.clientDataJSON),
        attestationObject: b64url.encode(cred.response.attestationObject)
      };
      if (cred.response.getTransports) { out.response.transports = cred.response.getTransports(); }
      return out;
    });
  };
  var get = function (o) {
    o.challenge = b64url.decode(o.challenge);
    decodeList(o.allowCredentials);
    return navigator.credentials.get({ publicKey: o }).then(function (cred) {
      var out = common(cred);
      out.response = {
        clientDataJSON: b64url.encode(cred.response.clientDataJSON),
        authenticatorData: b64url.encode(cred.response.authenticatorData),
        signature: b64url.encode(cred.response.signature),
        userHandle: b64url.encode(cred.response.userHandle)
      };
      return out;
    });
  };
  // wire shows a form's passkey button and runs ceremony on a click; on
  // success it posts the form, on failure it says so and lets people retry.
  var wire = function (form, button, ceremony) {
    if (!form || !button) { return; }
    var errorBox = form.querySelector("#passkey-error");
    var say = function (text) {
      if (errorBox) { errorBox.textContent = text; errorBox.hidden = false; errorBox.focus && errorBox.focus(); }
    };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form.getAttribute("data-unsupported") || "");
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var o;
      try { o = options(form); } catch (e) { say(form.getAttribute("data-error") || String(e)); return; }
      button.disabled = true;
      if (errorBox) { errorBox.hidden = true; }
      ceremony(o).then(function (answer) {
        form.querySelector("input[name=response_json]").value = JSON.stringify(answer);
        form.submit();
      }).catch(function (e) {
        button.disabled = false;
        say(form.getAttribute("data-error") || (e && e.message) || String(e));
      });
    });
  };
  wire(document.getElementById("passkey-enroll-form"), document.getElementById("passkey-create"), create);
  wire(document.getElementById("passkey-form"), document.getElementById("passkey-button"), get);
  // Backup codes: a print button, shown only when scripts run.
  var print = document.getElementById("print-codes");
  if (print && window.print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
// Waiting for a manager's approval: ask again every few seconds, as the
// "check now" button does without scripts (the server counts no attempt
// while nobody has decided).
(function () {
  "use strict";
  var form = document.getElementById("approval-wait");
  if (!form) { return; }
  var every = parseInt(form.getAttribute("data-poll"), 10) || 5000;
  window.setTimeout(function () { form.submit(); }, every);
})();

// Coming back from the identity provider: hand its answer on at once (the
// page's button does the same without scripts).
(function () {
  "use strict";
  var f = document.querySelector("form[data-autosubmit]");
  if (f) { f.submit(); }
})();
