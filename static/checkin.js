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

    var live = document.querySelector(".checkin-live");

    function ready() {
      input.value = "";
      input.focus();
    }

    function fromForm(event) {
      var ctx = event.detail && event.detail.ctx;
      return Boolean(ctx && ctx.sourceElement === form);
    }

    // What the door sees when there is no verdict: never the last scan's answer,
    // which would pass a stale green ADMITTED off as this ticket's.
    function say(verdict, detail, state) {
      var section = document.getElementById("checkin-result");
      if (!section) return;
      section.className = "checkin-result checkin-result--" + state;
      section.setAttribute("data-result", "");
      var lines = [[verdict, "checkin-result__verdict"], [detail, "checkin-result__detail"]].map(function (line) {
        var p = document.createElement("p");
        p.className = line[1];
        p.textContent = line[0];
        return p;
      });
      section.replaceChildren.apply(section, lines);
    }

    // A scan goes out: the previous answer goes away at once; screen readers
    // wait (aria-busy) and announce only the new answer.
    document.addEventListener("htmx:before:request", function (event) {
      if (!fromForm(event)) return;
      if (live) live.setAttribute("aria-busy", "true");
      say("Checking…", "Wait for the answer.", "ready");
    });

    // Only the answer partial (200) goes into #checkin-result. A lost sign-in or
    // CSRF session (400, 401, 403) reloads the page, which then asks to sign in;
    // anything else says there was no answer and keeps the page ready to scan.
    document.addEventListener("htmx:before:swap", function (event) {
      if (!fromForm(event)) return;
      var status = event.detail.ctx.response.status;
      if (status === 200) return;
      event.preventDefault();
      if (status === 400 || status === 401 || status === 403) {
        window.location.reload();
        return;
      }
      say("NO ANSWER", status === 429
        ? "Too many scans from this door just now: wait a moment, then scan again."
        : "The server could not answer (" + status + "). Scan the ticket again.", "no_answer");
    });

    document.addEventListener("htmx:error", function (event) {
      if (fromForm(event)) say("NO ANSWER", "The server could not be reached. Scan the ticket again.", "no_answer");
    });

    // Whatever came back (or did not), the next scan can come at once.
    document.addEventListener("htmx:finally:request", function (event) {
      if (!fromForm(event)) return;
      if (live) live.removeAttribute("aria-busy");
      ready();
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
