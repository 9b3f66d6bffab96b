// Small behaviours HTMX does not cover. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

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
