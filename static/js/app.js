// Token Service portal behaviour. Everything works without this file; it adds
// copy buttons, the reveal-window countdown and htmx's CSRF header. No inline
// script and no eval: the page's CSP forbids both.
(function () {
  "use strict";

  function csrfToken() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // htmx requests carry the CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  function announce(btn, text) {
    var out = document.getElementById(btn.getAttribute("data-status"));
    if (!out) return;
    out.textContent = text;
    clearTimeout(out._t);
    out._t = setTimeout(function () { out.textContent = ""; }, 4000);
  }

  function writeClipboard(text) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text);
    }
    return Promise.reject(new Error("clipboard unavailable"));
  }

  // Copy buttons: data-copy-text copies a value on the page (the Client ID,
  // the example request); data-copy-url asks the server for the Client Secret
  // (POST with the CSRF token), which the server refuses after the window.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-copy-text], [data-copy-url]");
    if (!btn) return;
    e.preventDefault();
    var text = btn.getAttribute("data-copy-text");
    var done = function () { announce(btn, "Copied"); };
    var fail = function (msg) { announce(btn, msg || "Copy failed"); };
    if (text !== null) {
      writeClipboard(text).then(done, function () { fail(); });
      return;
    }
    fetch(btn.getAttribute("data-copy-url"), {
      method: "POST",
      headers: { "X-CSRF-Token": csrfToken(), "Accept": "text/plain" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (r) {
      if (!r.ok) {
        if (r.status === 410) { window.location.reload(); }
        throw new Error("HTTP " + r.status);
      }
      return r.text();
    }).then(function (secret) {
      return writeClipboard(secret);
    }).then(done, function () { fail(); });
  });

  // Countdown of the reveal window. The server sends the seconds left, so a
  // wrong clock on this computer does not matter. At zero the page reloads and
  // the server shows that the secret can no longer be viewed.
  function startCountdowns(root) {
    root.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el._started) return;
      el._started = true;
      var end = Date.now() + parseInt(el.getAttribute("data-countdown"), 10) * 1000;
      var tick = function () {
        var left = Math.max(0, Math.round((end - Date.now()) / 1000));
        var m = Math.floor(left / 60), s = left % 60;
        el.textContent = m + ":" + (s < 10 ? "0" : "") + s;
        if (left <= 0) {
          clearInterval(timer);
          window.location.reload();
        }
      };
      var timer = setInterval(tick, 1000);
      tick();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { startCountdowns(document); });
  // htmx:load fires for every piece of new content (e.g. the secret panel
  // after Show or Hide), so its countdown starts too.
  document.addEventListener("htmx:load", function (e) { startCountdowns(e.detail.elt); });

  // A save that ended in the login page (the session had ended) saved nothing:
  // keep the form's visible fields in this tab's sessionStorage, never the
  // CSRF token or a secret, and put them back once, with a notice.
  var UNSAVED = "tokenservice:unsaved-form";
  document.addEventListener("htmx:beforeOnLoad", function (e) {
    var xhr = e.detail.xhr;
    var to = xhr && xhr.getResponseHeader("HX-Redirect");
    var form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form[data-keep-unsaved]");
    if (!to || to.indexOf("/auth/login") !== 0 || !form) return;
    var values = [];
    form.querySelectorAll("input[name]").forEach(function (f) {
      if (f.type === "hidden" || f.type === "password") return;
      if ((f.type === "radio" || f.type === "checkbox") && !f.checked) return;
      values.push([f.name, f.value]);
    });
    try {
      sessionStorage.setItem(UNSAVED, JSON.stringify({ path: location.pathname, form: form.id, values: values }));
    } catch (err) { /* storage unavailable: the user retypes */ }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(UNSAVED) || "null");
      sessionStorage.removeItem(UNSAVED);
    } catch (err) { return; }
    if (!saved || saved.path !== location.pathname) return;
    var form = document.getElementById(saved.form);
    if (!form || !form.matches("form[data-keep-unsaved]")) return;
    saved.values.forEach(function (kv) {
      form.querySelectorAll("input[name]").forEach(function (f) {
        if (f.name !== kv[0] || f.type === "hidden") return;
        if (f.type === "radio" || f.type === "checkbox") { f.checked = f.value === kv[1]; } else { f.value = kv[1]; }
      });
    });
    var note = document.getElementById("unsaved-restored");
    if (note) { note.hidden = false; }
  });

  // A swap removes the element that had keyboard focus, which would fall back
  // to the page's start: focus the first invalid field of a re-rendered form,
  // else what the fragment marks data-focus. The page's first load moves nothing.
  document.addEventListener("htmx:load", function (e) {
    var el = e.detail.elt;
    if (!el || el === document.body || !el.querySelector) return;
    var pick = function (sel) { return el.matches(sel) ? el : el.querySelector(sel); };
    var target = pick('[aria-invalid="true"]') || pick("[data-focus]");
    if (target) target.focus();
  });
  // A custom time range on the Activity page is typed in the viewer's time
  // zone: its name goes with the range (the server reads it in UTC without
  // one). A range already shown keeps the zone it was read in.
  function fillTimeZone(root) {
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { zone = ""; }
    if (!zone) return;
    root.querySelectorAll("input[data-time-zone]").forEach(function (f) {
      if (f.value || f.hasAttribute("data-time-zone-fixed")) return;
      f.value = zone;
      var label = f.form && f.form.querySelector("[data-time-zone-name]");
      if (label) label.textContent = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fillTimeZone(document); });
})();
