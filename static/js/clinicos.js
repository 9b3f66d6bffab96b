// Small behaviours HTMX does not cover. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // A "Print" button (the day close, documents shown in the page).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) window.print();
  });

  // Invoice lines: a service chosen shows its catalog price and name as the placeholders
  // of the line's price and description (left empty, the catalog's are used).
  function showServiceDefaults(select) {
    var data = document.getElementById("service-prices");
    var row = select.closest("tr");
    if (!data || !row) return;
    var prices = JSON.parse(data.textContent);
    var price = row.querySelector('input[name$="-unit_price"]');
    var description = row.querySelector('input[name$="-description"]');
    var chosen = select.value && prices[select.value];
    if (price) price.placeholder = chosen || "";
    if (description) description.placeholder = chosen ? select.options[select.selectedIndex].text : "";
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('select[name^="lines-"][name$="-service"]')) showServiceDefaults(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('select[name^="lines-"][name$="-service"]').forEach(showServiceDefaults);
  });

  // Forms that ask before they do something that cannot be undone.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Close an open header menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
    var search = document.querySelector("[data-search]");
    if (search && !search.contains(event.target)) {
      var results = search.querySelector(".header-search-results");
      if (results) results.innerHTML = "";
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      });
    }
    // Patient search: arrows move through the results, Enter opens one, Escape closes.
    var search = event.target.closest && event.target.closest("[data-search]");
    if (!search) return;
    var links = Array.prototype.slice.call(search.querySelectorAll(".search-result, .search-all"));
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && links.length) {
      event.preventDefault();
      if (index <= 0) search.querySelector("input").focus();
      else links[index - 1].focus();
    } else if (event.key === "Enter" && event.target.matches("input") && links.length) {
      event.preventDefault();
      links[0].click();
    } else if (event.key === "Escape") {
      search.querySelector(".header-search-results").innerHTML = "";
      search.querySelector("input").focus();
    }
  });

  // Chart tabs: mark the tab whose panel HTMX just loaded.
  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tab]");
    if (!tab) return;
    tab.parentElement.querySelectorAll("[role=tab]").forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      if (selected) other.setAttribute("aria-current", "page");
      else other.removeAttribute("aria-current");
    });
  });
})();

// The calendar's time at a height in a column, rounded down to ``step`` minutes ("HH:MM").
function calendarTimeAt(body, clientY, step) {
  var calendar = body.closest("[data-calendar]");
  var perMinute = parseFloat(calendar.getAttribute("data-px-per-minute"));
  var startParts = calendar.getAttribute("data-day-start").split(":");
  var offset = Math.max(0, (clientY - body.getBoundingClientRect().top) / perMinute);
  var minutes = parseInt(startParts[0], 10) * 60 + parseInt(startParts[1], 10) + Math.floor(offset / step) * step;
  return String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0");
}

// Where the pointer is over an empty stretch of a doctor's column: "+ Book 10:30".
(function () {
  "use strict";
  var ghost = null;
  document.addEventListener("mousemove", function (event) {
    var body = event.target.closest && !event.target.closest(".cal-appt") && event.target.closest(".cal-body[data-book-url]");
    if (!body) { if (ghost) ghost.hidden = true; return; }
    if (!ghost) { ghost = document.createElement("div"); ghost.className = "cal-ghost"; ghost.setAttribute("aria-hidden", "true"); }
    if (ghost.parentNode !== body) body.appendChild(ghost);
    var time = calendarTimeAt(body, event.clientY, 30);
    var perMinute = parseFloat(body.closest("[data-calendar]").getAttribute("data-px-per-minute"));
    var start = body.closest("[data-calendar]").getAttribute("data-day-start").split(":");
    var parts = time.split(":");
    var minutes = (parseInt(parts[0], 10) - parseInt(start[0], 10)) * 60 + parseInt(parts[1], 10) - parseInt(start[1], 10);
    ghost.style.top = Math.round(minutes * perMinute) + "px";  // CSSOM, which the CSP allows
    ghost.textContent = "+ Book " + time;
    ghost.hidden = false;
  });
})();

