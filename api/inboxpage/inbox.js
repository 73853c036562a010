// Herald's notification centre. It talks to the REST API with the page's
// inbox token and listens to the user's stream; nothing is loaded from
// anywhere else.
(function () {
  "use strict";
  var body = document.body;
  var user = body.dataset.user, token = body.dataset.token;
  var base = "/v1/users/" + encodeURIComponent(user);
  var $ = function (id) { return document.getElementById(id); };
  var list = $("list"), badge = $("badge"), bell = $("bell"), filter = $("filter");
  var shown = {}; // item id -> its <li>
  // The page's language and the words this script writes, in it (the
  // server fills them in; a key without a word is its own English).
  var lang = document.documentElement.lang || "en";
  var words = {};
  try { words = JSON.parse(body.dataset.words || "{}"); } catch (e) { words = {}; }
  function t(key, arg) {
    var s = words[key] || key;
    return arg === undefined ? s : s.replace("%s", arg);
  }

  function api(method, path, payload) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + token } };
    if (payload !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(payload);
    }
    return fetch(base + path, opts).then(function (res) {
      if (res.status === 401) {
        status(t("Your session has expired. Reopen the notifications from the app."));
        throw new Error("unauthorized");
      }
      return res.json().then(function (j) {
        if (!res.ok) { throw new Error((j.error && j.error.message) || res.statusText); }
        return j;
      });
    });
  }

  function status(text) {
    var s = $("status");
    s.textContent = text || "";
    s.hidden = !text;
  }

  function setCount(n) {
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.dataset.count = String(n);
    bell.setAttribute("aria-label", t("Notifications: %s unread", String(n)));
  }

  function ago(iso) {
    var s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (lang.split("-")[0] !== "en" && window.Intl && Intl.RelativeTimeFormat) {
      // The browser's own CLDR data says "vor 5 Minuten", "il y a 5 minutes".
      var rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
      if (s < 45) { return rtf.format(0, "second"); }
      if (s < 3600) { return rtf.format(-Math.max(1, Math.round(s / 60)), "minute"); }
      if (s < 86400) { return rtf.format(-Math.max(1, Math.round(s / 3600)), "hour"); }
      if (s < 172800) { return rtf.format(-1, "day"); }
      return new Date(iso).toLocaleDateString(lang);
    }
    if (s < 45) { return "just now"; }
    if (s < 90) { return "a minute ago"; }
    if (s < 3600) { return Math.round(s / 60) + " minutes ago"; }
    if (s < 5400) { return "an hour ago"; }
    if (s < 86400) { return Math.round(s / 3600) + " hours ago"; }
    if (s < 172800) { return "yesterday"; }
    return new Date(iso).toLocaleDateString();
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function button(label, onClick) {
    var b = el("button", "", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function render(item) {
    var li = el("li", "item" + (item.read ? "" : " unread"));
    li.dataset.id = item.id;
    li.dataset.created = item.created_at;
    var title = el("div", "title");
    if (/^https?:\/\//.test(item.link || "")) {
      var a = el("a", "", item.title);
      a.href = item.link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.addEventListener("click", function () { if (!item.read) { markRead(item, true); } });
      title.appendChild(a);
    } else {
      title.textContent = item.title;
    }
    li.appendChild(title);
    if (item.body) { li.appendChild(el("div", "body", item.body)); }
    var meta = el("div", "meta", ago(item.created_at));
    meta.dataset.at = item.created_at;
    li.appendChild(meta);
    var actions = el("div", "actions");
    if (item.archived) {
      actions.appendChild(button(t("Unarchive"), function () { setState(item, { archived: false }); }));
    } else {
      actions.appendChild(button(item.read ? t("Mark unread") : t("Mark read"), function () { markRead(item, !item.read); }));
      actions.appendChild(button(t("Archive"), function () { setState(item, { archived: true }); }));
      var snooze = el("select");
      snooze.setAttribute("aria-label", t("Snooze for"));
      [["3600", "1 hour"], ["14400", "4 hours"], ["tomorrow", "Until tomorrow"], ["week", "Until next week"]].forEach(function (o) {
        var opt = el("option", "", t(o[1]));
        opt.value = o[0];
        snooze.appendChild(opt);
      });
      actions.appendChild(snooze);
      actions.appendChild(button(t("Snooze"), function () { snoozeItem(item, snooze.value); }));
    }
    li.appendChild(actions);
    return li;
  }

  function place(item) {
    if (shown[item.id]) { list.removeChild(shown[item.id]); }
    var li = render(item);
    shown[item.id] = li;
    // Newest first: before the first item created earlier.
    var next = null;
    for (var c = list.firstChild; c; c = c.nextSibling) {
      if (c.dataset.created < item.created_at) { next = c; break; }
    }
    list.insertBefore(li, next);
    $("empty").hidden = true;
  }

  function matches(item) {
    var f = filter.value;
    if (f === "archived") { return item.archived; }
    if (item.archived) { return false; }
    return f !== "unread" || !item.read;
  }

  function load() {
    var q = filter.value ? "?status=" + filter.value + "&limit=100" : "?limit=100";
    return api("GET", "/notifications" + q).then(function (page) {
      list.textContent = "";
      shown = {};
      page.data.forEach(place);
      $("empty").hidden = page.data.length > 0;
    }).catch(function (e) { if (e.message !== "unauthorized") { status(t("Could not load notifications: %s", e.message)); } });
  }

  function refreshCount() {
    return api("GET", "/notifications/unread_count").then(function (c) { setCount(c.count); }).catch(function () {});
  }

  function markRead(item, read) {
    return setState(item, { read: read });
  }

  function setState(item, state) {
    return api("PATCH", "/notifications/" + item.id, state).then(function (updated) {
      if (matches(updated)) { place(updated); } else { drop(item.id); }
      return refreshCount();
    }).catch(function (e) { status(t("Could not update: %s", e.message)); });
  }

  function drop(id) {
    if (shown[id]) { list.removeChild(shown[id]); delete shown[id]; }
    $("empty").hidden = list.firstChild !== null;
  }

  function snoozeItem(item, choice) {
    var until = new Date();
    if (choice === "tomorrow") { until.setDate(until.getDate() + 1); until.setHours(9, 0, 0, 0); }
    else if (choice === "week") { until.setDate(until.getDate() + ((8 - until.getDay()) % 7 || 7)); until.setHours(9, 0, 0, 0); }
    else { until = new Date(Date.now() + Number(choice) * 1000); }
    return api("POST", "/notifications/" + item.id + "/snooze", { until: until.toISOString() }).then(function () {
      drop(item.id);
      return refreshCount();
    }).catch(function (e) { status(t("Could not snooze: %s", e.message)); });
  }

  $("read-all").addEventListener("click", function () {
    api("POST", "/notifications/mark_all_read").then(load).then(refreshCount);
  });
  $("archive-read").addEventListener("click", function () {
    api("POST", "/notifications/archive_all_read").then(load);
  });
  filter.addEventListener("change", load);
  bell.addEventListener("click", function () {
    filter.value = "unread";
    load();
    list.focus();
  });

  // Live updates. EventSource reconnects by itself and resumes after the
  // last item it got (Last-Event-ID).
  var source;
  function listen() {
    source = new EventSource(base + "/notifications/stream?token=" + encodeURIComponent(token));
    source.addEventListener("notification", function (e) {
      var item = JSON.parse(e.data);
      if (matches(item)) { place(item); }
      $("live").textContent = t("New notification: %s", item.title);
    });
    source.addEventListener("count", function (e) { setCount(JSON.parse(e.data).count); });
    source.addEventListener("state", function () { load(); });
    // The server ended the stream for good: the token expired or the user
    // is gone. Reconnecting with this page's token cannot help.
    source.addEventListener("end", function () {
      source.close();
      status(t("Your session has expired. Reopen the notifications from the app."));
    });
    source.onopen = function () { status(""); };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // Closed for good (the token expired, say): check, then retry.
        refreshCount().then(function () { setTimeout(listen, 5000); });
      }
    };
  }

  setInterval(function () {
    var metas = list.querySelectorAll(".meta");
    for (var i = 0; i < metas.length; i++) { metas[i].textContent = ago(metas[i].dataset.at); }
  }, 30000);

  // Preferences: the panel edits channels, email frequency and quiet hours,
  // and keeps the rest of the stored document as it is.
  var doc = {};
  var channels = ["in_app", "email", "slack"];
  function loadPrefs() {
    return api("GET", "/preferences").then(function (p) {
      doc = p;
      var eff = p.effective || {};
      channels.forEach(function (ch) {
        var c = (eff.channels || {})[ch] || {};
        $("ch-" + ch).checked = c.enabled !== false;
      });
      var email = (eff.channels || {}).email || {};
      $("email-frequency").value = email.frequency || "immediate";
      var q = p.quiet_hours || {};
      $("quiet-on").checked = !!q.enabled;
      if (q.start) { $("quiet-start").value = q.start; }
      if (q.end) { $("quiet-end").value = q.end; }
      $("quiet-zone").value = q.timezone || "";
      $("quiet-weekends").checked = !!q.weekends;
    }).catch(function () {});
  }
  $("prefs-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var next = JSON.parse(JSON.stringify(doc));
    delete next.effective;
    // Only what the user set or changed is written: the rest keeps
    // following the organisation's defaults.
    var eff = (doc.effective || {}).channels || {};
    next.channels = next.channels || {};
    function put(ch, field, value, current) {
      var own = next.channels[ch] && next.channels[ch][field] !== undefined;
      if (own || value !== current) {
        next.channels[ch] = next.channels[ch] || {};
        next.channels[ch][field] = value;
      }
    }
    channels.forEach(function (ch) {
      put(ch, "enabled", $("ch-" + ch).checked, ((eff[ch] || {}).enabled !== false));
    });
    put("email", "frequency", $("email-frequency").value, (eff.email || {}).frequency || "immediate");
    var zone = $("quiet-zone").value.trim();
    if (doc.quiet_hours || $("quiet-on").checked) {
      next.quiet_hours = { enabled: $("quiet-on").checked, start: $("quiet-start").value, end: $("quiet-end").value,
        weekends: $("quiet-weekends").checked };
      if (zone) { next.quiet_hours.timezone = zone; }
    }
    $("prefs-status").textContent = t("Saving…");
    api("PUT", "/preferences", next).then(function (saved) {
      doc = saved;
      $("prefs-status").textContent = t("Saved.");
    }).catch(function (err) { $("prefs-status").textContent = t("Not saved: %s", err.message); });
  });
  try {
    var zones = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
    var dl = $("zones");
    zones.forEach(function (z) { var o = el("option"); o.value = z; dl.appendChild(o); });
    if (!$("quiet-zone").value) { $("quiet-zone").placeholder = Intl.DateTimeFormat().resolvedOptions().timeZone; }
  } catch (err) { /* an old browser lists no zones; typing one still works */ }

  load().then(refreshCount).then(listen);
  loadPrefs();
})();
