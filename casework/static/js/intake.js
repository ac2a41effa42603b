// Progressive enhancements for the public pages; every page works without them.
// - moves focus to the error summary so screen readers hear what went wrong;
// - "keep my images on my device": hashes each chosen image with Web Crypto, and
//   with PDQ (pdq.js, when the page loads it and the browser can decode the image),
//   and sends only the SHA-256, the PDQ hash and quality, name and size; the file
//   input is emptied first, so the image never leaves the device;
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

  // PDQ finds near-identical copies; a picture this browser cannot decode still gets
  // its SHA-256, so a failure here never stops the report.
  function perceptualHash(file) {
    if (!window.CaseworkPdq || !window.createImageBitmap) { return Promise.resolve(null); }
    return window.CaseworkPdq.fromFile(file).then(null, function () { return null; });
  }

  // One file after another: decoding several large photos at once could exhaust a phone.
  function hashFiles(files) {
    var entries = [];
    return Array.prototype.reduce.call(files, function (previous, file) {
      return previous.then(function () {
        return readBuffer(file);
      }).then(function (buffer) {
        return crypto.subtle.digest("SHA-256", buffer);
      }).then(function (digest) {
        var entry = { sha256: toHex(digest), name: file.name, size: file.size, type: file.type || null };
        return perceptualHash(file).then(function (pdq) {
          if (pdq) {
            entry.pdq = pdq.pdq;
            entry.quality = pdq.quality;
          }
          entries.push(entry);
        });
      });
    }, Promise.resolve()).then(function () { return entries; });
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
