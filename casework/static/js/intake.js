// Progressive enhancements for the public pages; every page works without them.
// - moves focus to the error summary so screen readers hear what went wrong;
// - "keep my images on my device": hashes each chosen image with Web Crypto and
//   sends only the SHA-256, name and size; the file input is emptied first, so
//   the image never leaves the device;
// - fills in the browser's time zone, and shows only the regions of the chosen country;
// - shows the questions for someone acting for another person once they say so;
// - offers to print the case card (the page says how to do it without the button).
(function () {
  "use strict";

  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) { summary.focus(); }

  var zoneInput = document.querySelector("[data-timezone]");
  if (zoneInput && !zoneInput.value && window.Intl && Intl.DateTimeFormat) {
    try { zoneInput.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { /* keep UTC */ }
  }

  var country = document.getElementById("country");
  var regionField = document.querySelector("[data-region-field]");
  if (country && regionField) {
    var region = regionField.querySelector("select");
    var syncRegions = function () {
      var any = false;
      Array.prototype.forEach.call(region.querySelectorAll("optgroup"), function (group) {
        var match = group.getAttribute("data-country") === country.value;
        group.hidden = !match;
        group.disabled = !match;
        any = any || match;
      });
      regionField.hidden = !any;
      if (!any) { region.value = ""; }
    };
    country.addEventListener("change", syncRegions);
    syncRegions();
  }

  // Questions only for some answers (acting for someone else): shown, and sent, only then.
  Array.prototype.forEach.call(document.querySelectorAll("[data-reveal-when]"), function (section) {
    var radios = document.querySelectorAll(
      "input[name='" + section.getAttribute("data-reveal-when") + "']");
    var sync = function () {
      var chosen = document.querySelector(
        "input[name='" + section.getAttribute("data-reveal-when") + "']:checked");
      var show = !!chosen && chosen.value === section.getAttribute("data-reveal-value");
      section.hidden = !show;
      section.disabled = !show;
    };
    Array.prototype.forEach.call(radios, function (radio) { radio.addEventListener("change", sync); });
    sync();
  });

  function toHex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = "";
    for (var i = 0; i < bytes.length; i++) { out += ("0" + bytes[i].toString(16)).slice(-2); }
    return out;
  }

  function readBuffer(file) {
    if (file.arrayBuffer) { return file.arrayBuffer(); }
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(file);
    });
  }

  function hashFiles(files) {
    return Promise.all(Array.prototype.map.call(files, function (file) {
      return readBuffer(file).then(function (buffer) {
        return crypto.subtle.digest("SHA-256", buffer);
      }).then(function (digest) {
        return { sha256: toHex(digest), name: file.name, size: file.size, type: file.type || null };
      });
    }));
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-hash-form]"), function (form) {
    var fileInput = form.querySelector("input[type=file]");
    var keep = form.querySelector("input[name=keep_on_device]");
    var hidden = form.querySelector("[data-device-files]");
    var status = form.querySelector("[data-hash-status]");
    var noJs = form.querySelector("[data-no-js]");
    var jsOnly = form.querySelector("[data-js-only]");
    // Web Crypto only exists on secure pages (HTTPS or this computer); without it the
    // option stays hidden and the explanation stays visible.
    if (!fileInput || !keep || !hidden || !(window.crypto && crypto.subtle)) { return; }
    if (noJs) { noJs.hidden = true; }
    if (jsOnly) { jsOnly.hidden = false; }

    var say = function (text) { if (status) { status.textContent = text; } };
    var describe = function () {
      if (!keep.checked) { say(""); return; }
      var count = fileInput.files ? fileInput.files.length : 0;
      say(count ? status.getAttribute("data-chosen").replace("{count}", count)
                : status.getAttribute("data-choose"));
    };
    keep.addEventListener("change", describe);
    fileInput.addEventListener("change", describe);

    var sending = false;
    form.addEventListener("submit", function (event) {
      if (sending || !keep.checked || !fileInput.files || !fileInput.files.length) { return; }
      event.preventDefault();
      var submitter = event.submitter;
      say(status.getAttribute("data-working"));
      hashFiles(fileInput.files).then(function (entries) {
        hidden.value = JSON.stringify(entries);
        // Empty the picker so that no image bytes are part of the request.
        fileInput.value = "";
        if (submitter && submitter.name) {
          var action = document.createElement("input");
          action.type = "hidden";
          action.name = submitter.name;
          action.value = submitter.value;
          form.appendChild(action);
        }
        sending = true;
        form.submit();
      }, function () {
        say(status.getAttribute("data-failed"));
      });
    });
  });
}());
