// Quick exit: leave for a neutral site and leave no way back to this one.
//
// A page cannot delete entries from the tab's history, so the site takes care
// never to hold more than one: links between public pages and the language
// switch replace the current entry instead of adding one, and the exit itself
// replaces that entry with the neutral site. Back then goes to whatever was
// open before the site. Works on click and on the Escape key pressed twice.
// (A form submitted to the server still adds an entry: browsers allow no other way.)
(function () {
  "use strict";
  var exit = document.getElementById("quick-exit");
  if (!exit) { return; }
  var neutral = exit.getAttribute("href");

  function leave(event) {
    if (event) { event.preventDefault(); }
    try { document.body.innerHTML = ""; } catch (e) { /* nothing to clear */ }
    window.location.replace(neutral);
  }
  exit.addEventListener("click", leave);

  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var now = Date.now();
    if (now - lastEscape < 600) { leave(event); }
    lastEscape = now;
  });

  function isPlainClick(event) {
    return !event.defaultPrevented && event.button === 0 &&
      !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
  }

  function samePage(url) {
    return url.pathname === window.location.pathname && url.search === window.location.search;
  }

  // Links within the site move this tab on without adding a history entry.
  document.addEventListener("click", function (event) {
    if (!isPlainClick(event) || !event.target.closest) { return; }
    var link = event.target.closest("a[href]");
    if (!link || link === exit || link.target || link.hasAttribute("download")) { return; }
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) { return; }
    event.preventDefault();
    if (samePage(url) && url.hash) {
      // An in-page link (such as "Skip to content"): move focus, keep the one entry.
      window.history.replaceState(window.history.state, "", url.hash);
      var anchor = document.getElementById(decodeURIComponent(url.hash.slice(1)));
      if (anchor) { anchor.focus(); }
      return;
    }
    window.location.replace(url.href);
  });

  // Forms marked data-history="replace" (the language switch) are sent in the
  // background; when the server answers with its redirect, the page named in the
  // form's "next" field replaces this one. Anything else falls back to a normal submit.
  function safePath(path) {
    return typeof path === "string" && path.charAt(0) === "/" && path.charAt(1) !== "/" &&
      path.indexOf("\\") === -1;
  }

  Array.prototype.forEach.call(
    document.querySelectorAll("form[data-history=replace]"),
    function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sending") === "fallback" || !window.fetch) { return; }
        event.preventDefault();
        var data = new FormData(form);
        var submitter = event.submitter;
        if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
        var next = data.get("next");
        var destination = safePath(next) ? next : window.location.pathname;
        window.fetch(form.action, {
          method: "POST", body: data, credentials: "same-origin", redirect: "manual"
        }).then(function (response) {
          if (response.type === "opaqueredirect") {
            window.location.replace(destination);
            return;
          }
          throw new Error("unexpected answer " + response.status);
        }).catch(function () {
          // Let the server's own page (an expired form, too many attempts) show.
          form.setAttribute("data-sending", "fallback");
          if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
        });
      });
    }
  );
}());
