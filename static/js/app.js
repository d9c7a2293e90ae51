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

  // The status next to a copy button: a live region, so screen readers say
  // it; it shows for a moment, fades, and then empties.
  function announce(btn, text) {
    var out = document.getElementById(btn.getAttribute("data-status"));
    if (!out) return;
    out.textContent = text;
    out.classList.add("is-visible");
    clearTimeout(out._t);
    clearTimeout(out._t2);
    out._t = setTimeout(function () {
      out.classList.remove("is-visible");
      out._t2 = setTimeout(function () { out.textContent = ""; }, 500);
    }, 2500);
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

  // Times: the server writes UTC; show them in the viewer's time zone, with
  // the UTC time on hover. data-local-both keeps the UTC time in the text.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el._local) return;
      el._local = true;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      var utc = el.textContent.trim();
      var opts = { year: "numeric", month: "short", day: "numeric" };
      if (el.hasAttribute("data-clock")) {
        // A time of day: the date only when it is not today.
        opts = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
        if (d.toDateString() !== new Date().toDateString()) { opts.month = "short"; opts.day = "numeric"; }
        try { el.textContent = new Intl.DateTimeFormat(undefined, opts).format(d); el.title = utc; } catch (err) { /* UTC stays */ }
        return;
      }
      if (/\d:\d\d/.test(utc)) {
        opts.hour = "2-digit"; opts.minute = "2-digit"; opts.hourCycle = "h23"; opts.timeZoneName = "short";
        if (/\d:\d\d:\d\d/.test(utc)) opts.second = "2-digit";
      }
      var local;
      try { local = new Intl.DateTimeFormat(undefined, opts).format(d); } catch (err) { return; }
      el.title = utc;
      el.textContent = el.hasAttribute("data-local-both") ? local + " (" + utc + ")" : local;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  document.addEventListener("htmx:load", function (e) { if (e.detail.elt.querySelectorAll) localTimes(e.detail.elt); });

  // Tabs (the Details page's examples): every panel shows without this
  // file; with it, one at a time, chosen by click or arrow keys, remembered.
  var LANG = "tokenservice:example-language";
  function selectTab(box, tab, focus) {
    box.querySelectorAll('[role="tab"]').forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    });
    if (focus) tab.focus();
  }
  function startTabs(root) {
    root.querySelectorAll("[data-tabs]").forEach(function (box) {
      if (box._tabs) return;
      box._tabs = true;
      var list = box.querySelector('[role="tablist"]');
      var tabs = Array.prototype.slice.call(box.querySelectorAll('[role="tab"]'));
      if (!list || tabs.length === 0) return;
      list.hidden = false;
      box.classList.add("tabs--ready");
      var saved = null;
      try { saved = localStorage.getItem(LANG); } catch (err) { /* none */ }
      var first = tabs.filter(function (t) { return t.id === saved; })[0] || tabs[0];
      selectTab(box, first, false);
      list.addEventListener("click", function (e) {
        var tab = e.target.closest('[role="tab"]');
        if (!tab) return;
        selectTab(box, tab, false);
        try { localStorage.setItem(LANG, tab.id); } catch (err) { /* not remembered */ }
      });
      list.addEventListener("keydown", function (e) {
        var i = tabs.indexOf(document.activeElement);
        if (i < 0) return;
        var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (next === undefined) return;
        e.preventDefault();
        var tab = tabs[(next + tabs.length) % tabs.length];
        selectTab(box, tab, true);
        try { localStorage.setItem(LANG, tab.id); } catch (err) { /* not remembered */ }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { startTabs(document); });

  // The Add and Edit form: say at once what a choice means (no scope at
  // all, less access than the application has), and ask before leaving it
  // with changes that were not saved.
  var RANK = { "none": 0, "read": 1, "read-write": 2 };
  var dirty = false, submitting = false;
  function formNotices(form) {
    var groups = form.querySelectorAll("fieldset.access");
    var none = groups.length > 0;
    groups.forEach(function (g) {
      var checked = g.querySelector("input[type=radio]:checked");
      var value = checked ? checked.value : "none";
      if (value !== "none") none = false;
      var had = g.getAttribute("data-had");
      var note = had && document.getElementById(g.getAttribute("aria-describedby"));
      if (note) note.hidden = !(RANK[value] < RANK[had]);
    });
    var warn = form.querySelector("#no-scope-warning");
    // On Add, once the person has started on the form; on Edit, at once.
    if (warn) warn.hidden = !(none && (dirty || form.querySelector("input[name=version]") !== null));
  }
  function watchForm(root) {
    var form = root.matches && root.matches("form[data-keep-unsaved]") ? root : root.querySelector && root.querySelector("form[data-keep-unsaved]");
    if (!form || form._watched) return;
    form._watched = true;
    var changed = function () { dirty = true; formNotices(form); };
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function () { submitting = true; });
    formNotices(form);
  }
  document.addEventListener("DOMContentLoaded", function () { watchForm(document); });
  document.addEventListener("htmx:load", function (e) { watchForm(e.detail.elt); });
  // A save the server refused (errors, a conflict) brings the form back:
  // what was typed is still unsaved.
  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail.xhr;
    if (submitting && xhr && !xhr.getResponseHeader("HX-Redirect") && xhr.status >= 400) submitting = false;
  });
  window.addEventListener("beforeunload", function (e) {
    if (!dirty || submitting) return;
    e.preventDefault();
    e.returnValue = "";
  });

  // A page left open after its session ended says so when the person comes
  // back, instead of failing at the next click. Signing out marks the time
  // in localStorage, so other tabs know it was a sign-out, not a timeout.
  var SIGNED_OUT = "tokenservice:signed-out";
  var loadedAt = Date.now();
  function markSignedOut() {
    try { localStorage.setItem(SIGNED_OUT, String(Date.now())); } catch (err) { /* other tabs ask the server */ }
  }
  document.addEventListener("submit", function (e) {
    if (e.target.matches && e.target.matches('form[action="/auth/logout"]')) markSignedOut();
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-signed-out]")) markSignedOut();
  });
  function showSessionEnded() {
    var banner = document.getElementById("session-banner");
    if (!banner || !banner.hidden) return;
    var out = 0;
    try { out = parseInt(localStorage.getItem(SIGNED_OUT) || "0", 10); } catch (err) { /* unknown */ }
    banner.querySelector("[data-session-message]").textContent =
      out > loadedAt ? "You signed out in another tab." : "Your session has ended.";
    banner.querySelector("[data-session-signin]").href =
      "/auth/login?return_to=" + encodeURIComponent(location.pathname + location.search);
    banner.hidden = false;
  }
  function checkSession() {
    if (!document.getElementById("session-banner")) return;
    fetch("/auth/session", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s && s.signed_in === false) showSessionEnded(); }, function () { /* offline: say nothing */ });
  }
  window.addEventListener("storage", function (e) {
    if (e.key === SIGNED_OUT && document.getElementById("session-banner")) showSessionEnded();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") checkSession();
  });
  window.addEventListener("focus", checkSession);

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
