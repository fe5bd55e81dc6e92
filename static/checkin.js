/* The door page (/admin/checkin). Progressive: the page works as a plain form
   without this file; with it the scan input is cleared and focused again after
   every answer, the show chooser applies itself, and where the browser offers
   BarcodeDetector a button reads QR codes with the phone's camera. */
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("checkin-form");
    var input = document.getElementById("checkin-code");
    if (!form || !input) return;

    function ready() {
      input.value = "";
      input.focus();
    }

    // After each answer (htmx swapped #checkin-result in), the next scan can come at once.
    document.addEventListener("htmx:after:request", function (event) {
      var ctx = event.detail && event.detail.ctx;
      if (ctx && ctx.sourceElement === form) ready();
    });
    document.addEventListener("htmx:after:swap", function () {
      if (window.MarqueeLocalizeTimes) window.MarqueeLocalizeTimes(document);
    });

    var chooser = document.querySelector("[data-autosubmit]");
    if (chooser) {
      chooser.addEventListener("change", function () { chooser.form.submit(); });
      document.querySelectorAll("[data-no-js-only]").forEach(function (el) { el.hidden = true; });
    }

    initCamera(form, input);
  }

  function initCamera(form, input) {
    var button = document.getElementById("checkin-camera");
    var video = document.getElementById("checkin-video");
    if (!button || !video || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) return;
      button.hidden = false;
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      var stream = null;
      var last = { code: "", at: 0 };

      function stop() {
        if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
        video.hidden = true;
        button.textContent = "Scan with the camera";
      }

      function look() {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          var now = Date.now();
          var code = codes.length ? codes[0].rawValue.trim() : "";
          // The same ticket stays in front of the camera for a while: send it once.
          if (code && (code !== last.code || now - last.at > 4000)) {
            last = { code: code, at: now };
            input.value = code;
            form.requestSubmit();
          }
        }).catch(function () { /* a frame that could not be read; try the next */ })
          .then(function () { if (stream) setTimeout(look, 250); });
      }

      button.addEventListener("click", function () {
        if (stream) { stop(); input.focus(); return; }
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
          .then(function (media) {
            stream = media;
            video.srcObject = media;
            video.hidden = false;
            button.textContent = "Stop the camera";
            return video.play();
          })
          .then(look)
          .catch(function () { stop(); button.hidden = true; });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