// Leads: the "Add lead" modal, the lost-reason field and drag and drop on the board.
(function () {
  "use strict";
  function csrfHeaders() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { return {}; }
  }

  document.addEventListener("click", function (event) {
    // The calendar: a card, a column's Book link, or the half hour clicked in an empty
    // stretch of a doctor's column opens in the schedule's modal (the links still work
    // without JavaScript, and with Ctrl or Cmd they open a tab).
    var modal = document.getElementById("schedule-modal");
    if (modal && window.htmx && event.target.closest && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      var link = event.target.closest("a.cal-appt, a.cal-book");
      var column = !link && event.target.closest(".cal-body[data-book-url]");
      var url = link ? link.getAttribute("href") : column ? column.getAttribute("data-book-url") + "&time=" + calendarTimeAt(column, event.clientY, 30) : null;
      if (url) {
        event.preventDefault();
        window.htmx.ajax("GET", url, { target: "#schedule-modal-body" });
        if (modal.showModal && !modal.open) modal.showModal();
        return;
      }
    }
    var opener = event.target.closest && event.target.closest("[data-open-modal]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-modal"));
      if (dialog && dialog.showModal && !dialog.open) dialog.showModal();
    }
    var closer = event.target.closest && event.target.closest("[data-close-modal]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) open.close();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog");
    if (dialog) {
      var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
  });

  document.addEventListener("change", function (event) {
    if (!event.target.matches("[data-move-select]")) return;
    var form = event.target.form;
    form.classList.toggle("wants-reason", event.target.value === "lost");
    if (event.target.value === "lost") form.querySelector(".lost-reason").focus();
  });

  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".lead-card");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-lead"));
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    dragged = null;
  });
  document.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    document.querySelectorAll(".drop-target").forEach(function (c) { if (c !== column) c.classList.remove("drop-target"); });
    column.classList.add("drop-target");
  });
  document.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    var status = column.getAttribute("data-status");
    if (status === dragged.closest(".board-column").getAttribute("data-status")) return;
    var values = { to_status: status, from: "board" };
    if (status === "lost") {
      var reason = window.prompt("Why was this lead lost?");
      if (!reason) return;
      values.lost_reason = reason;
    }
    window.htmx.ajax("POST", dragged.getAttribute("data-move-url") + window.location.search, {
      target: "#board", swap: "outerHTML", values: values, headers: csrfHeaders()
    });
  });
})();

