// Herald's drop-in notification bell. Embed it with
//   <script src="https://herald.example/inbox/widget.js" data-user="USER_ID" data-token="INBOX_TOKEN" async></script>
// and, optionally, data-target="#css-selector" for where the bell goes
// (otherwise it floats in the bottom-right corner), and data-locale="de" for
// the bell's language (otherwise the host page's). The bell shows the
// unread count, live, and opens the notification centre in a panel.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var token = script.getAttribute("data-token"), user = script.getAttribute("data-user");
  if (!token || !user) { console.warn("Herald widget: data-user and data-token are required"); return; }
  // The bell's words in each language Herald's pages come in, filled in by
  // the server. The language is data-locale's, else the host page's, else
  // the browser's; the panel's page is in the user's own.
  var WORDS = {} /* words */;
  var words = pick([script.getAttribute("data-locale"), document.documentElement.lang].concat(navigator.languages || [navigator.language]));
  function pick(wants) {
    for (var i = 0; i < wants.length; i++) {
      var w = String(wants[i] || "").toLowerCase().replace("_", "-");
      if (WORDS[w]) { return WORDS[w]; }
      if (WORDS[w.split("-")[0]]) { return WORDS[w.split("-")[0]]; }
    }
    return WORDS.en;
  }
  function t(key, arg) {
    var s = words[key] || key;
    return arg === undefined ? s : s.replace("%s", arg);
  }
  var origin = new URL(script.src, location.href).origin;
  var page = origin + "/inbox?token=" + encodeURIComponent(token);

  var bell = document.createElement("button");
  bell.type = "button";
  bell.setAttribute("aria-label", t("Notifications"));
  bell.setAttribute("aria-expanded", "false");
  bell.innerHTML = '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.73 21a2 2 0 0 1-3.46 0"/></svg>';
  bell.style.cssText = "position:relative;display:inline-flex;align-items:center;justify-content:center;color:#1d1d1f;background:#fff;border:1px solid #e5e5ea;border-radius:50%;width:44px;height:44px;cursor:pointer;";
  var badge = document.createElement("span");
  badge.setAttribute("aria-hidden", "true");
  badge.style.cssText = "position:absolute;top:-4px;right:-4px;min-width:18px;height:18px;border-radius:9px;background:#e5484d;color:#fff;font:11px/18px sans-serif;text-align:center;padding:0 5px;display:none;";
  bell.appendChild(badge);

  var panel = document.createElement("iframe");
  panel.title = t("Notifications");
  panel.style.cssText = "position:fixed;right:16px;bottom:72px;width:min(400px,calc(100vw - 32px));height:min(600px,calc(100vh - 96px));border:1px solid #e5e5ea;border-radius:8px;box-shadow:0 8px 24px rgba(0,0,0,.15);background:#fff;display:none;z-index:2147483647;";

  var target = script.getAttribute("data-target");
  var host = target && document.querySelector(target);
  if (!host) {
    host = document.createElement("div");
    host.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483647;";
    document.body.appendChild(host);
  }
  host.appendChild(bell);
  document.body.appendChild(panel);

  function setCount(n) {
    badge.textContent = n > 99 ? "99+" : String(n);
    badge.style.display = n > 0 ? "block" : "none";
    bell.setAttribute("aria-label", t("Notifications: %s unread", String(n)));
  }

  bell.addEventListener("click", function () {
    var open = panel.style.display === "none";
    if (open && !panel.src) { panel.src = page; }
    panel.style.display = open ? "block" : "none";
    bell.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && panel.style.display !== "none") {
      panel.style.display = "none";
      bell.setAttribute("aria-expanded", "false");
      bell.focus();
    }
  });

  // The badge follows the user's stream (EventSource reconnects by itself).
  var source = new EventSource(origin + "/v1/users/" + encodeURIComponent(user) +
    "/notifications/stream?token=" + encodeURIComponent(token));
  source.addEventListener("count", function (e) { setCount(JSON.parse(e.data).count); });
  // The token expired or the user is gone: reconnecting with it cannot help.
  source.addEventListener("end", function () { source.close(); });
})();
