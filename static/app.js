/*
 * Marquee's progressive enhancement. Every page works without this file
 * (plain forms and links); with it:
 *  - the seat map toggles seats in place, keeps the selection across the
 *    live refreshes htmx makes, and sends those refreshes as conditional
 *    requests (If-None-Match) so an unchanged map costs a bodiless 304;
 *  - the booking page counts the hold down and asks htmx to refresh the
 *    status when it reaches zero;
 *  - times are shown in the reader's own time zone.
 * No inline scripts anywhere: the content security policy forbids them.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------- seat map

  function initSeatPicker(picker) {
    var maxSeats = parseInt(picker.getAttribute("data-max-seats"), 10) || 10;
    var poller = picker.querySelector("#seatmap");
    var holdForm = document.getElementById("hold-form");
    var seatForm = document.getElementById("seat-picker");
    var holdButton = document.getElementById("hold-seats");
    var inputs = document.getElementById("selected-inputs");
    var countEl = document.getElementById("selected-count");
    var listEl = document.getElementById("selected-list");
    var limitEl = document.getElementById("selection-limit");
    var liveMessage = document.getElementById("live-message");
    var totalEl = document.getElementById("selected-total");
    // The running total, formatted by the browser's own Intl for the show's
    // currency with that currency's number of decimals (0 for JPY, 3 for KWD).
    var money = null;
    if (totalEl && window.Intl && Intl.NumberFormat) {
      var digits = parseInt(totalEl.getAttribute("data-minor-digits"), 10) || 0;
      var format = new Intl.NumberFormat("en", {
        style: "currency", currency: totalEl.getAttribute("data-currency"),
        minimumFractionDigits: digits, maximumFractionDigits: digits
      });
      money = function (minor) { return format.format(minor / Math.pow(10, digits)); };
    }
    var showStarted = picker.hasAttribute("data-started");
    var gapRule = picker.hasAttribute("data-no-single-seat-gaps");
    var gapWarning = document.getElementById("gap-warning");

    // The selection, in the order the seats were picked. Seeded from the
    // server's rendering (a ?selected= URL or the page after a conflict).
    var selected = [];
    picker.querySelectorAll('button[data-seat][aria-pressed="true"]').forEach(function (b) {
      selected.push(b.getAttribute("data-seat"));
    });

    function seat(label) {
      return document.getElementById("seat-" + label);
    }

    function say(text) {
      if (liveMessage) liveMessage.textContent = text;
    }

    // Make the page agree with `selected`: pressed states, hidden fields,
    // count, the hold button, and the URL (so a reload keeps the selection).
    function render() {
      var lost = [];
      selected = selected.filter(function (label) {
        var b = seat(label);
        var ok = b && b.getAttribute("data-status") === "AVAILABLE";
        if (!ok) lost.push(label);
        return ok;
      });
      picker.querySelectorAll("button[data-seat]").forEach(function (b) {
        var on = selected.indexOf(b.getAttribute("data-seat")) !== -1;
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
      if (lost.length) {
        say((lost.length === 1 ? "Seat " + lost[0] + " was" : "Seats " + lost.join(", ") + " were") +
          " just taken by someone else and left your selection.");
        lost.forEach(function (label) {
          var b = seat(label);
          if (b) b.classList.add("seat--conflict");
        });
      }
      if (inputs) {
        inputs.textContent = "";
        selected.forEach(function (label) {
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = "seats";
          input.value = label;
          inputs.appendChild(input);
        });
      }
      if (countEl) countEl.textContent = String(selected.length);
      if (totalEl && money) {
        var total = selected.reduce(function (sum, label) {
          var b = seat(label);
          return sum + ((b && parseInt(b.getAttribute("data-price"), 10)) || 0);
        }, 0);
        totalEl.setAttribute("data-total", String(total));
        totalEl.textContent = money(total);
      }
      if (listEl) listEl.textContent = selected.length ? selected.join(", ") : "Pick seats on the map.";
      if (gapRule) warnGaps();
      if (limitEl) limitEl.hidden = selected.length < maxSeats;
      picker.classList.toggle("seatmap-panel--full", selected.length >= maxSeats);
      if (holdButton && !showStarted) {
        holdButton.disabled = selected.length === 0;
        holdButton.textContent = selected.length === 0 ? "Hold seats" :
          selected.length === 1 ? "Hold 1 seat" : "Hold " + selected.length + " seats";
      }
      // The map's own address (not /hold, where a failed hold left us),
      // with the selection, so a reload or a shared link keeps it.
      if (seatForm && window.history && history.replaceState) {
        var url = new URL(seatForm.action, window.location.href);
        if (selected.length) url.searchParams.set("selected", selected.join(","));
        picker.querySelectorAll("#seat-picker input[name=taken]").forEach(function (input) {
          url.searchParams.append("taken", input.value);
        });
        history.replaceState(history.state, "", url.pathname + url.search);
      }
    }

    // The single-seat-gap rule, as the server applies it (webapp/seatgaps.py):
    // a seat the selection would leave alone between taken seats, gaps or
    // the row's ends, that was not alone before. Warn before the hold.
    function warnGaps() {
      var stranded = [];
      picker.querySelectorAll(".seat-row").forEach(function (row) {
        var before = {}, after = {}, labels = {}, touched = false;
        row.querySelectorAll("button[data-seat]").forEach(function (b) {
          var column = parseInt(b.getAttribute("data-column"), 10);
          var label = b.getAttribute("data-seat");
          labels[column] = label;
          var free = b.getAttribute("data-status") === "AVAILABLE";
          var picked = selected.indexOf(label) !== -1;
          if (picked) touched = true;
          before[column] = free;
          after[column] = free && !picked;
        });
        if (!touched) return;
        function alone(free, c) { return free[c] && !free[c - 1] && !free[c + 1]; }
        Object.keys(labels).forEach(function (key) {
          var c = parseInt(key, 10);
          if (alone(after, c) && !alone(before, c)) stranded.push(labels[c]);
        });
      });
      picker.querySelectorAll("button.seat--stranded").forEach(function (b) {
        b.classList.remove("seat--stranded");
      });
      stranded.forEach(function (label) {
        var b = seat(label);
        if (b) b.classList.add("seat--stranded");
      });
      if (gapWarning) {
        gapWarning.textContent = stranded.length ?
          "This would leave " + stranded.join(", ") + " alone, which this show does not allow. " +
          "Include it, or move along." : "";
      }
    }

    function toggle(b) {
      var label = b.getAttribute("data-seat");
      var at = selected.indexOf(label);
      if (at !== -1) {
        selected.splice(at, 1);
        say("");
      } else if (b.getAttribute("data-status") !== "AVAILABLE") {
        say("Seat " + label + " is " + b.getAttribute("data-status").toLowerCase() + "; pick an available seat.");
        return;
      } else if (selected.length >= maxSeats) {
        say("You can hold at most " + maxSeats + " seats in one booking.");
        return;
      } else {
        selected.push(label);
        say("");
      }
      render();
    }

    // Clicks (mouse, touch, and Space/Enter on a focused seat) toggle in
    // place instead of submitting the no-JavaScript form.
    picker.addEventListener("click", function (event) {
      var b = event.target.closest && event.target.closest("button[data-seat]");
      if (!b || !picker.contains(b)) return;
      event.preventDefault();
      toggle(b);
    });

    // The seat of `row` nearest to `column` (aisles and gaps have no seat).
    function nearestSeat(row, column) {
      var best = null, bestDistance = Infinity;
      row.querySelectorAll("button[data-seat]").forEach(function (b) {
        var distance = Math.abs(parseInt(b.getAttribute("data-column"), 10) - column);
        if (distance < bestDistance) { best = b; bestDistance = distance; }
      });
      return best;
    }

    // Arrow keys move between seats, jumping over aisles and gaps (left and
    // right to the next seat, up and down to the nearest seat of the next row
    // that has one); Tab still walks through them in order.
    picker.addEventListener("keydown", function (event) {
      var b = event.target.closest && event.target.closest("button[data-seat]");
      if (!b) return;
      var row = b.parentElement;
      var seats = Array.prototype.slice.call(row.querySelectorAll("button[data-seat]"));
      var index = seats.indexOf(b);
      var next = null;
      if (event.key === "ArrowRight") next = seats[index + 1];
      else if (event.key === "ArrowLeft") next = seats[index - 1];
      else if (event.key === "ArrowUp" || event.key === "ArrowDown") {
        var rows = Array.prototype.slice.call(picker.querySelectorAll(".seat-row"));
        var step = event.key === "ArrowUp" ? -1 : 1;
        var column = parseInt(b.getAttribute("data-column"), 10);
        for (var r = rows.indexOf(row) + step; r >= 0 && r < rows.length && !next; r += step) {
          next = nearestSeat(rows[r], column);
        }
      } else if (event.key === "Home") next = seats[0];
      else if (event.key === "End") next = seats[seats.length - 1];
      if (next) {
        event.preventDefault();
        next.focus();
      }
    });

    // A plan wider than a phone scrolls inside the map: start it at the
    // centre, where the screen and the best seats are, not at the left wall.
    var scroller = picker.querySelector(".seatmap-scroll");
    if (scroller && scroller.scrollWidth > scroller.clientWidth) {
      scroller.scrollLeft = (scroller.scrollWidth - scroller.clientWidth) / 2;
    }

    if (holdForm) {
      holdForm.addEventListener("submit", function (event) {
        // Best available needs no selection; holding picked seats does.
        var best = event.submitter && event.submitter.id === "best-available";
        if (!selected.length && !best) event.preventDefault();
      });
    }

    if (!poller) return;

    // Live refresh. htmx polls the partial; we make each poll conditional
    // and keep our selection across the swap.
    function isPoll(event) {
      return event.detail && event.detail.ctx && event.detail.ctx.sourceElement === poller;
    }

    document.addEventListener("htmx:config:request", function (event) {
      if (!isPoll(event)) return;
      if (document.hidden) {  // nobody is looking: skip this tick
        event.preventDefault();
        return;
      }
      var etag = poller.getAttribute("data-etag");
      // A manual If-None-Match makes fetch bypass the HTTP cache and hand
      // the 304 to htmx, which then leaves the DOM alone.
      if (etag) event.detail.ctx.request.headers["If-None-Match"] = '"' + etag + '"';
      event.detail.ctx.request.cache = "no-store";
    });

    document.addEventListener("htmx:after:request", function (event) {
      if (!isPoll(event)) return;
      var response = event.detail.ctx.response;
      picker.classList.toggle("seatmap-panel--offline", response.status >= 400);
      if (response.status === 200) {
        var etag = response.headers.get("ETag");
        if (etag) poller.setAttribute("data-etag", etag.replace(/^W\//, "").replace(/"/g, ""));
      }
    });

    document.addEventListener("htmx:before:swap", function (event) {
      // Never swap an error page into the grid; keep the last good map.
      if (isPoll(event) && event.detail.ctx.response.status >= 400) event.preventDefault();
    });

    document.addEventListener("htmx:error", function (event) {
      if (isPoll(event)) picker.classList.add("seatmap-panel--offline");
    });

    // Runs synchronously right after the new grid is in place, before the
    // browser paints: the visitor never sees the selection disappear.
    document.addEventListener("htmx:before:settle", function (event) {
      if (event.target === poller || poller.contains(event.target)) render();
    });

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && window.htmx) htmx.trigger(poller, "every");
    });

    render();
  }

  // -------------------------------------------------------------- countdown

  var countdownTimer = null;

  function initCountdown() {
    if (countdownTimer) {
      clearInterval(countdownTimer);
      countdownTimer = null;
    }
    var el = document.getElementById("countdown");
    if (!el || !el.hasAttribute("data-ms-left")) return;
    var panel = document.getElementById("booking-panel");
    // Seconds left as the server counted them, measured against this
    // machine's monotonic clock: the visitor's wall clock may be wrong.
    var deadline = performance.now() + (parseInt(el.getAttribute("data-ms-left"), 10) || 0);
    var asked = false;

    function tick() {
      var left = deadline - performance.now();
      if (left > 0) {
        el.textContent = String(Math.ceil(left / 1000));
        return;
      }
      el.textContent = "expired";
      el.classList.add("countdown--expired");
      var unit = el.parentElement && el.parentElement.querySelector(".countdown__unit");
      if (unit) unit.hidden = true;
      var status = document.getElementById("countdown-status");
      if (status && !status.textContent) status.textContent = "The hold has expired.";
      if (!asked && panel && window.htmx) {
        asked = true;
        // A moment's grace so the server's clock has surely passed the
        // deadline too; if it still says PENDING, the fresh panel counts
        // down its last milliseconds and asks again.
        setTimeout(function () { htmx.trigger(panel, "hold-lapsed"); }, 400);
      }
      clearInterval(countdownTimer);
      countdownTimer = null;
    }

    tick();
    countdownTimer = setInterval(tick, 250);
  }

  document.addEventListener("htmx:after:swap", function (event) {
    var target = event.target;
    if (target && (target.id === "booking-panel" || document.getElementById("booking-panel"))) {
      initCountdown();
      localizeTimes(document);
    }
  });

  // ------------------------------------------------------------------ times

  function localizeTimes(root) {
    if (!window.Intl || !Intl.DateTimeFormat) return;
    var format = new Intl.DateTimeFormat(undefined, {
      weekday: "short", day: "numeric", month: "short", year: "numeric",
      hour: "2-digit", minute: "2-digit", timeZoneName: "short"
    });
    root.querySelectorAll("time[data-local-time]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) el.textContent = format.format(when);
    });
  }

  // The door page (static/checkin.js) localises the times of its answers too.
  window.MarqueeLocalizeTimes = localizeTimes;

  // ------------------------------------------------------------------- start

  function start() {
    document.documentElement.classList.add("js");
    var picker = document.querySelector("[data-seat-picker]");
    if (picker) initSeatPicker(picker);
    initCountdown();
    localizeTimes(document);
    // Ticket pages: the Print button needs JavaScript, so it shows only with it.
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