// Schedule: filters that submit themselves, and moving an appointment by dragging it.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) event.target.form.submit();
  });

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // The calendar carries the move URL once, with {} for the id of the card being moved.
  // A card's length from its times ("09:00–09:15").
  function cardMinutes(appt) {
    var times = appt.querySelector("i").textContent.match(/(\d+):(\d+)\D+(\d+):(\d+)/);
    var minutes = (parseInt(times[3], 10) * 60 + parseInt(times[4], 10)) - (parseInt(times[1], 10) * 60 + parseInt(times[2], 10));
    return String(minutes > 0 ? minutes : minutes + 24 * 60);
  }

  // (The card's id is the last part of its link.)
  function moveUrl(appt) {
    var id = appt.getAttribute("href").match(/(\d+)\/?$/)[1];
    return appt.closest("[data-calendar]").getAttribute("data-move-url").replace("{}", id);
  }

  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var appt = event.target.closest && event.target.closest(".cal-appt[draggable=true]");
    if (!appt) return;
    dragged = appt;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", moveUrl(appt));
  });
  document.addEventListener("dragover", function (event) {
    var body = dragged && event.target.closest && event.target.closest(".cal-col .cal-body[data-doctor]");
    if (!body || !body.getAttribute("data-doctor")) return;
    event.preventDefault();
    document.querySelectorAll(".cal-body.drop-target").forEach(function (b) { if (b !== body) b.classList.remove("drop-target"); });
    body.classList.add("drop-target");
  });
  function moveTo(appt, body, clientY) {
    var calendar = body.closest("[data-calendar]");
    var perMinute = parseFloat(calendar.getAttribute("data-px-per-minute"));
    var startParts = calendar.getAttribute("data-day-start").split(":");
    var offsetMinutes = (clientY - body.getBoundingClientRect().top) / perMinute;
    var minutes = parseInt(startParts[0], 10) * 60 + parseInt(startParts[1], 10) + Math.round(offsetMinutes / 15) * 15;
    var time = String(Math.floor(minutes / 60)).padStart(2, "0") + ":" + String(minutes % 60).padStart(2, "0");
    var form = document.createElement("form");
    form.method = "post";
    form.action = moveUrl(appt);
    var fields = {
      csrfmiddlewaretoken: csrfToken(), doctor: body.getAttribute("data-doctor"), date: body.getAttribute("data-day"),
      time: time, duration_minutes: cardMinutes(appt),
      next: window.location.pathname + window.location.search
    };
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = name; input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  document.addEventListener("drop", function (event) {
    var body = dragged && event.target.closest && event.target.closest(".cal-col .cal-body[data-doctor]");
    if (!body || !body.getAttribute("data-doctor")) return;
    event.preventDefault();
    moveTo(dragged, body, event.clientY);
  });

  // Touch and pen: press and slide an appointment to another time or doctor (HTML5
  // drag and drop is mouse-only in most tablet browsers). A short tap still opens it.
  var touch = null;
  document.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse") return;
    var appt = event.target.closest && event.target.closest(".cal-appt[draggable=true]");
    if (!appt) return;
    touch = { appt: appt, x: event.clientX, y: event.clientY, moved: false };
  });
  document.addEventListener("pointermove", function (event) {
    if (!touch) return;
    if (Math.abs(event.clientX - touch.x) + Math.abs(event.clientY - touch.y) > 12) {
      touch.moved = true;
      touch.appt.classList.add("dragging");
    }
  });
  document.addEventListener("pointerup", function (event) {
    if (!touch) return;
    var current = touch;
    touch = null;
    current.appt.classList.remove("dragging");
    if (!current.moved) return;
    var under = document.elementFromPoint(event.clientX, event.clientY);
    var body = under && under.closest(".cal-col .cal-body[data-doctor]");
    if (body && body.getAttribute("data-doctor")) {
      event.preventDefault();
      moveTo(current.appt, body, event.clientY);
    }
  });
  document.addEventListener("click", function (event) {
    var appt = event.target.closest && event.target.closest(".cal-appt.dragging");
    if (appt) { event.preventDefault(); event.stopPropagation(); }
  }, true);

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".cal-body.drop-target").forEach(function (b) { b.classList.remove("drop-target"); });
  });
})();

// The visit page: the note autosaves (HTMX, debounced); here the ICD-10 chips, a save
// before the tablet sleeps or the page is left, and inline forms' Cancel.
(function () {
  "use strict";
  function noteForm() { return document.querySelector("[data-autosave]"); }
  function saveNow() {
    var form = noteForm();
    if (form && window.htmx) window.htmx.trigger(form, "notesave");
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("[data-add-code]");
    if (add) {
      var code = add.getAttribute("data-add-code");
      var list = document.getElementById("dx-codes");
      if (list && !list.querySelector('input[value="' + code + '"]')) {
        var chip = document.createElement("li");
        chip.className = "chip";
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "diagnosis_codes"; input.value = code;
        var strong = document.createElement("strong");
        strong.textContent = code;
        var remove = document.createElement("button");
        remove.type = "button"; remove.className = "chip-remove"; remove.setAttribute("data-remove-code", "");
        remove.setAttribute("aria-label", "Remove " + code); remove.textContent = "×";
        chip.append(input, strong, "\u00a0" + (add.getAttribute("data-code-text") || ""), remove);
        list.appendChild(chip);
      }
      var results = document.getElementById("icd10-results");
      if (results) results.innerHTML = "";
      var search = document.getElementById("icd10-search");
      if (search) search.value = "";
      saveNow();
      return;
    }
    var removeButton = event.target.closest && event.target.closest("[data-remove-code]");
    if (removeButton) {
      removeButton.closest("li").remove();
      saveNow();
      return;
    }
    var cancel = event.target.closest && event.target.closest("[data-clear-parent]");
    if (cancel) cancel.closest("form").remove();
  });

  // Typing in the ICD-10 search is not typing in the note.
  document.querySelectorAll("[data-no-autosave]").forEach(function (input) {
    input.addEventListener("input", function (event) { event.stopPropagation(); });
    input.addEventListener("change", function (event) { event.stopPropagation(); });
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") saveNow();
  });
})();
